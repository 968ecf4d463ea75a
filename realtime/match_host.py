"""The pod's match host: every match this pod owns, and the one scheduler that ticks them.

One pod-wide scheduler (not a task per match): a single timer wake-up per tick serves every
match, ticks stay aligned, and lateness is measured in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from game.modes import AnyMode, Outcome
from game.ratings import DEFAULT_RATING, update_ratings
from realtime import messages, metrics
from realtime.fanout import Connection
from realtime.match_loop import HostedMatch, Seat
from skirmish.errors import Forbidden, NotFound, SkirmishError
from skirmish.store import Store
from skirmish.store.records import MatchRecord

log = logging.getLogger(__name__)


class MatchOver(SkirmishError):
    status, code = 410, "match_over"


class CloseCode:
    """WebSocket close codes, as documented in docs/protocol.md."""

    NORMAL = 1000
    POLICY = 1008
    TOO_BIG = 1009
    INTERNAL = 1011
    RESTART = 1012
    UNAUTHORIZED = 4001
    FORBIDDEN = 4003
    NOT_FOUND = 4004
    REPLACED = 4009
    MATCH_OVER = 4010


CLOSE_FOR_ERROR: Mapping[type[SkirmishError], int] = {
    NotFound: CloseCode.NOT_FOUND,
    Forbidden: CloseCode.FORBIDDEN,
    MatchOver: CloseCode.MATCH_OVER,
}


class MatchHost:
    def __init__(
        self,
        store: Store,
        modes: Mapping[str, AnyMode],
        *,
        tick_rate: int,
        start_wait: float,
        pod: str = "local",
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.modes = modes
        self.tick_rate = tick_rate
        self.start_wait = start_wait
        self.pod = pod
        self.clock = clock
        self.wall_clock = wall_clock
        self.matches: dict[str, HostedMatch] = {}
        self._loading: dict[str, asyncio.Future[HostedMatch]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._scheduler: asyncio.Task[None] | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._scheduler is None:
            self._scheduler = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler
            self._scheduler = None
        for hosted in self.matches.values():
            hosted.close_all(CloseCode.RESTART, "server restarting")
        self.matches.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- sockets -------------------------------------------------------------------------

    async def attach(
        self, match_id: str, player_id: str, connection: Connection
    ) -> tuple[HostedMatch, Seat]:
        """Seat a player's socket in their match, hosting the match here if needed."""
        hosted = await self._host(match_id)
        seat = hosted.seat_of(player_id)
        if seat is None:
            raise Forbidden("you are not a player of this match")
        previous = hosted.connect(seat, connection)
        if previous is not None:
            previous.send_frame(messages.error("replaced", "you connected again elsewhere"))
            previous.close(CloseCode.REPLACED, "replaced")
        return hosted, seat

    def detach(self, hosted: HostedMatch, seat: Seat, connection: Connection) -> None:
        hosted.disconnect(seat, connection)

    async def _host(self, match_id: str) -> HostedMatch:
        hosted = self.matches.get(match_id)
        if hosted is not None:
            return hosted
        loading = self._loading.get(match_id)
        if loading is not None:  # another socket of this match is loading it right now
            return await asyncio.shield(loading)
        future: asyncio.Future[HostedMatch] = asyncio.get_running_loop().create_future()
        self._loading[match_id] = future
        try:
            hosted = await self._load(match_id)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # mark it retrieved: nobody else may be waiting
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._loading[match_id]
        future.set_result(hosted)
        self.matches[match_id] = hosted
        metrics.MATCHES_HOSTED.set(len(self.matches))
        return hosted

    async def _load(self, match_id: str) -> HostedMatch:
        record = await self.store.get_match(match_id)
        if record is None:
            raise NotFound(f"match {match_id} not found")
        if record.status == "finished":
            raise MatchOver("the match is over; its result is at /v1/matches/" + match_id)
        mode = self.modes[record.mode]
        return HostedMatch(record, mode, self.clock() + self.start_wait, self.clock)

    # -- the tick ------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.tick_rate
        next_at = loop.time()
        while True:
            next_at += interval
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -5 * interval:  # hopelessly behind: skip, don't spiral
                next_at = loop.time()
            started = loop.time()
            metrics.TICK_LATENESS.observe(max(started - next_at, 0.0))
            self.tick_all()
            metrics.TICK_DURATION.observe(loop.time() - started)

    def tick_all(self) -> None:
        now = self.clock()
        for hosted in list(self.matches.values()):
            try:
                outcome = hosted.advance(now)
            except Exception:
                # A bug in one match must not stop the others: end it and tell its players.
                log.exception("match %s failed; aborting it", hosted.id)
                metrics.MATCH_ERRORS.inc()
                self._release(hosted)
                hosted.close_all(CloseCode.INTERNAL, "internal error")
                continue
            if hosted.status == "running" and hosted.tick == 1:
                self._spawn(self._mark_running(hosted.id))
            if outcome is not None:
                self._release(hosted)
                self._spawn(self._conclude(hosted, outcome))

    def _release(self, hosted: HostedMatch) -> None:
        self.matches.pop(hosted.id, None)
        metrics.MATCHES_HOSTED.set(len(self.matches))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _mark_running(self, match_id: str) -> None:
        started_at = self.wall_clock()

        def running(record: MatchRecord) -> MatchRecord:
            if record.status != "waiting":
                return record
            return record.model_copy(update={"status": "running", "started_at": started_at})

        await self.store.update_match(match_id, running)

    async def _conclude(self, hosted: HostedMatch, outcome: Outcome) -> None:
        """Write the result and ratings durably, then tell the players and close."""
        try:
            result = await self._record_result(hosted, outcome)
            hosted.broadcast({"type": "result", **result})
            hosted.close_all(CloseCode.NORMAL, "match over")
            metrics.MATCHES_FINISHED.inc()
        except Exception:
            log.exception("could not record the result of match %s", hosted.id)
            hosted.close_all(CloseCode.INTERNAL, "internal error")

    async def _record_result(self, hosted: HostedMatch, outcome: Outcome) -> dict[str, Any]:
        mode = hosted.mode.name
        ids = [seat.player_id for seat in hosted.seats]
        before = await self.store.get_ratings(mode, ids)
        scores = {hosted.seats[s.slot].player_id: float(s.score) for s in outcome.stats}
        after = update_ratings(before, scores)
        await self.store.set_ratings(mode, after)
        result = build_result(hosted, outcome, before, after)
        finished_at = self.wall_clock()

        def finish(record: MatchRecord) -> MatchRecord:
            return record.model_copy(
                update={"status": "finished", "finished_at": finished_at, "result": result}
            )

        await self.store.update_match(hosted.id, finish)
        return result


def build_result(
    hosted: HostedMatch,
    outcome: Outcome,
    before: Mapping[str, float],
    after: Mapping[str, float],
) -> dict[str, Any]:
    winner = None if outcome.winner is None else hosted.seats[outcome.winner].player_id
    players = []
    for stats in outcome.stats:
        seat = hosted.seats[stats.slot]
        players.append(
            {
                "player_id": seat.player_id,
                "name": seat.name,
                "slot": seat.slot,
                "score": stats.score,
                "kills": stats.kills,
                "deaths": stats.deaths,
                "shots": stats.shots,
                "hits": stats.hits,
                "rating_before": before.get(seat.player_id, DEFAULT_RATING),
                "rating_after": after.get(seat.player_id, DEFAULT_RATING),
            }
        )
    return {
        "match_id": hosted.id,
        "winner": winner,
        "reason": outcome.reason,
        "tick": hosted.tick,
        "players": players,
    }
