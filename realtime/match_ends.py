"""How a hosted match ends: its result written durably, or recorded as aborted.

A match's first running tick, its end and its crash each need a store write; they run as
tasks here (the tick never awaits), and a drain waits for those under way. The result and
its ratings are computed in results.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from game.modes import Outcome
from realtime import messages, metrics
from realtime.close_codes import CloseCode
from realtime.hosted_match import HostedMatch
from realtime.ownership import Lease, MatchDirectory
from realtime.results import no_contest, record_result
from skirmish.base.store import Store
from skirmish.base.store.records import MatchRecord

log = logging.getLogger(__name__)

Result = dict[str, Any]


@dataclass
class MatchEnds:
    store: Store
    directory: MatchDirectory
    wall_clock: Callable[[], float]
    release: Callable[[HostedMatch], None]  # the match is no longer ours: registry and lease
    flush: Callable[[], None]  # send the closes to relayed sockets now, not at the next tick
    # the result's frame (None: it could not be written), for the match's spectators
    concluded: Callable[[HostedMatch, bytes | None], None] = lambda hosted, frame: None
    tasks: set[asyncio.Task[Any]] = field(default_factory=set, init=False)

    def started(self, hosted: HostedMatch) -> None:
        self.spawn(self._mark_running(hosted.id))

    def finished(self, hosted: HostedMatch, outcome: Outcome, lease: Lease | None) -> None:
        self.spawn(self._conclude(hosted, lease, self._rate(hosted, outcome)))

    def voided(self, hosted: HostedMatch, lease: Lease | None) -> None:
        """Its mode raised or ran too slow: the match stops and ends as no contest (no
        ratings); the other matches of the pod play on."""
        metrics.MATCH_ERRORS.inc()
        hosted.status = "finished"  # no more steps; a socket arriving meanwhile is seated
        self.spawn(self._conclude(hosted, lease, self._void(hosted)))

    async def wait_for_writes(self, timeout: float) -> None:
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)

    async def finish_writes(self) -> None:
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _mark_running(self, match_id: str) -> None:
        started_at = self.wall_clock()

        def running(record: MatchRecord) -> MatchRecord:
            if record.status != "waiting":
                return record
            return record.model_copy(update={"status": "running", "started_at": started_at})

        await self.store.update_match(match_id, running)

    async def _void(self, hosted: HostedMatch) -> Result:
        finish = no_contest(
            "no_contest", hosted.tick, self.wall_clock(), ends=("waiting", "running")
        )
        record = await self.store.update_match(hosted.id, finish)
        if record.result is None:
            raise RuntimeError(f"match {hosted.id} finished without a result")
        await self.store.drop_inputs(hosted.id)  # no replay: the mode failed
        return record.result

    async def _rate(self, hosted: HostedMatch, outcome: Outcome) -> Result:
        record = hosted.inputs
        if record is not None and record.given_up:
            log.warning("match %s: no replay kept, over %d inputs", hosted.id, record.limit)
            await self.store.drop_inputs(hosted.id)
        elif record is not None:  # before the result: a finished match has its replay
            async with hosted.saving:  # after any checkpoint in flight, never beside it
                await self.store.save_replay(hosted.id, hosted.replay(), record.pending())
        return await record_result(self.store, hosted, outcome, self.wall_clock())

    async def _conclude(
        self, hosted: HostedMatch, lease: Lease | None, write: Coroutine[Any, Any, Result]
    ) -> None:
        """Write the result durably (while still owner), then tell the players."""
        try:
            if lease is not None and await self.directory.holder(hosted.id) != lease:
                write.close()
                raise RuntimeError("lost the lease before the result was written")
            result = await write
            await self.store.drop_checkpoint(hosted.id)
            frame = messages.encode({"type": "result", **result})
            hosted.broadcast_frame(frame)
            hosted.close_all(CloseCode.NORMAL, "match over")
            self.concluded(hosted, frame)
            metrics.MATCHES_FINISHED.inc()
        except Exception:
            log.exception("could not record the result of match %s", hosted.id)
            hosted.close_all(CloseCode.INTERNAL, "internal error")
            self.concluded(hosted, None)
        finally:
            self.release(hosted)
            self.flush()
