"""SLO gates: a run fails when its failure ratio or a p99 latency is over its limit.

The match entries carry their game mode ('WS match (ctf)'); a gate on the name without
the mode ('WS match') judges all modes together, a gate with it one mode alone.

Plain Python on purpose (no Locust, no gevent): the test suite imports it directly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

TOTAL = "Aggregated"
_PER_MODE = re.compile(r"^(?P<family>.*\S) \((?P<mode>[^()\s]+)\)$")


def normalize(key: str) -> str:
    """'WS  ping->pong' → 'WS ping→pong': ASCII arrows and spacing don't matter."""
    return " ".join(key.replace("->", "→").split())


def per_mode(name: str, mode: str) -> str:
    """'match', 'ctf' → 'match (ctf)': the name of a stat of one game mode."""
    return f"{name} ({mode})"


def split_mode(key: str) -> tuple[str, str] | None:
    """'WS match (ctf)' → ('WS match', 'ctf'); None for a key without a mode."""
    found = _PER_MODE.match(normalize(key))
    return (found["family"], found["mode"]) if found else None


def parse_limits(spec: str) -> dict[str, float]:
    """'WS connect=1000, WS ping->pong=100' → {'WS connect': 1000.0, 'WS ping→pong': 100.0}.

    A key is an entry's type and name as Locust prints them ('GET /v1/lobbies',
    'WS input→ack') or 'Aggregated' for all requests together.
    """
    limits: dict[str, float] = {}
    for part in spec.replace(";", ",").split(","):
        if not part.strip():
            continue
        key, sep, value = part.rpartition("=")
        if not sep or not key.strip():
            raise ValueError(f"SLO gate {part.strip()!r} is not 'TYPE NAME=limit'")
        limits[normalize(key)] = float(value)
    return limits


@dataclass(frozen=True, slots=True)
class Entry:
    """What a gate needs to know of one stats entry."""

    requests: int
    failures: int
    p99_ms: float
    avg_ms: float = 0.0

    @property
    def successes(self) -> int:
        return self.requests - self.failures


@dataclass(frozen=True, slots=True)
class Verdict:
    passed: list[str]
    violated: list[str]

    @property
    def ok(self) -> bool:
        return not self.violated


@dataclass(frozen=True, slots=True)
class Gates:
    fail_ratio: float | None = None  # over all requests (Locust's "Aggregated" line)
    fail_ratios: Mapping[str, float] = field(default_factory=dict)  # per entry
    p99_ms: Mapping[str, float] = field(default_factory=dict)  # per entry

    def __bool__(self) -> bool:
        return self.fail_ratio is not None or bool(self.fail_ratios) or bool(self.p99_ms)


def evaluate(entries: Mapping[str, Entry], total: Entry, gates: Gates) -> Verdict:
    """Check the gates against the run's stats; every gate says why it passed or failed.

    `entries` holds one entry per stats row and, for the rows that carry a mode, one per
    family of them ('WS match': 'WS match (arena)' and 'WS match (ctf)' merged)."""
    verdict = Verdict([], [])
    by_key = {normalize(key): entry for key, entry in entries.items()}
    by_key[TOTAL] = total
    if gates.fail_ratio is not None:
        _fail_ratio(verdict, TOTAL, total, gates.fail_ratio)
    for key, limit in gates.fail_ratios.items():
        entry = by_key.get(key)
        if entry is None:  # nothing happened, nothing failed
            verdict.passed.append(f"fail ratio {key}: no requests (limit {limit:g})")
        else:
            _fail_ratio(verdict, key, entry, limit)
    for key, limit in gates.p99_ms.items():
        entry = by_key.get(key)
        if entry is None or entry.requests == 0:
            verdict.violated.append(f"p99 {key}: no requests recorded (limit {limit:g} ms)")
            continue
        line = f"p99 {key} {entry.p99_ms:g} ms (limit {limit:g} ms, {entry.requests} requests)"
        (verdict.passed if entry.p99_ms <= limit else verdict.violated).append(line)
    return verdict


def _fail_ratio(verdict: Verdict, key: str, entry: Entry, limit: float) -> None:
    ratio = entry.failures / entry.requests if entry.requests else 0.0
    line = (
        f"fail ratio {key} {ratio:.4f} (limit {limit:g}, "
        f"{entry.failures} of {entry.requests} failed)"
    )
    (verdict.passed if ratio <= limit else verdict.violated).append(line)


def mode_summary(entries: Mapping[str, Entry]) -> list[str]:
    """One line per game mode played, counted per player (a match of four counts four):
    matched (queue or lobby), sockets opened, sockets that played to the result or ended
    before it, the snapshots and their mean gap (the tick rate a player got), the inputs
    acknowledged and the server's errors."""
    by_mode: dict[str, dict[str, Entry]] = {}
    for key, entry in entries.items():
        split = split_mode(key)
        if split is not None:
            by_mode.setdefault(split[1], {})[split[0]] = entry
    lines = []
    none = Entry(0, 0, 0.0)
    for mode, rows in sorted(by_mode.items()):
        matched = rows.get("MM ticket→matched", none).successes
        matched += rows.get("MM lobby→started", none).successes
        match = rows.get("WS match", none)
        snapshot = rows.get("WS snapshot", none)
        rate = f" ({1000 / snapshot.avg_ms:.1f}/s)" if snapshot.avg_ms > 0 else ""
        lines.append(
            f"mode {mode}: {matched} players matched, "
            f"{rows.get('WS connect', none).successes} sockets, "
            f"{match.successes} played to the result, {match.failures} ended before it, "
            f"{snapshot.requests} snapshots every {snapshot.avg_ms:.1f} ms{rate}, "
            f"{rows.get('WS input→ack', none).successes} inputs acked, "
            f"{rows.get('WS error', none).failures} errors"
        )
    return lines
