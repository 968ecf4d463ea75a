"""One pod-wide tick scheduler vs one asyncio task per match: CPU per match-tick.

    .venv/bin/python loadtest/scheduler_bench.py [--matches 100] [--seconds 5]

Both variants step the real arena mode for 10 players at 30 Hz on uvloop; the figure is
process CPU time over match-ticks run, and the tick lateness p99 of each variant.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import uvloop

from game.modes import ArenaMode
from game.modes.arena import ArenaInput

MODE = ArenaMode()
INPUTS = [ArenaInput(0.5, -0.5, 1.0, True)] * 10
RATE = 30


class Match:
    def __init__(self, seed: int) -> None:
        self.state = MODE.initial_state(10, seed)
        self.tick = 0

    def advance(self) -> None:
        self.tick += 1
        self.state = MODE.step(self.state, INPUTS, self.tick)
        MODE.view(self.state, None)


async def per_match_tasks(matches: list[Match], seconds: float, late: list[float]) -> None:
    loop = asyncio.get_running_loop()

    async def run(match: Match) -> None:
        next_at = loop.time()
        end = next_at + seconds
        while next_at < end:
            next_at += 1 / RATE
            await asyncio.sleep(max(next_at - loop.time(), 0))
            late.append(loop.time() - next_at)
            match.advance()

    await asyncio.gather(*(run(m) for m in matches))


async def one_scheduler(matches: list[Match], seconds: float, late: list[float]) -> None:
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    end = next_at + seconds
    while next_at < end:
        next_at += 1 / RATE
        await asyncio.sleep(max(next_at - loop.time(), 0))
        lateness = loop.time() - next_at
        for match in matches:
            late.append(lateness)
            match.advance()


async def measure(variant: str, count: int, seconds: float) -> tuple[float, float]:
    matches = [Match(seed) for seed in range(count)]
    late: list[float] = []
    cpu = time.process_time()
    runner = per_match_tasks if variant == "tasks" else one_scheduler
    await runner(matches, seconds, late)
    cpu = time.process_time() - cpu
    ticks = sum(m.tick for m in matches)
    p99 = statistics.quantiles(late, n=100)[98] if len(late) > 100 else max(late)
    return cpu / ticks * 1e6, p99 * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--matches", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(f"{args.matches} arena matches of 10 players at {RATE} Hz, {args.seconds:.0f} s each")
    for variant in ("tasks", "scheduler", "tasks", "scheduler"):
        us, p99 = uvloop.run(measure(variant, args.matches, args.seconds))
        print(f"{variant:>10}: {us:6.1f} µs CPU per match-tick, lateness p99 {p99:5.2f} ms")


if __name__ == "__main__":
    main()
