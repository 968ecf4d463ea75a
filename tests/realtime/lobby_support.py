"""Players with a REST client and lobby sockets, on the in-process harness (conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from channels.testing import WebsocketCommunicator

from tests.realtime.conftest import Harness

Message = dict[str, Any]


@dataclass
class Member:
    """A signed-in guest: REST calls with their player token, and their lobby sockets."""

    http: httpx.AsyncClient
    harness: Harness
    player_id: str
    name: str
    token: str

    async def call(self, method: str, path: str, body: Any = None) -> Message:
        headers = {"Authorization": f"Bearer {self.token}"}
        resp = await self.http.request(method, path, json=body, headers=headers)
        assert resp.status_code < 300, (resp.status_code, resp.text)
        answer: Message = resp.json()
        return answer

    async def lobby(
        self, name: str = "room", max_players: int = 4, private: bool = False
    ) -> Message:
        body = {"mode": "arena", "name": name, "max_players": max_players, "private": private}
        return await self.call("POST", "/v1/lobbies", body)

    def socket(
        self,
        lobby_id: str,
        token: str | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> WebsocketCommunicator:
        offered = ["skirmish.v1", f"token.{self.token if token is None else token}"]
        return WebsocketCommunicator(
            self.harness.app, f"/ws/lobbies/{lobby_id}", subprotocols=offered, headers=headers
        )

    async def connect(self, lobby_id: str) -> tuple[WebsocketCommunicator, Message]:
        """A lobby socket and its first frame, the snapshot."""
        ws = self.socket(lobby_id)
        connected, subprotocol = await ws.connect()
        assert connected and subprotocol == "skirmish.v1"
        first = await frame(ws)
        assert first["type"] == "lobby" and first["event"] == "snapshot", first
        return ws, first


@asynccontextmanager
async def rest(harness: Harness) -> AsyncIterator[Callable[..., Any]]:
    """`await guest(name)` signs in a `Member` through the harness's own app."""
    transport = httpx.ASGITransport(app=harness.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pod") as http:

        async def guest(name: str) -> Member:
            resp = await http.post("/v1/auth/guest", json={"name": name})
            assert resp.status_code == 201, resp.text
            body = resp.json()
            return Member(http, harness, body["player_id"], body["name"], body["token"])

        yield guest


async def frame(ws: WebsocketCommunicator, timeout: float = 2.0) -> Message:
    """The next frame, decoded (the server sends binary frames only)."""
    out = await ws.receive_output(timeout)
    assert out["type"] == "websocket.send", out
    assert isinstance(out.get("bytes"), bytes), out
    message: Message = orjson.loads(out["bytes"])
    return message


async def closed_with(ws: WebsocketCommunicator, timeout: float = 2.0) -> tuple[list[Message], int]:
    """The frames until the server closes, and its close code."""
    frames = []
    for _ in range(1000):
        out = await ws.receive_output(timeout)
        if out["type"] == "websocket.close":
            return frames, int(out.get("code", 1000))
        frames.append(orjson.loads(out["bytes"]))
    raise AssertionError("the server never closed")
