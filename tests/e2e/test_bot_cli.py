"""`skirmish bot` plays whole matches against a live server."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.processes import SKIRMISH, ServerProcess

pytestmark = pytest.mark.e2e


def test_bot_command_plays_a_match(live_server: ServerProcess) -> None:
    done = subprocess.run(
        [SKIRMISH, "bot", "--url", live_server.url, "--players", "2", "--matches", "1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if " finished " in line]
    assert len(lines) == 1, done.stdout
    assert lines[0].startswith("match ")
    assert "bot-1" in lines[0] and "bot-2" in lines[0]
