"""The Python SDK's `LobbyRoom` against a real server (`skirmish serve`): two members of a
private lobby (the second joined by its code) see each other's ready marks pushed and each
other's chat, an announcement reaches both, and the start gives each their own seat and
ends both rooms with the server's 1000; an outsider's room is refused; a broken socket is
replaced and the keepalive's pings are answered."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest

from skirmish.sdk import LobbyClosed, LobbyRoom, RoomTiming
from skirmish.sdk.client import ApiError, SkirmishClient
from tests.support.processes import ServerProcess, skirmish_server

pytestmark = pytest.mark.e2e
Message = dict[str, Any]
ADMIN = "admin-secret-0123456789abcdef0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"SKIRMISH_ADMIN_TOKEN": ADMIN}
    with skirmish_server(tmp_path_factory.mktemp("sdk-lobby-room"), env) as process:
        yield process


@contextlib.asynccontextmanager
async def players(url: str, *names: str) -> AsyncIterator[list[SkirmishClient]]:
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(SkirmishClient(url)) for _ in names]
        for client, name in zip(clients, names, strict=True):
            await client.guest(name)
        yield clients


class Reader:
    """Reads a room in a task of its own; `until` waits for a message that passes."""

    def __init__(self, room: LobbyRoom) -> None:
        self.room = room
        self.seen: list[Message] = []
        self.queue: asyncio.Queue[Message] = asyncio.Queue()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.room:
            self.seen.append(message)
            self.queue.put_nowait(message)

    async def until(self, test: Callable[[Message], bool], what: str) -> Message:
        async with asyncio.timeout(5):
            while True:
                message = await self.queue.get()
                if test(message):
                    return message
        raise AssertionError(what)  # pragma: no cover


def event(name: str) -> Callable[[Message], bool]:
    return lambda m: m["type"] == "lobby" and m["event"] == name


def subject(token: str) -> str:
    payload = token.split(".")[1]
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sub"])


async def test_two_members_ready_chat_and_each_their_own_seat(server: ServerProcess) -> None:
    async with players(server.url, "ada", "bob", "eve") as (ada, bob, eve):
        created = await ada.create_lobby("arena", "ours", 2, private=True)
        assert created.private and created.code is not None and created.revision == 0
        async with ada.lobby_room(created) as room_a:
            a = Reader(room_a)
            await a.until(event("snapshot"), "ada's snapshot")
            joined = await bob.join_lobby_by_code(created.code.lower())
            pushed = await a.until(event("joined"), "bob's join, pushed")
            assert pushed["lobby"]["revision"] == joined.revision
            async with bob.lobby_room(joined.id) as room_b:
                b = Reader(room_b)
                assert (await b.until(event("snapshot"), "bob's"))["lobby"]["code"] == created.code

                # an outsider: not listed, refused (as if there were no such lobby)
                assert created.id not in [lobby.id for lobby in await eve.list_lobbies()]
                with pytest.raises(LobbyClosed) as refused:
                    await eve.lobby_room(created.id).connect()
                assert (refused.value.code, refused.value.outcome) == (4004, "socket_closed")
                assert refused.value.error is not None
                assert refused.value.error["code"] == "not_found"
                with pytest.raises(ApiError) as no_code:
                    await eve.join_lobby_by_code("AAAAAA" if created.code != "AAAAAA" else "BBBBBB")
                assert no_code.value.status == 404

                # ready marks, pushed both ways
                await bob.set_ready(created.id, True)
                ready = await a.until(event("ready"), "bob's ready at ada")
                assert [m["ready"] for m in ready["lobby"]["members"]] == [False, True]
                mine = await ada.set_ready(created.id, True)
                assert room_a.apply(mine) is True
                await b.until(
                    lambda m: event("ready")(m) and all(p["ready"] for p in m["lobby"]["members"]),
                    "ada's ready at bob",
                )

                # chat and an announcement
                assert await room_a.say("gl hf")
                assert await room_b.say("  <b>gg</b> ")
                with pytest.raises(ValueError):
                    await room_a.say("   ")
                for reader in (a, b):
                    lines = [
                        await reader.until(lambda m: m["type"] == "chat", "chat") for _ in "ab"
                    ]
                    assert sorted((m["name"], m["text"]) for m in lines) == [
                        ("ada", "gl hf"),
                        ("bob", "<b>gg</b>"),
                    ]
                async with httpx.AsyncClient() as http:
                    said = await http.post(
                        f"{server.url}/admin/announce",
                        json={"text": "back in 5"},
                        headers={"Authorization": f"Bearer {ADMIN}"},
                    )
                assert said.status_code == 200, said.text
                notice = await b.until(lambda m: m["type"] == "announcement", "the announcement")
                assert notice["text"] == "back in 5"

                # the start: each room ends with its member's own seat, then the 1000
                await ada.start_lobby(created.id)
                async with asyncio.timeout(5):
                    await asyncio.gather(a.task, b.task)
                seat_a, seat_b = await room_a.wait_started(), await room_b.wait_started()
                assert seat_a.match_id == seat_b.match_id
                assert ada.player is not None and bob.player is not None
                assert subject(seat_a.token) == ada.player.player_id
                assert subject(seat_b.token) == bob.player.player_id
                for room, reader in ((room_a, a), (room_b, b)):
                    assert (room.outcome, room.close_code, room.sockets) == ("started", 1000, 1)
                    assert reader.seen[-1]["event"] == "started"
                    revisions = [
                        m["lobby"]["revision"] for m in reader.seen if m["type"] == "lobby"
                    ]
                    assert revisions == sorted(revisions)
                async with await bob.connect(seat_b, open_timeout=5) as match:
                    assert match.welcome["player_id"] == bob.player.player_id


async def test_a_broken_socket_is_replaced_and_pings_are_answered(server: ServerProcess) -> None:
    async with players(server.url, "cy", "dan") as (cy, dan):
        lobby = await cy.create_lobby("arena", "pings", 2)
        timing = RoomTiming(ping_interval=0.2, pong_timeout=1.0)
        async with cy.lobby_room(lobby, timing=timing) as room:
            reader = Reader(room)
            await reader.until(event("snapshot"), "the snapshot")
            await asyncio.sleep(0.5)
            assert room.rtt_ms is not None  # the keepalive's pings came back
            assert room._ws is not None
            room._ws.transport.abort()  # as the network would
            await dan.join_lobby(lobby.id)  # while it is away, or just back
            await reader.until(
                lambda m: m["type"] == "lobby" and len(m["lobby"]["members"]) == 2, "dan, after it"
            )
            assert room.sockets == 2
            await cy.leave_lobby(lobby.id)
            async with asyncio.timeout(5):
                await reader.task
            assert room.outcome == "left"
            with pytest.raises(LobbyClosed) as no_seat:
                await room.wait_started()
            assert no_seat.value.outcome == "left"
