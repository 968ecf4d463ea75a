"""The SLO gates as a `quitting` listener: a violated gate sets the process exit code.

It also logs one line per game mode played (`mode ctf: … matches played to the result …`).
"""

from __future__ import annotations

import logging
from typing import Any

from locust.runners import WorkerRunner
from locust.stats import StatsEntry

from .options import Settings
from .slo import Entry, Gates, evaluate, mode_summary, parse_limits, split_mode

log = logging.getLogger("skirmish.slo")


def entry_of(stats_entry: Any) -> Entry:
    requests = stats_entry.num_requests
    p99 = stats_entry.get_response_time_percentile(0.99) if requests else 0.0
    avg = stats_entry.avg_response_time if requests else 0.0
    return Entry(requests, stats_entry.num_failures, float(p99 or 0.0), float(avg or 0.0))


def run_entries(stats: Any) -> dict[str, Entry]:
    """Every row by 'TYPE NAME', and every family of per-mode rows merged under the name
    without its mode: 'WS match' holds 'WS match (arena)' and 'WS match (ctf)' together."""
    entries: dict[str, Entry] = {}
    merged: dict[str, StatsEntry] = {}
    for (name, method), stats_entry in stats.entries.items():
        key = f"{method} {name}"
        entries[key] = entry_of(stats_entry)
        split = split_mode(key)
        if split is not None:
            family = merged.get(split[0])
            if family is None:
                family = merged[split[0]] = StatsEntry(stats, split[0], "")
            family.extend(stats_entry)
    for key, family in merged.items():
        entries.setdefault(key, entry_of(family))  # a row of that very name would win
    return entries


def check_gates(environment: Any, **_: Any) -> None:
    """Run the gates once, where the stats of every worker are (not on a worker)."""
    if isinstance(environment.runner, WorkerRunner) or environment.parsed_options is None:
        return
    settings = Settings.from_options(environment.parsed_options)
    entries = run_entries(environment.stats)
    for line in mode_summary(entries):
        log.info("Played %s", line)
    gates = Gates(
        fail_ratio=settings.slo_fail_ratio if settings.slo_fail_ratio >= 0 else None,
        fail_ratios=parse_limits(settings.slo_fail_ratios),
        p99_ms=parse_limits(settings.slo_p99),
    )
    if not gates:
        return
    verdict = evaluate(entries, entry_of(environment.stats.total), gates)
    for line in verdict.passed:
        log.info("SLO ok: %s", line)
    for line in verdict.violated:
        log.error("SLO violated: %s", line)
    if not verdict.ok:
        environment.process_exit_code = settings.slo_exit_code
    elif gates.fail_ratio is not None and not environment.runner.exceptions:
        # Failures within the tolerated overall ratio do not fail the run (Locust's
        # --exit-code-on-error would); exceptions in the locustfile itself still do.
        environment.process_exit_code = 0
