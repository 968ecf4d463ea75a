"""A studio's game mode, in a package of its own (examples/tag), offered by configuration
alone: listed, matched, played to a result by bots and rated, no product file changed."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from skirmish.sdk.bot import run_bots
from tests.e2e.conftest import FAST_MATCH_ENV
from tests.support.processes import skirmish_server

pytestmark = pytest.mark.e2e


async def test_a_mode_from_an_installed_package_is_offered_played_and_rated(
    tmp_path: Path,
) -> None:
    env = {**FAST_MATCH_ENV, "SKIRMISH_MODES": "arena,tag"}
    with skirmish_server(tmp_path, env) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            modes = (await http.get("/v1/modes")).json()["modes"]
        assert [m["name"] for m in modes] == ["arena", "tag"]
        tag = modes[1]
        assert tag["tick_rate"] == 30 and tag["input_schema"]["required"] == ["dx", "dy"]
        ((result,), (same,)) = await run_bots(server.url, 2, mode="tag", matches=1, seed=7)
    assert result == same and result["reason"] == "time_limit"
    assert result["tick"] == 20 * 30  # the whole round was played
    players = result["players"]
    assert sorted(p["name"] for p in players) == ["bot-1", "bot-2"]
    winner = next(p for p in players if p["player_id"] == result["winner"])
    assert winner["rating_after"] > winner["rating_before"]  # rated, per mode


def test_a_misnamed_mode_stops_the_server_with_a_message(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="exited with 2"),
        skirmish_server(tmp_path, {"SKIRMISH_MODES": "arena,chess"}),
    ):
        pass
    log = next(tmp_path.rglob("*.log")).read_text()
    assert "chess: no such mode" in log
