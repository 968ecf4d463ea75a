"""The SDK's `Reconnector` against real sockets: a server that falls silent is pinged,
then left, and the inputs it never acknowledged are sent again once, in order; a frozen
network mid-match (a TCP proxy that stops passing bytes and closes nothing) costs a
real server's match no input; an expired token is refreshed; a seat taken by another
socket of the same player is not fought for."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import pytest
from websockets.asyncio.server import ServerConnection, serve

from skirmish.sdk.client import MatchAccess, MatchClosed, SkirmishClient
from skirmish.sdk.reconnect import Reconnector
from tests.cluster.test_scale_out import lobby_match
from tests.support.exactly_once import Played, assert_applied_exactly_once, play
from tests.support.freezing_proxy import FreezingProxy
from tests.support.processes import ServerProcess, skirmish_server

Message = dict[str, Any]

# -- a server that goes silent --------------------------------------------------------------


def welcome(last_seq: int) -> bytes:
    return orjson.dumps(
        {
            "type": "welcome",
            "match_id": "m_1",
            "player_id": "p_1",
            "slot": 0,
            "mode": "arena",
            "tick_rate": 30,
            "teams": 0,
            "status": "running",
            "tick": 10,
            "last_seq": last_seq,
            "players": [],
            "config": {},
        }
    )


class GoesSilent:
    """First socket: a welcome, then silence (it reads, never answers). Second socket: a
    welcome holding input 1, then whatever the client sends first, then the result."""

    def __init__(self) -> None:
        self.sockets: list[tuple[float, list[tuple[float, Message]]]] = []

    async def handler(self, ws: ServerConnection) -> None:
        received: list[tuple[float, Message]] = []
        self.sockets.append((time.monotonic(), received))
        if len(self.sockets) == 1:
            await ws.send(welcome(last_seq=0))
            async for data in ws:
                received.append((time.monotonic(), orjson.loads(data)))
            return
        await ws.send(welcome(last_seq=1))
        for _ in range(2):
            received.append((time.monotonic(), orjson.loads(await ws.recv())))
        await ws.send(orjson.dumps({"type": "snapshot", "ack": 3, "tick": 11, "online": [0]}))
        await ws.send(orjson.dumps({"type": "result", "match_id": "m_1", "winner": None}))
        await ws.close(1000)


@pytest.fixture
async def silent_server() -> AsyncIterator[tuple[str, GoesSilent]]:
    behaviour = GoesSilent()
    async with serve(behaviour.handler, "127.0.0.1", 0, subprotocols=["skirmish.v1"]) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"http://127.0.0.1:{port}", behaviour


async def test_a_silent_server_is_pinged_then_left_and_the_inputs_resent(
    silent_server: tuple[str, GoesSilent],
) -> None:
    url, server = silent_server
    async with SkirmishClient(url) as client:
        session = Reconnector(client, MatchAccess("m_1", "/ws/matches/m_1", "t"))
        async for message in session:
            if message["type"] == "welcome" and session.welcomes == 1:
                assert [await session.send_input(dx=0.0) for _ in range(3)] == [1, 2, 3]
    (opened, before), (reopened, after) = server.sockets
    kinds = [(m["type"], m.get("seq")) for _, m in before]
    assert kinds == [("input", 1), ("input", 2), ("input", 3), ("ping", None)]
    pinged = before[-1][0] - opened
    assert 0.45 < pinged < 0.8, pinged  # after 500 ms without a frame
    # Left after a second of silence; back after attempt 0's wait: 125-250 ms.
    assert 1.1 < reopened - opened < 1.6, reopened - opened
    # The welcome holds input 1: inputs 2 and 3 again, once, in order, before anything new.
    assert [m["seq"] for _, m in after] == [2, 3]
    assert session.resent == 2 and len(session.pending) == 0
    assert session.welcomes == 2 and session.result is not None


# -- a real server --------------------------------------------------------------------------

SHORT_MATCHES = {
    "SKIRMISH_MATCH_START_WAIT_SECONDS": "3",
    "SKIRMISH_ARENA_TIME_LIMIT_SECONDS": "3",
    "SKIRMISH_ARENA_SCORE_LIMIT": "50",
    "SKIRMISH_RECORD_REPLAYS": "true",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with skirmish_server(tmp_path_factory.mktemp("sdk"), SHORT_MATCHES) as process:
        yield process


@pytest.mark.e2e
async def test_a_frozen_network_costs_the_match_no_input(server: ServerProcess) -> None:
    clients, accesses = await lobby_match([server.url] * 2, ["ann", "bob"])
    played = [Played(), Played()]
    async with FreezingProxy(server.url).running() as proxy:
        frozen = SkirmishClient(proxy.url, token=clients[0].token)
        sessions = [Reconnector(frozen, accesses[0]), Reconnector(clients[1], accesses[1])]
        tasks = [asyncio.create_task(play(s, p)) for s, p in zip(sessions, played, strict=True)]
        async with asyncio.timeout(10):
            while played[0].tick < 20:  # noqa: ASYNC110 - set by the player's task
                await asyncio.sleep(0.02)
        proxy.freeze()  # its sockets so far: nothing passes, nothing closes
        frozen_at = time.monotonic()
        async with asyncio.timeout(15):
            await asyncio.gather(*tasks)
        await frozen.aclose()
    replay = await clients[0].request("GET", f"/v1/matches/{accesses[0].match_id}/replay")
    for client in clients:
        await client.aclose()
    assert [len(p.welcomes) for p in played] == [2, 1]
    resumed = played[0].welcomes[1][0] - frozen_at
    assert 1.0 < resumed < 3.0, resumed  # a second of silence, then attempt 0
    for player in played:
        assert player.session is not None and player.session.welcome is not None
        assert player.session.result is not None
        assert_applied_exactly_once(replay, player.session.welcome["slot"], player)


@pytest.mark.e2e
async def test_an_expired_token_is_refreshed_and_a_taken_seat_is_left(
    server: ServerProcess,
) -> None:
    clients, accesses = await lobby_match([server.url] * 2, ["cy", "di"])
    stale = dataclasses.replace(accesses[0], token="expired")
    first = Reconnector(clients[0], stale)
    messages = aiter(first)
    assert (await anext(messages))["type"] == "welcome"  # refused (4001), refreshed, in
    assert first.access.token != "expired"
    second = Reconnector(clients[0], accesses[0])  # the same player, another device
    taken = aiter(second)
    assert (await anext(taken))["type"] == "welcome"
    started = time.monotonic()
    with pytest.raises(MatchClosed) as closed:
        async for _ in messages:
            pass
    assert closed.value.code == 4009 and first.welcomes == 1  # not fought for
    assert time.monotonic() - started < 1.0
    await second.close()
    async for _ in taken:  # ends: closed by the player
        pass
    for client in clients:
        await client.aclose()
