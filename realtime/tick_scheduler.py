"""The pod's tick scheduler: one timer wake-up per tick serves every match the pod owns.

Not a task per match: ticks stay aligned across matches, and lateness is measured in one
place. A tick steps matches in slices of at most TICK_SLICE_SECONDS, yielding to the event
loop between slices, then ends with `end_of_tick` (the relay's one batch per peer pod).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from realtime import metrics
from realtime.owned_matches import OwnedMatch, OwnedMatches

# A tick steps matches for at most this long before letting the sockets in (a pod of 100
# matches spends ~10 ms on one tick; a ping should not wait for all of it).
TICK_SLICE_SECONDS = 0.005

StepOne = Callable[[OwnedMatch, float], None]


@dataclass
class TickScheduler:
    tick_rate: int
    matches: OwnedMatches
    step_one: StepOne
    end_of_tick: Callable[[], None]
    clock: Callable[[], float]
    on_tick: Callable[[], None] | None = None  # as each pod-wide tick starts (a probe)
    recent_lateness: deque[float] = field(  # the last ~10 s of ticks
        default_factory=lambda: deque(maxlen=300), init=False
    )
    tick_now: float = field(default=0.0, init=False)  # the clock as the tick under way began

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.tick_rate
        next_at = loop.time()
        while True:
            next_at += interval
            delay = next_at - loop.time()
            if delay < -5 * interval:  # hopelessly behind: skip the missed ticks, don't spiral
                next_at, delay = loop.time(), 0.0
            # Always yield, even when late: sockets, Redis and lease renewal must get their
            # turn, or an overloaded pod would freeze and lose every lease.
            await asyncio.sleep(max(delay, 0.0))
            started = loop.time()
            lateness = max(started - next_at, 0.0)
            metrics.TICK_LATENESS.observe(lateness)
            self.recent_lateness.append(lateness)
            pending = self.tick_all()
            while pending:
                # Let the sockets in between slices: a ping or an input that arrives during
                # the tick is not made to wait for every match of the pod.
                await asyncio.sleep(0)
                pending = self.tick_some(pending)
            self.end_of_tick()
            metrics.TICK_DURATION.observe(loop.time() - started)

    def tick_all(self) -> list[OwnedMatch]:
        """Start a pod-wide tick: step matches for up to TICK_SLICE_SECONDS, return the rest
        (which `run` steps in further slices, yielding to the event loop in between)."""
        if self.on_tick is not None:
            self.on_tick()
        self.tick_now = self.clock()
        return self.tick_some(self.matches.snapshot())

    def tick_some(self, pending: list[OwnedMatch]) -> list[OwnedMatch]:
        ends = time.perf_counter() + TICK_SLICE_SECONDS
        for index, owned in enumerate(pending):
            if self.matches.holds(owned):  # not dropped or ended meanwhile
                self.step_one(owned, self.tick_now)
            if time.perf_counter() > ends:
                return pending[index + 1 :]
        return []

    def worst_recent_lateness(self) -> float:
        return max(self.recent_lateness, default=0.0)
