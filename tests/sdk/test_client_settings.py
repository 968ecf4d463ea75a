"""The Python SDK chooses a mode's settings for lobbies and tickets, against a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from skirmish.sdk.client import ApiError, SkirmishClient
from tests.support.processes import ServerProcess, skirmish_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with skirmish_server(tmp_path_factory.mktemp("sdk-settings")) as process:
        yield process


@pytest.mark.e2e
async def test_lobbies_and_tickets_carry_the_chosen_settings(server: ServerProcess) -> None:
    async with SkirmishClient(server.url) as host, SkirmishClient(server.url) as solo:
        await host.guest("host")
        await solo.guest("solo")
        lobby = await host.create_lobby("ctf", "flags", 4, settings={"capture_limit": 1})
        assert lobby.settings == {"capture_limit": 1, "time_limit_seconds": 300}
        changed = await host.set_lobby_settings(lobby.id, {"time_limit_seconds": 60})
        assert changed.settings == {"capture_limit": 3, "time_limit_seconds": 60}
        ticket = await solo.create_ticket("arena", {"score_limit": 5})
        assert ticket.settings["score_limit"] == 5
        with pytest.raises(ApiError) as refused:
            await host.set_lobby_settings(lobby.id, {"capture_limit": 0})
        assert (refused.value.status, refused.value.code) == (422, "invalid_settings")
        assert (await host.get_lobby(lobby.id)).settings == changed.settings
