"""The pod's tick scheduler: one timer wake-up per tick serves every match the pod owns.

Not a task per match: ticks stay aligned across matches, and lateness is measured in one
place. Each tick rate the pod's modes use has a grid of its own (k / rate seconds from the
start); a wake-up steps the matches of every rate due then, so two modes at 30 and 20 Hz
wake the pod 40 times a second, together every tenth of a second. A tick steps matches in
slices of at most TICK_SLICE_SECONDS, yielding to the event loop between slices, then ends
with `end_of_tick` (the relay's one batch per peer pod).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from realtime import metrics
from realtime.owned_matches import OwnedMatch, OwnedMatches

# A tick steps matches for at most this long before letting the sockets in (a pod of 100
# matches spends ~10 ms on one tick; a ping should not wait for all of it).
TICK_SLICE_SECONDS = 0.005
SAME_MOMENT = 1e-6  # grid points of two rates this close are one wake-up
BEHIND_TICKS = 5  # a rate this many ticks behind skips them rather than spiral

StepOne = Callable[[OwnedMatch, float], None]


@dataclass
class TickScheduler:
    rates: Sequence[int]  # the tick rates of the modes this pod plays
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
        origin = loop.time()
        ticks: dict[int, int] = {}  # each grid in use: its points passed so far
        while True:
            self._follow_rates(ticks, (loop.time() - origin))
            due = {rate: origin + (count + 1) / rate for rate, count in ticks.items()}
            next_at = min(due.values())
            # Always yield, even when late: sockets, Redis and lease renewal must get their
            # turn, or an overloaded pod would freeze and lose every lease.
            await asyncio.sleep(max(next_at - loop.time(), 0.0))
            started = loop.time()
            ready = {rate for rate, at in due.items() if at <= next_at + SAME_MOMENT}
            for rate in ready:
                behind = int((started - origin) * rate) - ticks[rate]
                # hopelessly behind: skip the missed ticks, don't spiral
                ticks[rate] += behind if behind > BEHIND_TICKS else 1
            lateness = max(started - next_at, 0.0)
            metrics.TICK_LATENESS.observe(lateness)
            self.recent_lateness.append(lateness)
            pending = self.tick_all(ready)
            while pending:
                # Let the sockets in between slices: a ping or an input that arrives during
                # the tick is not made to wait for every match of the pod.
                await asyncio.sleep(0)
                pending = self.tick_some(pending)
            self.end_of_tick()
            metrics.TICK_DURATION.observe(loop.time() - started)

    def _follow_rates(self, ticks: dict[int, int], elapsed: float) -> None:
        """The grids to wake for: the fastest rate always (an edge pod forwards its sockets'
        inputs at each tick's end, owning nothing), and every rate an owned match ticks at
        (a grid joins at its current point). Only the grids in use wake the pod: each
        wake-up lets the event loop's other work in, which an overloaded pod cannot spare."""
        wanted = self.matches.rates() | {max(self.rates)}
        for rate in ticks.keys() - wanted:
            del ticks[rate]
        for rate in wanted - ticks.keys():
            ticks[rate] = int(elapsed * rate)

    def tick_all(self, rates: Collection[int] | None = None) -> list[OwnedMatch]:
        """Start a pod-wide tick of the matches whose modes tick at `rates` (default all):
        step them for up to TICK_SLICE_SECONDS, return the rest (which `run` steps in
        further slices, yielding to the event loop in between)."""
        if self.on_tick is not None:
            self.on_tick()
        self.tick_now = self.clock()
        owned = self.matches.snapshot()
        if rates is not None and not self.matches.rates() <= set(rates):
            owned = [o for o in owned if o.hosted.mode.tick_rate in rates]
        return self.tick_some(owned)

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
