"""Chat in a match through the SDK, against a real server (`skirmish serve`): a player's
line over `Reconnector.chat` reaches the other player's `MatchConnection` as the server
says it, and a line that cannot be sent is refused before it leaves."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from skirmish.sdk import Reconnector
from skirmish.sdk.connection import chat_message
from tests.sdk.test_spectator import SHORT, guests
from tests.support.processes import ServerProcess, skirmish_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with skirmish_server(tmp_path_factory.mktemp("sdk-chat")) as process:
        yield process


async def test_players_chat_in_their_match(server: ServerProcess) -> None:
    async with guests(server.url, "ann", "bob") as (ann, bob):
        lobby = await ann.create_lobby("arena", "chatty", 2, SHORT)
        await bob.join_lobby(lobby.id)
        for client in (ann, bob):
            await client.set_ready(lobby.id, True)
        await ann.start_lobby(lobby.id)
        access = await bob.wait_lobby_started(lobby.id, poll=0.1, timeout=5)
        ours = await ann.wait_lobby_started(lobby.id, poll=0.1, timeout=5)
        async with Reconnector(ann, ours) as player, await bob.connect(access) as other:
            with pytest.raises(ValueError):
                await player.chat("   ")
            with pytest.raises(ValueError):
                await player.chat("x" * 201)
            assert not await player.chat("before any socket")  # nothing kept for later
            await anext(aiter(player))  # the welcome: a socket is up
            assert await player.chat("  <b>gl hf</b> ")
            async with asyncio.timeout(5):
                line = await until_chat(other)
            assert (line["text"], line["name"], line["team"]) == ("<b>gl hf</b>", "ann", False)
            await other.chat("ty")
            heard = []
            async with asyncio.timeout(5):
                while len(heard) < 2:
                    message = await anext(aiter(player))
                    if message["type"] == "chat":
                        heard.append((message["name"], message["text"]))
            assert heard == [("ann", "<b>gl hf</b>"), ("bob", "ty")]  # its own line too


async def until_chat(conn: object) -> dict[str, object]:
    while True:
        message = await conn.recv()  # type: ignore[attr-defined]
        if message["type"] == "chat":
            return message  # type: ignore[no-any-return]


def test_a_chat_line_is_checked_before_it_is_sent() -> None:
    assert chat_message(" hi ") == {"type": "chat", "text": "hi"}
    assert chat_message("hi", team=True) == {"type": "chat", "text": "hi", "team": True}
    with pytest.raises(ValueError):
        chat_message("")
