"""200 spectators of one match spread over two real pods sharing a private redis-server:
the owner's pod sends the other pod one batch per tick, however many watch there, and
every spectator on either pod gets the delayed spectator view."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from skirmish.base.tokens import TokenService
from tests.support.cluster import ClusterFactory

pytestmark = pytest.mark.e2e
Message = dict[str, Any]
PER_POD = 100
WINDOW = 3.0  # seconds over which the layer's traffic is counted
TICK_RATE = 30


async def receive(ws: ClientConnection, timeout: float = 10.0) -> Message:
    message: Message = orjson.loads(await asyncio.wait_for(ws.recv(), timeout))
    return message


async def until(ws: ClientConnection, kind: str) -> Message:
    for _ in range(400):
        message = await receive(ws)
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} came")


def ws_url(pod: str, path: str) -> str:
    return pod.replace("http://", "ws://") + path


async def metric(http: httpx.AsyncClient, pod: str, name: str) -> float:
    text = (await http.get(pod + "/metrics")).text
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def start_match(http: httpx.AsyncClient, pod: str) -> tuple[str, list[str]]:
    """Two signed-in players start a lobby match on `pod`; their match tokens."""
    tokens, access = [], []
    for name in ("ada", "bob"):
        body = (await http.post(pod + "/v1/auth/guest", json={"name": name})).json()
        tokens.append(body["token"])
    auth = [{"Authorization": f"Bearer {t}"} for t in tokens]
    lobby = {"mode": "arena", "name": "watched", "max_players": 2,
             "settings": {"time_limit_seconds": 60}}  # fmt: skip
    made = (await http.post(pod + "/v1/lobbies", json=lobby, headers=auth[0])).json()
    await http.post(pod + f"/v1/lobbies/{made['id']}/join", headers=auth[1])
    for header in auth:
        await http.post(pod + f"/v1/lobbies/{made['id']}/ready", json={"ready": True},
                        headers=header)  # fmt: skip
    await http.post(pod + f"/v1/lobbies/{made['id']}/start", headers=auth[0])
    for header in auth:
        got = (await http.get(pod + f"/v1/lobbies/{made['id']}", headers=header)).json()
        access.append(got["match"]["token"])
    return got["match"]["match_id"], access


class Watcher:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ticks: list[int] = []
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            message = orjson.loads(raw)
            if message["type"] == "snapshot":
                self.ticks.append(message["tick"])


async def watch(pod: str, match_id: str, tokens: TokenService, n: int) -> Watcher:
    token = tokens.issue_spectate(f"p_watcher{n}", match_id).token
    ws = await connect(ws_url(pod, f"/ws/matches/{match_id}/spectate"),
                       subprotocols=["skirmish.v1", f"token.{token}"])  # type: ignore[list-item]  # fmt: skip
    welcome = await receive(ws)
    assert welcome["type"] == "spectating" and welcome["delay_ms"] == 2000, welcome
    return Watcher(ws)


async def scenario(pods: dict[str, str], secret: str) -> None:
    one, two = pods["pod-1"], pods["pod-2"]
    tokens = TokenService(secret)
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        match_id, seats = await start_match(http, one)
        players = []
        for token in seats:  # both players on pod 1: it owns the match
            ws = await connect(ws_url(one, f"/ws/matches/{match_id}"),
                               subprotocols=["skirmish.v1", f"token.{token}"])  # type: ignore[list-item]  # fmt: skip
            players.append(ws)
        await until(players[0], "start")
        readers = [Watcher(ws) for ws in players]  # read on: an unread socket cannot close
        watchers = list(
            await asyncio.gather(
                *(watch(one if n % 2 else two, match_id, tokens, n) for n in range(2 * PER_POD))
            )
        )
        await wait_for_views(watchers)
        before = {pod: await metric(http, pod, "skirmish_relay_batches_sent_total")
                  for pod in (one, two)}  # fmt: skip
        entries = await metric(http, one, "skirmish_relay_entries_sent_total")
        started = time.monotonic()
        await asyncio.sleep(WINDOW)
        elapsed = time.monotonic() - started
        ticks = elapsed * TICK_RATE
        for pod in (one, two):  # one batch per tick to the one peer, and a little slack
            sent = await metric(http, pod, "skirmish_relay_batches_sent_total") - before[pod]
            assert sent <= ticks + 3, (pod, sent, ticks)
        # The owner's entries for pod 2: one view per beat (10 a second) and the odd count,
        # not one per spectator (100 there: 1,000 a second).
        relayed = await metric(http, one, "skirmish_relay_entries_sent_total") - entries
        assert relayed <= elapsed * 10 + 5, relayed
        # Every spectator, on either pod, got every view, every 3 ticks, from its first to
        # the latest (once this busy client has read what its sockets hold).
        last = max(w.ticks[-1] for w in watchers)
        await wait_for_views(watchers, until_tick=last)
        for watcher in watchers:
            got = watcher.ticks
            assert got[-1] - got[0] >= elapsed * TICK_RATE - 6, got
            assert all(b - a == 3 for a, b in itertools.pairwise(got)), got
        await asyncio.gather(*(w.ws.close() for w in watchers + readers))


async def wait_for_views(watchers: list[Watcher], until_tick: int = 0) -> None:
    """Until every watcher has a view (of `until_tick` or later)."""
    deadline = time.monotonic() + 10
    while behind := [w for w in watchers if not w.ticks or w.ticks[-1] < until_tick]:
        assert time.monotonic() < deadline, len(behind)
        await asyncio.sleep(0.1)


def test_two_hundred_spectators_over_two_pods_cost_one_batch_per_tick(
    cluster_factory: ClusterFactory,
) -> None:
    cluster = cluster_factory(pods=2)
    try:
        asyncio.run(scenario(cluster.pods, cluster.token_secret))
    except BaseException as exc:
        raise AssertionError(cluster.logs()) from exc
