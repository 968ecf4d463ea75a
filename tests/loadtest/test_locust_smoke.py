"""The Locust suite (loadtest/locustfile.py) against a real server, headless, for seconds.

Locust runs in a subprocess: it monkeypatches the process with gevent on import, which the
test process must never be. Short matches (1 s fill, 2 s start wait, 5 s time limit) so a
whole match of each game mode fits in the run: the arena by its time-limit setting, ctf
(5 minutes by default) as the real mode with a 5 s time limit (`quick_ctf`, which the
server loads through SKIRMISH_MODES like any plug-in mode).
"""

from __future__ import annotations

import csv
import importlib.util
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from game.modes import CtfMode, CtfRules
from loadtest.locust_support.bots import bot_for
from loadtest.locust_support.modes import Dealer, ModeInfo, catalogue, mode_weights, parse_weights
from loadtest.locust_support.slo import (
    Entry,
    Gates,
    evaluate,
    mode_summary,
    parse_limits,
    split_mode,
)
from tests.support.processes import ServerProcess, skirmish_server

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "loadtest" / "locustfile.py"
CONFIG = ROOT / "loadtest" / "locust.conf"
MATCH_SECONDS = 5
FAST_MATCH_ENV = {
    "SKIRMISH_MATCH_FILL_SECONDS": "1",
    "SKIRMISH_MATCH_START_WAIT_SECONDS": "2",
    "SKIRMISH_ARENA_TIME_LIMIT_SECONDS": str(MATCH_SECONDS),
    "SKIRMISH_MODES": "arena,tests.loadtest.test_locust_smoke:quick_ctf",
    "PYTHONPATH": str(ROOT),  # for the server to import quick_ctf from this module
}
MODES = ("arena", "ctf")
SNAPSHOT_MS = {"arena": 1000 / 30, "ctf": 1000 / 20}  # the tick rates of GET /v1/modes
# Both come with the dev extra; a missing one must fail the run, never skip it.
assert all(importlib.util.find_spec(m) for m in ("locust", "websocket")), "pip install -e .[dev]"


def quick_ctf() -> CtfMode:
    """The real capture the flag, with a time limit that fits the smoke run."""
    return CtfMode(CtfRules(time_limit_seconds=MATCH_SECONDS))


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
def test_players_play_real_matches_of_every_mode_and_every_gate_passes(
    server: ServerProcess, tmp_path: Path
) -> None:
    # No --mode-weights: every mode GET /v1/modes lists, equally; the 4 MatchPlayers are
    # dealt 2 arena and 2 ctf. No tickets from the LobbyBrowser: one matched before its
    # cancel would take a seat in a match of ours.
    code, output, rows = run_locust(
        server,
        tmp_path,
        *("--users", "5", "--spawn-rate", "5", "--run-time", "12s", "--processes", "2"),
        *("--ws-weight", "4", "--rest-weight", "1", "--lobby-share", "0"),
        *("--rest-wait-min", "0.2", "--rest-wait-max", "0.5", "--rest-mix", "browse,host,join"),
    )
    assert code == 0, output
    for mode in MODES:
        for stat in ("MM ticket→matched", "WS connect", "WS ping→pong", "WS input→ack"):
            assert_clean(rows, f"{stat} ({mode})", output)
        # Every player of the first matches played to the result, and it closed with 1000.
        assert_clean(rows, f"WS match ({mode})", output)
        # Snapshots came at the mode's tick rate: the mean gap between two, per socket.
        snapshots = assert_clean(rows, f"WS snapshot ({mode})", output)
        gap = float(snapshots["Average Response Time"])
        assert 0.8 * SNAPSHOT_MS[mode] < gap < 1.2 * SNAPSHOT_MS[mode], (mode, gap, output)
        assert int(rows[f"WS input→ack ({mode})"]["Request Count"]) > 50, (mode, output)
        played = re.search(rf"mode {mode}: .* (\d+) played to the result, 0 ended", output)
        assert played and int(played[1]) > 0, output
    assert not [key for key in rows if key.startswith("WS error")], output
    assert int(rows["POST /v1/auth/guest"]["Request Count"]) == 5
    assert int(rows["GET /v1/modes"]["Request Count"]) >= 5
    assert any(key.startswith("GET /v1/lobbies") for key in rows)
    assert int(rows["Aggregated"]["Failure Count"]) == 0, output
    # The gates of locust.conf name no mode: they judge both modes' rows together.
    assert "SLO ok: p99 WS input→ack" in output
    assert "SLO ok: fail ratio WS match" in output


def assert_clean(rows: dict[str, dict[str, str]], key: str, output: str) -> dict[str, str]:
    """The row `key`, with requests and without failures."""
    assert key in rows, f"no {key} in the stats:\n{output}"
    assert int(rows[key]["Request Count"]) > 0, (key, rows[key])
    assert int(rows[key]["Failure Count"]) == 0, (key, output)
    return rows[key]


@pytest.mark.e2e
def test_a_violated_p99_gate_fails_the_exit_code(server: ServerProcess, tmp_path: Path) -> None:
    # Two players gather in a ctf lobby: lobby→started takes at least one poll (300 ms),
    # far above an impossible 1 ms; nothing else is gated, so only this gate can fail the
    # run. The gate names no mode: it judges the `MM lobby→started (ctf)` row.
    code, output, rows = run_locust(
        server,
        tmp_path,
        *("--users", "2", "--spawn-rate", "2", "--run-time", "5s", "--mode-weights", "ctf=1"),
        *("--rest-weight", "0", "--lobby-share", "1", "--lobby-size", "2"),
        *("--slo-p99", "MM lobby->started=1", "--slo-fail-ratios", "", "--slo-fail-ratio", "-1"),
    )
    assert code == 3, output
    assert int(rows["MM lobby→started (ctf)"]["Request Count"]) > 0, output
    assert not [key for key in rows if key.endswith("(arena)")], output
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


def test_mode_stats_are_split_by_mode_and_summed_per_mode() -> None:
    assert split_mode("WS  match (ctf)") == ("WS match", "ctf")
    assert split_mode("MM ticket->matched (arena)") == ("MM ticket→matched", "arena")
    assert split_mode("GET /v1/lobbies/[id]") is None
    lines = mode_summary(
        {
            "MM ticket→matched (ctf)": Entry(4, 0, 300.0),
            "WS connect (ctf)": Entry(4, 0, 5.0),
            "WS match (ctf)": Entry(4, 1, 9000.0),
            "WS snapshot (ctf)": Entry(400, 0, 60.0, avg_ms=50.0),
            "WS input→ack (ctf)": Entry(390, 2, 80.0),
            "WS connect": Entry(1, 0, 5.0),  # no mode: not in any mode's line
        }
    )
    assert lines == [
        "mode ctf: 4 players matched, 4 sockets, 3 played to the result, "
        "1 ended before it, 400 snapshots every 50.0 ms (20.0/s), 388 inputs acked, 0 errors"
    ]


def test_modes_are_dealt_by_their_weights() -> None:
    assert parse_weights("arena=3, ctf=1;tag, off=0") == {"arena": 3.0, "ctf": 1.0, "tag": 1.0}
    for bad in ("arena=x", "=2", "ctf=-1"):
        with pytest.raises(ValueError):
            parse_weights(bad)
    offered = catalogue({"modes": [{"name": "arena", "tick_rate": 30}, {"name": "ctf"}]})
    assert mode_weights("", "", offered) == {"arena": 1.0, "ctf": 1.0}
    assert mode_weights("", "ctf", offered) == {"ctf": 1.0}
    assert mode_weights("ctf=2", "arena", offered) == {"ctf": 2.0}
    dealer = Dealer({"arena": 3.0, "ctf": 1.0})
    dealt = [dealer.deal() for _ in range(8)]
    assert dealt.count("ctf") == 2 and dealt[:4].count("ctf") == 1, dealt
    # The second process starts one deal along: two processes of two players deal 2 + 2.
    first, second = Dealer({"arena": 1, "ctf": 1}), Dealer({"arena": 1, "ctf": 1}, skip=1)
    assert sorted([first.deal(), first.deal(), second.deal(), second.deal()]) == [
        "arena",
        "arena",
        "ctf",
        "ctf",
    ]
    ctf = ModeInfo("ctf", tick_rate=20, min_players=2, max_players=4, teams=2)
    assert [ctf.group_size(n) for n in (1, 2, 3, 4, 9)] == [2, 2, 2, 4, 4]
    assert [ctf.can_start(n) for n in (1, 2, 3, 4, 5)] == [False, True, False, True, False]


def test_ctf_bots_play_capture_the_flag_to_the_capture_limit() -> None:
    """Four ctf bots against each other in the real mode, without a server: every input
    passes the mode's checks, and they raid, tag, carry and capture to a result."""
    mode, rng, config = CtfMode(), random.Random(7), CtfMode().client_config()
    bots = [bot_for("ctf", slot, config, 20.0, rng, teams=mode.teams) for slot in range(4)]
    state, seen = mode.initial_state(4, seed=7), set()
    for tick in range(1, mode.time_limit_ticks + 1):
        inputs = [bot.act(mode.view(state, slot)) for slot, bot in enumerate(bots)]
        assert all(set(fields) == {"dx", "dy", "sprint"} for fields in inputs), inputs
        moves = [mode.parse_input({"type": "input", "seq": tick, **f}) for f in inputs]
        state = mode.step(state, moves, tick)
        seen.update(event[0] for event in state.events)
        if mode.outcome(state) is not None:
            break
    outcome = mode.outcome(state)
    assert outcome is not None and outcome.reason == "capture_limit", (state.score, seen)
    assert {"pickup", "tag", "capture"} <= seen, seen


def test_a_mode_the_suite_does_not_know_gets_inputs_its_schema_allows() -> None:
    schema = {
        "type": "object",
        "properties": {
            "dx": {"type": "number", "minimum": -1, "maximum": 1},
            "go": {"type": "boolean"},
        },
        "required": ["dx", "go"],
    }
    bot = bot_for("tag", 0, {"width": 1}, 15.0, random.Random(1), input_schema=schema)
    for _ in range(30):
        fields = bot.act({"players": [[0, 1, 2]]})  # a view the suite knows nothing of
        assert set(fields) == {"dx", "go"} and -1 <= fields["dx"] <= 1
        assert isinstance(fields["go"], bool)
