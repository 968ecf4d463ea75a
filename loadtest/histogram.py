"""A mergeable latency histogram: fixed 20 µs bins up to 250 ms, then whole milliseconds.

Load generator processes record millions of samples; they ship these sparse counts to the
driver, which adds them up and reads percentiles. Resolution is well below what a 2-core
machine's scheduling jitter lets anyone claim.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

FINE_US = 20  # bin width below FINE_LIMIT_MS
FINE_LIMIT_MS = 250
FINE_BINS = FINE_LIMIT_MS * 1000 // FINE_US
MAX_MS = 60_000


class Histogram:
    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.total = 0

    def add(self, seconds: float) -> None:
        """Record one sample (seconds; negative counts as 0)."""
        us = seconds * 1e6
        if us < FINE_LIMIT_MS * 1000:
            key = int(us) // FINE_US if us > 0 else 0
        else:
            key = FINE_BINS + min(int(us / 1000), MAX_MS) - FINE_LIMIT_MS
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1
        self.total += 1

    def merge(self, other: Histogram) -> None:
        for key, count in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + count
        self.total += other.total

    def percentile_ms(self, q: float) -> float | None:
        """The q-th percentile (0..100) in milliseconds, at the bin's upper edge."""
        if not self.total:
            return None
        rank = max(1, round(self.total * q / 100))
        seen = 0
        for key in sorted(self.counts):
            seen += self.counts[key]
            if seen >= rank:
                return _upper_edge_ms(key)
        return _upper_edge_ms(max(self.counts))

    def to_json(self) -> dict[str, int]:
        return {str(k): v for k, v in self.counts.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, int]) -> Histogram:
        hist = cls()
        for key, count in data.items():
            hist.counts[int(key)] = int(count)
            hist.total += int(count)
        return hist

    @classmethod
    def merged(cls, parts: Iterable[Mapping[str, int]]) -> Histogram:
        hist = cls()
        for part in parts:
            hist.merge(cls.from_json(part))
        return hist


def _upper_edge_ms(key: int) -> float:
    if key < FINE_BINS:
        return (key + 1) * FINE_US / 1000
    return float(key - FINE_BINS + FINE_LIMIT_MS + 1)
