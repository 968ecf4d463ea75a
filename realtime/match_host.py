"""The pod's match host: the matches this pod owns, the tick scheduler that runs them, and
the sockets it serves for matches owned by other pods.

One pod-wide scheduler (not a task per match): a single timer wake-up per tick serves every
match, ticks stay aligned, and lateness is measured in one place. At the end of each tick
the relay sends each peer pod one batch (see relay.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from game.modes import AnyMode, Outcome
from realtime import messages, metrics
from realtime.fanout import Outlet
from realtime.match_loop import HostedMatch, Seat
from realtime.ownership import Lease, MatchDirectory, MemoryMatchDirectory
from realtime.relay import Relay, RemoteConnection, RemoteMatch
from realtime.results import record_result
from skirmish.errors import Forbidden, NotFound, SkirmishError
from skirmish.store import Store
from skirmish.store.records import MatchRecord

log = logging.getLogger(__name__)

Match = HostedMatch | RemoteMatch


class MatchOver(SkirmishError):
    status, code = 410, "match_over"


class Draining(SkirmishError):
    status, code = 503, "server_restarting"


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
    Draining: CloseCode.RESTART,
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
        directory: MatchDirectory | None = None,
        relay: Relay | None = None,
        lease_ttl: float = 10.0,
        record_replays: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.modes = modes
        self.tick_rate = tick_rate
        self.start_wait = start_wait
        self.pod = pod
        self.directory = directory or MemoryMatchDirectory(lease_ttl)
        self.relay = relay or Relay(None, pod)
        self.lease_ttl = lease_ttl
        self.record_replays = record_replays
        self.clock = clock
        self.wall_clock = wall_clock
        self.matches: dict[str, HostedMatch] = {}
        self.leases: dict[str, Lease] = {}
        self._loading: dict[str, asyncio.Future[Match]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self.draining = False
        self.recent_lateness: deque[float] = deque(maxlen=300)  # the last ~10 s of ticks

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._loops:
            return
        await self.relay.start(self.on_batch)
        loop = asyncio.get_running_loop()
        self._loops = [loop.create_task(self._run()), loop.create_task(self._maintain())]

    async def stop(self) -> None:
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loops = []
        await self.drain()
        await self.relay.stop()  # after its last batches (the drain's closes) went out
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drain(self) -> int:
        """Hand every match over: checkpoint it, release its lease, tell its players to
        reconnect (they land on the pod that owns the match path next). Returns how many
        sockets were told. From now on this pod takes no new match."""
        self.draining = True
        told = 0
        for hosted in list(self.matches.values()):
            lease = self.leases.pop(hosted.id, None)
            self.matches.pop(hosted.id, None)
            with contextlib.suppress(Exception):  # without it, the last periodic one serves
                await self.store.save_checkpoint(hosted.id, hosted.checkpoint())
            if lease is not None:
                with contextlib.suppress(Exception):
                    await self.directory.release(lease)
            told += len(hosted.connected_slots)
            hosted.broadcast({"type": "reconnect", "reason": "server_restarting"})
            hosted.close_all(CloseCode.RESTART, "server restarting")
        for remote in list(self.relay.remote.values()):
            told += len(remote.conns)
            remote.broadcast({"type": "reconnect", "reason": "server_restarting"})
            remote.close_all(CloseCode.RESTART, "server restarting")
        self.relay.remote.clear()
        self.relay.flush()
        metrics.MATCHES_HOSTED.set(0)
        return told

    # -- sockets -------------------------------------------------------------------------

    async def attach(self, match_id: str, player_id: str, connection: Outlet) -> tuple[Match, Seat]:
        """Seat a player's socket in their match: hosted here, or relayed to its owner."""
        match = await self._find(match_id)
        seat = match.seat_of(player_id)
        if seat is None:
            raise Forbidden("you are not a player of this match")
        if isinstance(match, RemoteMatch):
            previous = match.connect(seat, connection, self.relay.next_conn_id())
        else:
            previous = match.connect(seat, connection)
        if previous is not None:
            previous.send_frame(messages.error("replaced", "you connected again elsewhere"))
            previous.close(CloseCode.REPLACED, "replaced")
        return match, seat

    def detach(self, match: Match, seat: Seat, connection: Outlet) -> None:
        match.disconnect(seat, connection)

    async def _find(self, match_id: str) -> Match:
        match: Match | None = self.matches.get(match_id) or self.relay.remote.get(match_id)
        if match is not None:
            return match
        loading = self._loading.get(match_id)
        if loading is not None:  # another socket of this match is loading it right now
            return await asyncio.shield(loading)
        future: asyncio.Future[Match] = asyncio.get_running_loop().create_future()
        self._loading[match_id] = future
        try:
            match = await self._load(match_id)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # mark it retrieved: nobody else may be waiting
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._loading[match_id]
        future.set_result(match)
        return match

    async def _load(self, match_id: str) -> Match:
        """Claim the match (its first socket reached us) or follow the pod that has it."""
        record = await self.store.get_match(match_id)
        if record is None:
            raise NotFound(f"match {match_id} not found")
        if record.status == "finished":
            raise MatchOver("the match is over; its result is at /v1/matches/" + match_id)
        if self.draining:
            raise Draining("this server is restarting; reconnect")
        mode = self.modes[record.mode]
        lease = await self.directory.claim(match_id, self.pod, self.relay.channel)
        if lease.pod == self.pod and lease.channel == self.relay.channel:
            hosted = HostedMatch(
                record, mode, self.clock() + self.start_wait, self.clock, self.record_replays
            )
            checkpoint = await self.store.get_checkpoint(match_id)
            if checkpoint is not None:  # its last owner drained or died: carry on from there
                hosted.restore(checkpoint)
                log.info("match %s resumed from its checkpoint at tick %d", match_id, hosted.tick)
            self.matches[match_id] = hosted
            self.leases[match_id] = lease
            metrics.MATCHES_HOSTED.set(len(self.matches))
            return hosted
        if not self.relay.enabled:
            raise SkirmishError(f"match {match_id} is owned by pod {lease.pod}")
        remote = RemoteMatch(record, mode, lease, self.relay.link(lease.channel))
        self.relay.remote[match_id] = remote
        return remote

    # -- entries from other pods ---------------------------------------------------------

    def on_batch(self, message: dict[str, Any]) -> None:
        link = self.relay.link(message["reply_to"])
        for entry in message["entries"]:
            kind = entry[0]
            if kind in ("s", "f", "c"):
                self.relay.deliver_to_edge(entry)
                continue
            hosted = self.matches.get(entry[1])
            if hosted is None:  # we no longer own it: tell the edge to reconnect its socket
                if kind == "j":
                    link.add(["c", entry[1], entry[2], CloseCode.RESTART, "match moved"])
                continue
            if kind == "i":
                self._remote_input(hosted, entry[2], entry[3], entry[4])
            elif kind == "j":
                self._remote_join(hosted, link, entry[2], entry[3])
            elif kind == "l":
                self._remote_leave(hosted, entry[2], link)

    def _remote_seat(self, hosted: HostedMatch, conn: int) -> tuple[Seat, RemoteConnection] | None:
        for seat in hosted.seats:
            outlet = seat.connection
            if isinstance(outlet, RemoteConnection) and outlet.conn == conn:
                return seat, outlet
        return None

    def _remote_join(self, hosted: HostedMatch, link: Any, conn: int, player_id: str) -> None:
        seat = hosted.seat_of(player_id)
        if seat is None:
            return
        previous = hosted.connect(seat, RemoteConnection(link, hosted, seat.slot, conn))
        if previous is not None:
            previous.send_frame(messages.error("replaced", "you connected again elsewhere"))
            previous.close(CloseCode.REPLACED, "replaced")

    def _remote_leave(self, hosted: HostedMatch, conn: int, link: Any) -> None:
        found = self._remote_seat(hosted, conn)
        if found is not None and found[1].link is link:
            found[1].closed = True
            hosted.disconnect(*found)

    def _remote_input(self, hosted: HostedMatch, conn: int, seq: int, message: Any) -> None:
        found = self._remote_seat(hosted, conn)
        if found is None:
            return
        try:
            hosted.accept_input(found[0], seq, message)
        except ValueError:  # validated by the edge already; a mismatch is a bug, not a crash
            log.warning("relayed input refused for match %s", hosted.id)

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
            lateness = max(started - next_at, 0.0)
            metrics.TICK_LATENESS.observe(lateness)
            self.recent_lateness.append(lateness)
            self.tick_all()
            self.relay.flush()
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
                self._spawn(self._conclude(hosted, outcome))

    def _release(self, hosted: HostedMatch) -> None:
        self.matches.pop(hosted.id, None)
        lease = self.leases.pop(hosted.id, None)
        if lease is not None:
            self._spawn(self.directory.release(lease))
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
        """Write the result and ratings durably (while still owner), then tell the players."""
        try:
            lease = self.leases.get(hosted.id)
            if lease is not None and await self.directory.holder(hosted.id) != lease:
                raise RuntimeError("lost the lease before the result was written")
            if hosted.record_inputs:  # before the result: a finished match has its replay
                await self.store.save_replay(hosted.id, hosted.replay())
            result = await record_result(self.store, hosted, outcome, self.wall_clock())
            await self.store.drop_checkpoint(hosted.id)
            hosted.broadcast({"type": "result", **result})
            hosted.close_all(CloseCode.NORMAL, "match over")
            metrics.MATCHES_FINISHED.inc()
        except Exception:
            log.exception("could not record the result of match %s", hosted.id)
            hosted.close_all(CloseCode.INTERNAL, "internal error")
        finally:
            self._release(hosted)
            self.relay.flush()

    # -- leases --------------------------------------------------------------------------

    async def _maintain(self) -> None:
        """Renew our leases well inside their TTL; drop matches we lost; watch remote owners."""
        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            try:
                await self._renew_leases()
                await self._checkpoint_all()
                await self._check_remote_owners()
            except Exception:
                log.exception("lease maintenance failed")

    async def _renew_leases(self) -> None:
        lost = await self.directory.renew(list(self.leases.values()))
        for lease in lost:
            hosted = self.matches.pop(lease.match_id, None)
            self.leases.pop(lease.match_id, None)
            if hosted is not None:  # fenced: another pod has it now; our players go there
                log.warning("lost the lease of match %s; handing its players over", hosted.id)
                hosted.close_all(CloseCode.RESTART, "match moved")
        metrics.MATCHES_HOSTED.set(len(self.matches))

    async def _checkpoint_all(self) -> None:
        """A pod that dies loses at most the play since its last checkpoint."""
        for hosted in list(self.matches.values()):
            if hosted.status == "running":
                await self.store.save_checkpoint(hosted.id, hosted.checkpoint())

    async def _check_remote_owners(self) -> None:
        for match_id, remote in list(self.relay.remote.items()):
            if remote.empty:
                del self.relay.remote[match_id]
                continue
            if await self.directory.holder(match_id) != remote.owner:
                # The owner died or moved: our players reconnect and land on the new owner.
                remote.close_all(CloseCode.RESTART, "match moved")
                del self.relay.remote[match_id]
