"""Lobby rooms across two real pods (uvicorn processes) sharing a private redis-server: the
members' sockets sit on different pods, and every change, chat line and announcement
reaches both; the start gives each member their own match token; a private lobby is
reachable by its code only."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import orjson
import pytest
from redis import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.cluster import ClusterFactory

pytestmark = pytest.mark.e2e
Message = dict[str, Any]
ADMIN = "admin-secret-0123456789abcdef0123456789"


class Player:
    def __init__(self, http: httpx.AsyncClient, pod: str) -> None:
        self.http, self.pod = http, pod
        self.token = self.player_id = ""

    async def sign_in(self, name: str) -> Player:
        body = await self.call("POST", "/v1/auth/guest", {"name": name}, status=201)
        self.token, self.player_id = body["token"], body["player_id"]
        return self

    async def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        resp = await self.http.request(method, self.pod + path, json=body, headers=headers)
        assert resp.status_code == status, (method, path, resp.status_code, resp.text)
        return resp.json()

    def socket(self, lobby_id: str) -> Any:
        url = self.pod.replace("http://", "ws://") + f"/ws/lobbies/{lobby_id}"
        return connect(url, subprotocols=["skirmish.v1", f"token.{self.token}"])  # type: ignore[list-item]


async def receive(ws: ClientConnection, timeout: float = 5.0) -> Message:
    message: Message = orjson.loads(await asyncio.wait_for(ws.recv(), timeout))
    return message


async def until(ws: ClientConnection, kind: str, event: str | None = None) -> Message:
    """The next message of this type (and lobby event), skipping others."""
    for _ in range(20):
        message = await receive(ws)
        if message["type"] == kind and (event is None or message.get("event") == event):
            return message
    raise AssertionError(f"no {kind} {event or ''} came")


def claims(token: str) -> Message:
    payload = token.split(".")[1]
    decoded: Message = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


async def scenario(pods: dict[str, str], redis_url: str) -> None:
    one, two = pods["pod-1"], pods["pod-2"]
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        ada = await Player(http, one).sign_in("ada")
        bob = await Player(http, two).sign_in("bob")
        eve = await Player(http, two).sign_in("eve")
        body = {"mode": "arena", "name": "secret", "max_players": 2, "private": True}
        lobby = await ada.call("POST", "/v1/lobbies", body, status=201)
        lobby_id, code = lobby["id"], lobby["code"]
        # Reachable by its code only, on any pod.
        assert lobby_id not in [
            lb["id"] for lb in (await eve.call("GET", "/v1/lobbies"))["lobbies"]
        ]
        await eve.call("GET", f"/v1/lobbies/{lobby_id}", status=404)
        await eve.call("POST", f"/v1/lobbies/{lobby_id}/join", status=404)
        async with eve.socket(lobby_id) as refused:
            assert (await receive(refused))["code"] == "not_found"
            with pytest.raises(ConnectionClosed) as closed:
                await receive(refused)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4004
        async with ada.socket(lobby_id) as a:
            assert a.response is not None and a.response.headers["x-skirmish-pod"] == "pod-1"
            assert (await receive(a))["event"] == "snapshot"
            joined = await bob.call("POST", "/v1/lobbies/join", {"code": code.lower()})
            assert (await until(a, "lobby", "joined"))["lobby"]["revision"] == joined["revision"]
            async with bob.socket(lobby_id) as b, bob.socket(lobby_id) as b2:
                assert b.response is not None and b.response.headers["x-skirmish-pod"] == "pod-2"
                for ws in (b, b2):
                    assert (await receive(ws))["lobby"]["code"] == code
                with Redis.from_url(redis_url) as redis:  # one membership per pod
                    assert redis.zcard(f"skirmish:group:lobby.{lobby_id}") == 2
                await play(ada, bob, a, b, lobby_id)
                seen = []  # bob's other socket got it all too, then the close
                with pytest.raises(ConnectionClosed) as done:
                    while True:
                        seen.append(await receive(b2))
                assert done.value.rcvd is not None and done.value.rcvd.code == 1000
                kinds = [m.get("event", m["type"]) for m in seen]
                assert kinds[-4:] == ["announcement", "chat", "chat", "started"]
        await eve.call("POST", "/v1/lobbies/join", {"code": code}, status=404)  # started: gone


async def play(
    ada: Player, bob: Player, a: ClientConnection, b: ClientConnection, lobby_id: str
) -> None:
    """Ready marks and chat both ways across the pods, then the start."""
    await bob.call("POST", f"/v1/lobbies/{lobby_id}/ready", {"ready": True})
    ready = await until(a, "lobby", "ready")
    assert [m["ready"] for m in ready["lobby"]["members"]] == [False, True]
    await ada.call("POST", f"/v1/lobbies/{lobby_id}/ready", {"ready": True})
    for ws in (a, b):
        ready = await until(ws, "lobby", "ready")
        if all(m["ready"] for m in ready["lobby"]["members"]):
            continue
        assert all(m["ready"] for m in (await until(ws, "lobby", "ready"))["lobby"]["members"])
    await announce(ada.http, ada.pod, "from the operators")  # one pod's admin route: all
    for ws in (a, b):
        assert (await until(ws, "announcement"))["text"] == "from the operators"
    await a.send(orjson.dumps({"type": "chat", "text": "from pod one"}).decode())
    await b.send(orjson.dumps({"type": "chat", "text": "from pod two"}).decode())
    for ws in (a, b):
        lines = {(m["name"], m["text"]) for m in [await until(ws, "chat"), await until(ws, "chat")]}
        assert lines == {("ada", "from pod one"), ("bob", "from pod two")}
    await ada.call("POST", f"/v1/lobbies/{lobby_id}/start")
    tokens = []
    for player, ws in ((ada, a), (bob, b)):
        started = await until(ws, "lobby", "started")
        seat = claims(started["lobby"]["match"]["token"])
        assert seat["sub"] == player.player_id and seat["mid"] == "m_" + lobby_id[2:]
        tokens.append(started["lobby"]["match"]["token"])
    assert tokens[0] != tokens[1]  # each member's own


async def announce(http: httpx.AsyncClient, pod: str, text: str) -> None:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    resp = await http.post(pod + "/admin/announce", json={"text": text}, headers=headers)
    assert resp.status_code == 200, resp.text


def test_a_private_lobby_across_two_pods(cluster_factory: ClusterFactory) -> None:
    cluster = cluster_factory(pods=2, env={"SKIRMISH_ADMIN_TOKEN": ADMIN})
    assert cluster.redis_url is not None
    try:
        asyncio.run(scenario(cluster.pods, cluster.redis_url))
    except BaseException as exc:
        raise AssertionError(cluster.logs()) from exc
