"""A match plays the settings it was made with, whichever pod hosts it."""

from __future__ import annotations

from tests.realtime.conftest import Harness, close_code


async def test_the_match_plays_with_its_settings(harness: Harness) -> None:
    match = await harness.new_match(settings={"score_limit": 2, "time_limit_seconds": 4})
    ws, welcome = await harness.join(match, slot=0)
    assert welcome["config"]["score_limit"] == 2
    assert welcome["config"]["time_limit_ticks"] == 4 * 30
    await ws.disconnect()


async def test_settings_this_server_cannot_play_are_refused(harness: Harness) -> None:
    """Chosen on a pod whose mode took other settings (another version): never half-played."""
    match = await harness.new_match(settings={"score_limit": 2, "lives": 3})
    ws = harness.communicator(match.id, harness.token(match, 0))
    await ws.connect()
    assert await close_code(ws) == 4004
