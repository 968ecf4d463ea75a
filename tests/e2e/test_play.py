"""Whole matches over real sockets: matchmaking, lobbies, reconnects and hostile input."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from skirmish.sdk.bot import Brain
from skirmish.sdk.client import MatchAccess, MatchClosed, MatchConnection, SkirmishClient
from tests.support.processes import ServerProcess

pytestmark = pytest.mark.e2e

MakeClient = Callable[[str], Awaitable[SkirmishClient]]
CONFIG_KEYS = {
    "width",
    "height",
    "speed",
    "player_radius",
    "max_hp",
    "projectile_speed",
    "projectile_ttl_ticks",
    "fire_cooldown_ticks",
    "respawn_ticks",
    "score_limit",
    "time_limit_ticks",
}
RESULT_PLAYER_KEYS = {
    "player_id",
    "name",
    "slot",
    "score",
    "kills",
    "deaths",
    "shots",
    "hits",
    "rating_before",
    "rating_after",
}


@pytest.fixture
async def make_client(live_server: ServerProcess) -> AsyncIterator[MakeClient]:
    """A factory of guest clients, all closed at the end."""
    clients: list[SkirmishClient] = []

    async def make(name: str) -> SkirmishClient:
        client = SkirmishClient(live_server.url)
        clients.append(client)
        await client.guest(name)
        return client

    yield make
    for client in clients:
        await client.aclose()


def pid(client: SkirmishClient) -> str:
    assert client.player is not None
    return client.player.player_id


async def matched_pair(
    make_client: MakeClient, names: tuple[str, str]
) -> tuple[SkirmishClient, SkirmishClient, MatchAccess, MatchAccess]:
    a, b = await make_client(names[0]), await make_client(names[1])
    access_a, access_b = await asyncio.gather(a.queue(timeout=10), b.queue(timeout=10))
    assert access_a.match_id == access_b.match_id
    assert access_a.ws_path == f"/ws/matches/{access_a.match_id}"
    assert access_a.token != access_b.token
    return a, b, access_a, access_b


def check_welcome(conn: MatchConnection, client: SkirmishClient, access: MatchAccess) -> None:
    welcome = conn.welcome
    assert welcome["type"] == "welcome"
    assert welcome["match_id"] == access.match_id
    assert welcome["player_id"] == pid(client)
    assert welcome["mode"] == "arena"
    assert welcome["tick_rate"] == 30
    assert welcome["status"] in ("waiting", "running")
    assert isinstance(welcome["tick"], int)
    assert welcome["last_seq"] == 0
    mine = [p for p in welcome["players"] if p["player_id"] == pid(client)]
    assert mine == [{"slot": welcome["slot"], "player_id": pid(client), "name": client.player.name}]
    assert set(welcome["config"]) >= CONFIG_KEYS
    assert welcome["config"]["score_limit"] == 3


@dataclass
class Stats:
    """What one player saw of a match."""

    snapshots: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    pings: list[float] = field(default_factory=list)
    pongs: list[dict[str, Any]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def rate(self, since: float, until: float) -> float:
        """Snapshots per second received in [since, until]."""
        count = sum(1 for at, _ in self.snapshots if since <= at <= until)
        return count / (until - since)


def check_snapshot(message: dict[str, Any], conn: MatchConnection, stats: Stats) -> None:
    assert isinstance(message["tick"], int)
    assert isinstance(message["ack"], int)
    assert 0 <= message["ack"] <= conn.last_seq
    assert isinstance(message["left"], int)
    if stats.snapshots:
        previous = stats.snapshots[-1][1]
        assert message["tick"] > previous["tick"]
        assert message["ack"] >= previous["ack"]
        assert message["left"] <= previous["left"]
    assert set(message["online"]) <= {p[0] for p in message["players"]}
    for player in message["players"]:
        assert len(player) == 7
        assert all(isinstance(v, int | float) and math.isfinite(v) for v in player)
    for shot in message["shots"]:
        assert len(shot) == 6
    for event in message.get("events", []):
        assert event[0] in ("hit", "kill", "respawn")


async def play(
    conn: MatchConnection,
    stats: Stats | None = None,
    ping_every: float = 0.5,
    seed: int = 1,
    fire: bool = True,
) -> Stats:
    """Play like a bot (and ping now and then) until the socket closes."""
    stats = stats or Stats()
    brain = Brain.from_welcome(conn.welcome, random.Random(seed))
    last_ping = 0.0
    async for message in conn:
        stats.kinds.append(message["type"])
        if message["type"] == "pong":
            stats.pongs.append(message)
        elif message["type"] == "error":
            stats.errors.append(message)
        if message["type"] != "snapshot" or conn.result is not None:
            continue
        check_snapshot(message, conn, stats)
        stats.snapshots.append((time.monotonic(), message))
        move = brain.decide(message)
        with contextlib.suppress(MatchClosed):  # the match may end (and close) meanwhile
            await conn.send_input(**{**move, "fire": move["fire"] and fire})
            if time.monotonic() - last_ping >= ping_every:
                last_ping = time.monotonic()
                stats.pings.append(await conn.ping())
    return stats


def check_played(conn: MatchConnection, stats: Stats, from_start: bool = True) -> None:
    assert conn.close_code == 1000
    assert stats.errors == []
    assert ("start" in stats.kinds) is from_start
    assert stats.kinds[-1] == "result"
    assert len(stats.snapshots) >= 30  # a second or more at 30 Hz
    assert stats.snapshots[-1][1]["ack"] > 0
    assert stats.pongs, "no pong"
    for pong in stats.pongs:
        assert pong["t"] in stats.pings
        assert isinstance(pong["tick"], int)


def check_result(result: dict[str, Any] | None, match_id: str, players: set[str]) -> None:
    assert result is not None
    assert result["match_id"] == match_id
    assert result["reason"] in ("score_limit", "time_limit")
    assert {p["player_id"] for p in result["players"]} == players
    for player in result["players"]:
        assert set(player) >= RESULT_PLAYER_KEYS
    best = max(p["score"] for p in result["players"])
    leaders = [p["player_id"] for p in result["players"] if p["score"] == best]
    if result["winner"] is None:
        assert len(leaders) > 1
    else:
        assert leaders == [result["winner"]]
    if result["reason"] == "score_limit":
        assert best == 3


def without_type(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k != "type"}


async def play_both(
    a: SkirmishClient,
    b: SkirmishClient,
    access_a: MatchAccess,
    access_b: MatchAccess,
) -> None:
    """Connect both players, play to the end and check everything they saw."""
    conn_a, conn_b = await asyncio.gather(a.connect(access_a), b.connect(access_b))
    check_welcome(conn_a, a, access_a)
    check_welcome(conn_b, b, access_b)
    assert {conn_a.slot, conn_b.slot} == {0, 1}
    async with asyncio.timeout(20):
        stats_a, stats_b = await asyncio.gather(play(conn_a, seed=1), play(conn_b, seed=2))
    check_played(conn_a, stats_a)
    check_played(conn_b, stats_b)
    assert conn_a.result == conn_b.result
    match_id = access_a.match_id
    check_result(conn_a.result, match_id, {pid(a), pid(b)})
    match = await b.get_match(match_id)
    assert match.status == "finished"
    assert match.result is not None
    assert without_type(match.result) == without_type(conn_a.result)


async def test_matchmaking_match_is_played_to_the_end(make_client: MakeClient) -> None:
    a, b, access_a, access_b = await matched_pair(make_client, ("ada", "bob"))
    match = await a.get_match(access_a.match_id)
    assert match.status in ("waiting", "running")
    assert match.mode == "arena"
    assert {p["player_id"] for p in match.players} == {pid(a), pid(b)}
    await play_both(a, b, access_a, access_b)


async def test_lobby_match_is_played_to_the_end(make_client: MakeClient) -> None:
    host, guest = await make_client("host"), await make_client("guest")
    lobby = await host.create_lobby("arena", "e2e lobby", 2)
    assert lobby.host_id == pid(host)
    assert [m.player_id for m in lobby.members] == [pid(host)]
    assert lobby.status == "open"
    assert lobby.id in [item.id for item in await guest.list_lobbies()]
    joined = await guest.join_lobby(lobby.id)
    assert {m.player_id for m in joined.members} == {pid(host), pid(guest)}
    await host.set_ready(lobby.id, True)
    ready = await guest.set_ready(lobby.id, True)
    assert all(m.ready for m in ready.members)
    started = await host.start_lobby(lobby.id)
    assert started.status == "started"
    assert started.match is not None
    access_guest = await guest.wait_lobby_started(lobby.id, timeout=5)
    assert access_guest.match_id == started.match.match_id
    assert lobby.id not in [item.id for item in await guest.list_lobbies()]
    await play_both(host, guest, started.match, access_guest)


async def test_the_sdk_lists_every_lobby_across_pages(make_client: MakeClient) -> None:
    hosts = [await make_client(f"host{n}") for n in range(3)]
    made = [(await host.create_lobby("arena", f"paged {n}", 2)).id for n, host in enumerate(hosts)]
    listed = [lobby.id for lobby in await hosts[0].list_lobbies(page_size=1)]
    assert [lobby_id for lobby_id in listed if lobby_id in made] == made  # in order, none lost


async def next_snapshot(conn: MatchConnection, within: float = 2.0) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            message = await conn.recv()
            if message["type"] == "snapshot":
                return message


async def until_ack(conn: MatchConnection, seq: int, within: float = 2.0) -> dict[str, Any]:
    """Snapshots until one acknowledges `seq`; returns it."""
    async with asyncio.timeout(within):
        while (snapshot := await next_snapshot(conn))["ack"] < seq:
            pass
    return snapshot


async def until(predicate: Callable[[], bool], within: float = 2.0) -> None:
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - the state comes from another task's socket
            await asyncio.sleep(0.02)


def online(stats: Stats, slot: int) -> int:
    """1 if the latest snapshot shows `slot`'s player connected, else 0."""
    return int(slot in stats.snapshots[-1][1]["online"])


async def test_dropped_player_reconnects_and_resumes(make_client: MakeClient) -> None:
    a, b, access_a, access_b = await matched_pair(make_client, ("ada", "bob"))
    conn_a, conn_b = await asyncio.gather(a.connect(access_a), b.connect(access_b))
    stats_b = Stats()
    task_b = asyncio.create_task(play(conn_b, stats_b, seed=2, fire=False))  # a still target
    slot = conn_a.slot
    for _ in range(10):
        await next_snapshot(conn_a, within=5)
        await conn_a.send_input(dx=1.0, dy=0.0, aim=0.5, fire=False)
    before = await until_ack(conn_a, 10)
    await until(lambda: bool(stats_b.snapshots) and online(stats_b, slot) == 1)

    conn_a.ws.transport.abort()  # the network goes away, no close frame
    await until(lambda: online(stats_b, slot) == 0)
    assert conn_b.close_code is None

    again = await a.connect(access_a)
    assert again.welcome["slot"] == slot
    assert again.welcome["last_seq"] == 10
    assert again.welcome["status"] == "running"
    assert again.welcome["tick"] >= before["tick"]
    snapshot = await next_snapshot(again)
    assert snapshot["tick"] > before["tick"]
    assert snapshot["ack"] == 10
    assert await again.send_input(dx=0.0, dy=1.0, aim=0.0, fire=False) == 11
    await until_ack(again, 11)
    await until(lambda: online(stats_b, slot) == 1)

    # The same player on a second socket replaces the first one (4009).
    third = await a.connect(access_a)
    assert third.welcome["last_seq"] == 11
    with pytest.raises(MatchClosed) as closed:
        await next_snapshot(again)
    assert closed.value.code == 4009
    assert again.close_code == 4009

    async with asyncio.timeout(20):
        stats_a = await play(third, seed=1)
        await task_b
    check_played(third, stats_a, from_start=False)
    check_played(conn_b, stats_b)
    assert third.result == conn_b.result
    check_result(third.result, access_a.match_id, {pid(a), pid(b)})


def raw_input(**fields: Any) -> str:
    message = {"type": "input", "seq": 1, "dx": 0.0, "dy": 0.0, "aim": 0.0, "fire": False}
    return orjson.dumps({**message, **fields}).decode()


INVALID = {"invalid_message"}
NOT_JSON = {"bad_json", "invalid_message"}
# Nineteen bad messages: one short of the 20 that get a socket closed with 1008.
BAD_MESSAGES: list[tuple[str | bytes, set[str]]] = [
    ("not json", {"bad_json"}),
    (b"\xff\xfe\x00 garbage", {"bad_json"}),
    ("[1, 2, 3]", {"bad_json"}),
    ('"input"', {"bad_json"}),
    ('{"type": "dance"}', {"unknown_type"}),
    ('{"seq": 1, "dx": 0, "dy": 0, "aim": 0, "fire": false}', {"unknown_type", "invalid_message"}),
    (raw_input(seq="two"), INVALID),
    (raw_input(dx="0.5"), INVALID),
    (raw_input(fire="yes"), INVALID),
    (raw_input(extra=1), INVALID),
    ('{"type": "input", "seq": 1, "dx": 0, "dy": 0, "aim": 0}', INVALID),
    ('{"type":"input","seq":1,"dx":NaN,"dy":0,"aim":0,"fire":false}', NOT_JSON),
    (raw_input(dx=1e308), INVALID),
    ('{"type":"input","seq":1,"dx":1e400,"dy":0,"aim":0,"fire":false}', NOT_JSON),
    ('{"type":"input","seq":1' + "0" * 400 + ',"dx":0,"dy":0,"aim":0,"fire":false}', NOT_JSON),
    (raw_input(seq=0), INVALID),
    (raw_input(dy=-1.5), INVALID),
    ('{"type": "ping", "t": "x"}', INVALID),
    ('{"type": "ping", "t": Infinity}', NOT_JSON),
]


async def expect_error(conn: MatchConnection, frame: str | bytes) -> dict[str, Any]:
    """Send a bad frame; returns the error it got (snapshots may come meanwhile)."""
    await conn.send_raw(frame)
    async with asyncio.timeout(2):
        while (message := await conn.recv())["type"] != "error":
            assert message["type"] in ("snapshot", "pong", "waiting", "start"), message
    assert isinstance(message["message"], str) and message["message"]
    return message


async def close_code_for(url: str, protocols: list[str]) -> int | None:
    """Connect with these subprotocols; the code the server closes with."""
    try:
        async with ws_connect(url, subprotocols=[Subprotocol(p) for p in protocols]) as ws:
            async with asyncio.timeout(3):
                while True:
                    message = orjson.loads(await ws.recv())
                    assert message["type"] != "welcome", message
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None
    except InvalidStatus as exc:
        pytest.fail(f"handshake refused with HTTP {exc.response.status_code}, not a close code")


async def test_bad_socket_input_changes_nothing(
    live_server: ServerProcess, make_client: MakeClient
) -> None:
    # A second match first, for a token that is valid but not for the match under test.
    _, _, other, _ = await matched_pair(make_client, ("carol", "dan"))
    a, b, access_a, access_b = await matched_pair(make_client, ("ada", "bob"))
    conn_a, conn_b = await asyncio.gather(a.connect(access_a), b.connect(access_b))
    stats_b = Stats()
    task_b = asyncio.create_task(play(conn_b, stats_b, seed=2, fire=False))
    await next_snapshot(conn_a, within=5)

    started = time.monotonic()
    for frame, codes in BAD_MESSAGES:
        error = await expect_error(conn_a, frame)
        assert error["code"] in codes, (frame, error)
    await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    assert stats_b.rate(started, time.monotonic()) >= 20, "the other player's snapshots slowed"

    # None of them counted: seq 1 is still fresh. A huge but finite aim is fine (binary frame).
    assert await conn_a.send_input(dx=0.0, dy=0.0, aim=0.0, fire=False) == 1
    await until_ack(conn_a, 1)
    await conn_a.send_raw(raw_input(seq=2, aim=1e308).encode())
    snapshot = await until_ack(conn_a, 2)
    me = next(p for p in snapshot["players"] if p[0] == conn_a.slot)
    assert -4 < me[3] < 4

    # The twentieth bad message within 10 s closes the socket with 1008.
    with pytest.raises(MatchClosed) as closed:
        await expect_error(conn_a, "still not json")
        await next_snapshot(conn_a)
    assert closed.value.code == 1008

    # A frame over 4 KiB is closed with 1009; reconnecting works after both.
    conn_a = await a.connect(access_a)
    assert conn_a.welcome["last_seq"] == 2
    await conn_a.send_raw(orjson.dumps({"type": "ping", "t": 1, "pad": "x" * 5000}).decode())
    with pytest.raises(MatchClosed) as closed:
        while True:
            await next_snapshot(conn_a)
    assert closed.value.code == 1009
    conn_a = await a.connect(access_a)

    url = live_server.ws_url + access_a.ws_path
    assert await close_code_for(url, ["skirmish.v1", "token." + other.token]) == 4003
    assert await close_code_for(url, ["skirmish.v1", "token.garbage"]) == 4001
    assert await close_code_for(url, ["skirmish.v1"]) == 4001
    missing = live_server.ws_url + "/ws/matches/m_missing"
    assert await close_code_for(missing, ["skirmish.v1", "token." + access_a.token]) in (4003, 4004)

    checked = time.monotonic()
    await next_snapshot(conn_a)
    await asyncio.sleep(1.0)
    assert stats_b.rate(checked, time.monotonic()) >= 20
    assert stats_b.errors == []
    assert conn_b.close_code is None
    await conn_a.close()
    await conn_b.close()
    await task_b
