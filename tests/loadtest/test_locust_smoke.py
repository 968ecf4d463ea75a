"""The Locust suite (loadtest/locustfile.py) against a real server, headless, for seconds.

Locust runs in a subprocess: it monkeypatches the process with gevent on import, which the
test process must never be. Short matches (1 s fill, 2 s start wait, 5 s time limit) so a
whole match fits in the run.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest.locust_support.slo import Entry, Gates, evaluate, parse_limits
from tests.support.processes import ServerProcess, skirmish_server

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "loadtest" / "locustfile.py"
CONFIG = ROOT / "loadtest" / "locust.conf"
FAST_MATCH_ENV = {
    "SKIRMISH_MATCH_FILL_SECONDS": "1",
    "SKIRMISH_MATCH_START_WAIT_SECONDS": "2",
    "SKIRMISH_ARENA_TIME_LIMIT_SECONDS": "5",
}
# Both come with the dev extra; a missing one must fail the run, never skip it.
assert all(importlib.util.find_spec(m) for m in ("locust", "websocket")), "pip install -e .[dev]"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with skirmish_server(tmp_path_factory.mktemp("locust-server"), FAST_MATCH_ENV) as live:
        yield live


def run_locust(
    server: ServerProcess, out: Path, *args: str, timeout: float = 60.0
) -> tuple[int, str, dict[str, dict[str, str]]]:
    """Exit code, output and the stats CSV rows by 'TYPE NAME' of one headless run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "SKIRMISH_LT_"))}
    env.update(HOME=str(out), PYTHONIOENCODING="utf-8")  # no ~/.locust.conf of anyone's
    argv = [
        sys.executable,
        "-m",
        "locust",
        "--locustfile",
        str(LOCUSTFILE),
        "--config",
        str(CONFIG),
        "--headless",
        "--host",
        server.url,
        "--stop-timeout",
        "0",
        "--csv",
        str(out / "run"),
        "--only-summary",
        *args,
    ]
    done = subprocess.run(
        argv, cwd=out, env=env, capture_output=True, text=True, encoding="utf-8", timeout=timeout
    )
    output = done.stdout + done.stderr
    with (out / "run_stats.csv").open(encoding="utf-8", newline="") as f:
        rows = {f"{row['Type']} {row['Name']}".strip(): row for row in csv.DictReader(f)}
    return done.returncode, output, rows


@pytest.mark.e2e
def test_players_play_real_matches_and_every_gate_passes(
    server: ServerProcess, tmp_path: Path
) -> None:
    code, output, rows = run_locust(
        server,
        tmp_path,
        *("--users", "4", "--spawn-rate", "4", "--run-time", "12s", "--processes", "2"),
        *("--ws-weight", "3", "--rest-weight", "1", "--lobby-share", "0"),
        *("--rest-wait-min", "0.2", "--rest-wait-max", "0.5"),
    )
    assert code == 0, output
    for key in ("WS connect", "WS ping→pong", "WS input→ack", "WS snapshot", "WS match"):
        assert key in rows, f"no {key} in the stats:\n{output}"
        assert int(rows[key]["Request Count"]) > 0, (key, rows[key])
        assert int(rows[key]["Failure Count"]) == 0, (key, output)
    assert int(rows["WS input→ack"]["Request Count"]) > 50
    assert int(rows["POST /v1/auth/guest"]["Request Count"]) == 4
    assert any(key.startswith("GET /v1/lobbies") for key in rows)
    assert int(rows["Aggregated"]["Failure Count"]) == 0, output
    assert "SLO ok: p99 WS input→ack" in output


@pytest.mark.e2e
def test_a_violated_p99_gate_fails_the_exit_code(server: ServerProcess, tmp_path: Path) -> None:
    # Two players gather in a lobby: lobby→started takes at least one poll (300 ms), far
    # above an impossible 1 ms; nothing else is gated, so only this gate can fail the run.
    code, output, rows = run_locust(
        server,
        tmp_path,
        *("--users", "2", "--spawn-rate", "2", "--run-time", "5s"),
        *("--rest-weight", "0", "--lobby-share", "1", "--lobby-size", "2"),
        *("--slo-p99", "MM lobby->started=1", "--slo-fail-ratios", "", "--slo-fail-ratio", "-1"),
    )
    assert code == 3, output
    assert int(rows["MM lobby→started"]["Request Count"]) > 0, output
    violations = [line for line in output.splitlines() if "SLO violated" in line]
    assert len(violations) == 1 and "p99 MM lobby→started" in violations[0], output


def test_gates_read_limits_and_judge_entries() -> None:
    limits = parse_limits("WS  ping->pong=100; WS input→ack=250,Aggregated=900")
    assert limits == {"WS ping→pong": 100.0, "WS input→ack": 250.0, "Aggregated": 900.0}
    with pytest.raises(ValueError):
        parse_limits("WS connect")
    entries = {
        "WS ping→pong": Entry(requests=10, failures=0, p99_ms=120.0),
        "WS match": Entry(requests=10, failures=1, p99_ms=5000.0),
    }
    gates = Gates(
        fail_ratio=0.5,
        fail_ratios={"WS match": 0.05, "WS error": 0.0},
        p99_ms={"WS ping→pong": 100.0, "WS input→ack": 250.0},
    )
    verdict = evaluate(entries, Entry(requests=20, failures=1, p99_ms=4000.0), gates)
    assert not verdict.ok
    assert [line.split(" (")[0] for line in verdict.violated] == [
        "fail ratio WS match 0.1000",
        "p99 WS ping→pong 120 ms",
        "p99 WS input→ack: no requests recorded",
    ]
    assert evaluate(entries, Entry(20, 1, 4000.0), Gates(fail_ratio=0.1)).ok
    assert not Gates()
