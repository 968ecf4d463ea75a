"""What a benchmarked server records about itself, read by the driver after the run.

Every tick appends (monotonic time, inputs received so far): the driver picks the ticks of
its measured window afterwards, so nothing is asked of the server while it is measured.
`ProbeApp` serves the record at `GET /bench/probe` in front of the real application; it
looks at each connection's scope once, never at the messages of a socket.
"""

from __future__ import annotations

import gc
import time
from array import array
from collections.abc import Callable
from typing import Any

import orjson

PROBE_PATH = "/bench/probe"
MAX_TICKS = 200_000  # ~1.8 h at 30 Hz; older ticks are dropped


class TickProbe:
    def __init__(self, inputs: Callable[[], int]) -> None:
        self.inputs = inputs
        self.times = array("d")
        self.counts = array("q")
        self.gc_times = array("d")  # seconds spent in the cyclic garbage collector so far
        self.gc_seconds = 0.0
        self._gc_started = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_seconds += time.perf_counter() - self._gc_started

    def mark(self) -> None:
        """Call at the start of every pod-wide tick."""
        if len(self.times) >= MAX_TICKS:
            for series in (self.times, self.counts, self.gc_times):
                del series[: MAX_TICKS // 2]
        self.times.append(time.monotonic())
        self.counts.append(self.inputs())
        self.gc_times.append(self.gc_seconds)

    def to_json(self) -> dict[str, Any]:
        return {
            "times": self.times.tolist(),
            "inputs": self.counts.tolist(),
            "gc": self.gc_times.tolist(),
        }


class ProbeApp:
    """ASGI wrapper: `GET /bench/probe` answers the probe's record; all else passes through."""

    def __init__(self, app: Any, probe: TickProbe) -> None:
        self.app = app
        self.probe = probe

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == PROBE_PATH:
            body = orjson.dumps(self.probe.to_json())
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def window_stats(record: dict[str, Any], start: float, end: float) -> dict[str, Any]:
    """Tick-interval percentiles and inputs received within [start, end]."""
    times: list[float] = record["times"]
    counts: list[int] = record["inputs"]
    inside = [i for i, t in enumerate(times) if start <= t <= end]
    if len(inside) < 2:
        return {
            "ticks": len(inside),
            "interval_p50_ms": None,
            "interval_p99_ms": None,
            "interval_max_ms": None,
            "tick_rate": None,
            "inputs_received": 0,
            "inputs_span_s": 0.0,
            "gc_s": 0.0,
        }
    first, last = inside[0], inside[-1]
    gaps = sorted(times[i] - times[i - 1] for i in inside[1:])
    return {
        "ticks": len(inside),
        "interval_p50_ms": 1000 * gaps[len(gaps) // 2],
        "interval_p99_ms": 1000 * gaps[min(len(gaps) - 1, round(0.99 * len(gaps)))],
        "interval_max_ms": 1000 * gaps[-1],
        "tick_rate": (last - first) / (times[last] - times[first]),
        "inputs_received": counts[last] - counts[first],
        "gc_s": record["gc"][last] - record["gc"][first],
        "inputs_span_s": times[last] - times[first],
    }
