"""The SDK's `LobbyRoom` against scripted lobby sockets (a `websockets` server playing the
server's part): a socket that falls silent past the keepalive's pong is dropped and
replaced, an older lobby after the reconnect is skipped, and the start ends the room;
a 4001 is final (the player must sign in again)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from websockets.asyncio.server import ServerConnection, serve

from skirmish.sdk import LobbyClosed, LobbyRoom, RoomTiming
from skirmish.sdk.client import SkirmishClient
from skirmish.sdk.reconnect import Timing

Message = dict[str, Any]
Handler = Callable[[ServerConnection, int], Awaitable[None]]
ACCESS = {"match_id": "m_1", "ws_path": "/ws/matches/m_1", "token": "mt", "expires_at": "x"}


def lobby(revision: int, **fields: Any) -> Message:
    return {
        "id": "l_1",
        "name": "friday",
        "mode": "arena",
        "settings": {},
        "host_id": "p_1",
        "max_players": 2,
        "status": "open",
        "members": [{"player_id": "p_1", "name": "ada", "ready": False}],
        "created_at": "2026-01-01T00:00:00Z",
        "match": None,
        "private": False,
        "code": None,
        "revision": revision,
        **fields,
    }


def push(event: str, body: Message) -> bytes:
    return orjson.dumps({"type": "lobby", "event": event, "lobby": body})


class Script:
    """Socket n (from 0) is served by handlers[n]; what each received is kept."""

    def __init__(self, *handlers: Handler) -> None:
        self.handlers = handlers
        self.received: list[list[Message]] = []
        self.paths: list[str] = []
        self.protocols: list[str | None] = []

    async def __call__(self, ws: ServerConnection) -> None:
        n = len(self.received)
        self.received.append([])
        assert ws.request is not None
        self.paths.append(ws.request.path)
        self.protocols.append(ws.request.headers.get("Sec-WebSocket-Protocol"))
        await self.handlers[n](ws, n)

    async def read(self, ws: ServerConnection, n: int) -> None:
        async for data in ws:
            self.received[n].append(orjson.loads(data))


@contextlib.asynccontextmanager
async def served(script: Script) -> AsyncIterator[str]:
    async with serve(script, "127.0.0.1", 0, subprotocols=["skirmish.v1"]) as server:  # type: ignore[list-item]
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"http://127.0.0.1:{port}"


FAST = RoomTiming(
    ping_interval=0.15, pong_timeout=0.25, policy=Timing(first_delay=0.05, give_up=3.0)
)


async def test_silence_drops_the_socket_the_next_one_resumes_and_the_start_ends_it() -> None:
    async def silent(ws: ServerConnection, n: int) -> None:  # a snapshot, then nothing
        await ws.send(push("snapshot", lobby(2)))
        await script.read(ws, n)

    async def second(ws: ServerConnection, n: int) -> None:
        await ws.send(push("snapshot", lobby(1)))  # another server's older view: skipped
        await ws.send(push("ready", lobby(3, name="three")))
        await ws.send(push("started", lobby(4, status="started", match=ACCESS)))
        await ws.close(1000)

    script = Script(silent, second)
    async with served(script) as url, SkirmishClient(url, token="pt-ada") as client:
        room = LobbyRoom(client, "l_1", timing=FAST, rng=random.Random(1))
        seen = []
        async with asyncio.timeout(5), room:
            async for message in room:
                seen.append((message["event"], message["lobby"]["revision"]))
        assert seen == [("snapshot", 2), ("ready", 3), ("started", 4)]
        assert room.sockets == 2 and room.stale == 1
        assert (room.outcome, room.close_code) == ("started", 1000)
        assert room.match is not None and room.match.token == "mt"
        assert await room.wait_started() == room.match
    assert script.paths == ["/ws/lobbies/l_1"] * 2
    assert script.protocols == ["skirmish.v1, token.pt-ada"] * 2
    pings = [m for m in script.received[0] if m["type"] == "ping"]
    assert 1 <= len(pings) <= 3  # every 0.15 s until the 0.4 s of silence ran out


@pytest.mark.parametrize("code", [4001, 4003, 4029])
async def test_a_refusal_before_any_snapshot_is_final(code: int) -> None:
    async def refuse(ws: ServerConnection, n: int) -> None:
        await ws.send(orjson.dumps({"type": "error", "code": "no", "message": "no"}))
        await ws.close(code)

    script = Script(refuse, refuse)
    async with served(script) as url, SkirmishClient(url, token="pt-ada") as client:
        room = LobbyRoom(client, "l_1", timing=FAST)
        with pytest.raises(LobbyClosed) as refused:
            await room.connect()
        assert (refused.value.code, refused.value.outcome) == (code, "socket_closed")
        assert refused.value.error == {"type": "error", "code": "no", "message": "no"}
    assert len(script.received) == 1
