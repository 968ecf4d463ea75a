"""The SLO gates as a `quitting` listener: a violated gate sets the process exit code."""

from __future__ import annotations

import logging
from typing import Any

from locust.runners import WorkerRunner

from .options import Settings
from .slo import Entry, Gates, evaluate, parse_limits

log = logging.getLogger("skirmish.slo")


def entry_of(stats_entry: Any) -> Entry:
    p99 = stats_entry.get_response_time_percentile(0.99) if stats_entry.num_requests else 0.0
    return Entry(stats_entry.num_requests, stats_entry.num_failures, float(p99 or 0.0))


def check_gates(environment: Any, **_: Any) -> None:
    """Run the gates once, where the stats of every worker are (not on a worker)."""
    if isinstance(environment.runner, WorkerRunner) or environment.parsed_options is None:
        return
    settings = Settings.from_options(environment.parsed_options)
    gates = Gates(
        fail_ratio=settings.slo_fail_ratio if settings.slo_fail_ratio >= 0 else None,
        fail_ratios=parse_limits(settings.slo_fail_ratios),
        p99_ms=parse_limits(settings.slo_p99),
    )
    if not gates:
        return
    stats = environment.stats
    entries = {f"{method} {name}": entry_of(e) for (name, method), e in stats.entries.items()}
    verdict = evaluate(entries, entry_of(stats.total), gates)
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
