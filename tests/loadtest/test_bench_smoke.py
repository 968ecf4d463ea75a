"""The benchmark machinery end to end, tiny: 2 matches on one real pod for 2 seconds.

Asserts that the pieces fit (REST setup, load generator processes, probe, report), never
how fast anything is: timing is what `make bench` reports, not what a test checks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtest.bench import bench, parse_args

pytestmark = pytest.mark.e2e

FIELDS = {
    "cpu_us_per_msg", "server_cores", "loadgen_cores", "msgs_per_s", "expected_per_s",
    "inputs_sent_per_s", "inputs_received_per_s", "tick_rate_min", "tick_p99_ms",
    "rtt_p50_ms", "rtt_p99_ms", "ack_p50_ms", "ack_p99_ms", "bytes_per_msg",
    "lateness_p99_ms",
}  # fmt: skip


@pytest.mark.timeout(60)
async def test_bench_runs_against_one_pod(tmp_path: Path) -> None:
    argv = ["--rs", "2", "--targets", "single", "--warmup", "1", "--duration", "3"]
    argv += ["--workers", "1", "--quiet-wait", "0", "--retries", "0", "--out", str(tmp_path)]
    argv += ["--logs", str(tmp_path / "logs")]
    (run,) = await bench(parse_args(argv))
    assert run.keys() >= FIELDS
    assert run["sockets"] == 20 and run["failed"] == 0, run
    assert run["msgs"] > 0 and run["cpu_us_per_msg"] > 0, run
    assert run["inputs_received_per_s"] > 0 and run["pongs"] > 0, run
    assert run["bytes_per_msg"] <= 400, run
    saved = json.loads((tmp_path / "arena30.json").read_text())
    assert saved["runs"][0]["R"] == 2
    assert "| 2 | single |" in (tmp_path / "arena30.md").read_text()
    assert (tmp_path / "arena30.png").exists()
