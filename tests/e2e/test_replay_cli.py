"""`skirmish replay MATCH_ID` plays a recorded match again and checks its stored result."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Iterator

import pytest

from skirmish.base.settings import Settings
from skirmish.server.replay_check import check, fetch
from tests.e2e.conftest import FAST_MATCH_ENV
from tests.support.processes import SKIRMISH, ServerProcess, skirmish_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    """A server that recorded one match the bots played to its end."""
    env = {**FAST_MATCH_ENV, "SKIRMISH_RECORD_REPLAYS": "true"}
    with skirmish_server(tmp_path_factory.mktemp("replay"), env) as server:
        done = run(SKIRMISH, "bot", "--url", server.url, "--players", "2", "--matches", "1")
        assert done.returncode == 0, done.stderr
        found = re.search(r"match (m_[0-9a-f]+) finished", done.stdout)
        assert found, done.stdout
        yield server, found.group(1)


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_a_recorded_match_replays_to_its_stored_result(recorded: tuple[ServerProcess, str]) -> None:
    server, match_id = recorded
    done = run(SKIRMISH, "replay", match_id, "--url", server.url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the outcome matches the stored result" in done.stdout


def test_a_result_the_inputs_do_not_give_is_caught(
    recorded: tuple[ServerProcess, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, match_id = recorded
    recording, result = asyncio.run(fetch(server.url, match_id))
    for name, value in FAST_MATCH_ENV.items():
        monkeypatch.setenv(name, value)  # the server's rules: its defaults are the settings'
    modes = Settings(token_secret="x" * 32).modes
    assert check(recording, result, modes) == []
    loser = next(p for p in result["players"] if p["player_id"] != result["winner"])
    forged = {
        **result,
        "players": [{**p, "kills": p["kills"] + 1} if p is loser else p for p in result["players"]],
    }
    assert check(recording, forged, modes) == [
        f"slot {loser['slot']} kills: replayed {loser['kills']}, stored {loser['kills'] + 1}"
    ]
    cut = {**recording, "inputs": recording["inputs"][: len(recording["inputs"]) // 2]}
    assert check(cut, result, modes) != []


def test_an_unknown_match_cannot_be_replayed(recorded: tuple[ServerProcess, str]) -> None:
    server, _ = recorded
    done = run(SKIRMISH, "replay", "m_0000000000000000", "--url", server.url)
    assert done.returncode == 2 and "not_found" in done.stderr
