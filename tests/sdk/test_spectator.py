"""The SDK's `Spectator` against a real server (`skirmish serve`), two bots playing short
arena matches: a guest watches a running match live (behind its delay, snapshots with
`ack` 0, the players told how many watch) to the match's own result, and then its
recording at 16 times the speed to the same winner, reason and players' stats; an input
on a spectate socket is refused, and a ping answered; a `players` match lets only its
players watch, a `link` match whoever holds its code."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from skirmish.sdk import ApiError, MatchAccess, MatchClosed, SkirmishClient, Spectator
from skirmish.sdk.bot import Brain
from skirmish.sdk.connection import open_socket
from tests.support.processes import ServerProcess, skirmish_server

pytestmark = pytest.mark.e2e
Message = dict[str, Any]
MATCH_SECONDS = 3
SHORT = {"time_limit_seconds": MATCH_SECONDS, "score_limit": 1000}  # the arena's settings
STATS = ("player_id", "name", "slot", "score", "kills", "deaths", "shots", "hits")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with skirmish_server(tmp_path_factory.mktemp("sdk-spectator")) as process:
        yield process


@contextlib.asynccontextmanager
async def guests(url: str, *names: str) -> AsyncIterator[list[SkirmishClient]]:
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(SkirmishClient(url)) for _ in names]
        for client, name in zip(clients, names, strict=True):
            await client.guest(name)
        yield clients


@dataclass
class Seat:
    """What a bot's socket brought: its latest tick, the spectator counts, the result."""

    tick: int = 0
    counts: list[int] = field(default_factory=list)
    result: Message | None = None
    ended_at: float = 0.0


async def play(client: SkirmishClient, access: MatchAccess, seat: Seat, seed: int) -> None:
    async with await client.connect(access, open_timeout=5) as conn:
        brain = Brain.from_welcome(conn.welcome, random.Random(seed))
        async for message in conn:
            kind = message["type"]
            if kind == "snapshot":
                seat.tick = message["tick"]
                with contextlib.suppress(MatchClosed):
                    await conn.send_input(**brain.decide(message))
            elif kind == "spectators":
                seat.counts.append(message["count"])
            elif kind == "result":
                seat.result, seat.ended_at = message, time.monotonic()


@contextlib.asynccontextmanager
async def match(
    host: SkirmishClient, guest: SkirmishClient, spectators: str | None = None
) -> AsyncIterator[tuple[str, list[Seat]]]:
    """A short lobby match between two bots, running (a few ticks in) when it is yielded,
    played to its end when the block is left."""
    lobby = await host.create_lobby("arena", "watched", 2, SHORT, spectators=spectators)
    await guest.join_lobby(lobby.id)
    for client in (host, guest):
        await client.set_ready(lobby.id, True)
    await host.start_lobby(lobby.id)
    seats = [Seat(), Seat()]
    accesses = [await c.wait_lobby_started(lobby.id, poll=0.1, timeout=5) for c in (host, guest)]
    pairs = zip((host, guest), accesses, seats, strict=True)
    tasks = [asyncio.create_task(play(c, a, s, n)) for n, (c, a, s) in enumerate(pairs)]
    await until(lambda: seats[0].tick >= 10, "the match running")
    yield accesses[0].match_id, seats
    async with asyncio.timeout(MATCH_SECONDS + 5):
        await asyncio.gather(*tasks)


async def until(test: Callable[[], bool], what: str, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not test():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


def stats(result: Message) -> list[Message]:
    return [{key: player[key] for key in STATS} for player in result["players"]]


async def a_raw_spectate_socket(client: SkirmishClient, match_id: str) -> None:
    """On a spectate socket of its own: an input is answered with `input_refused`; once
    snapshots come, a ping is answered with a `pong`."""
    access = await client.spectate_access(match_id)
    url = client.ws_url(access.ws_path)
    ws, first = await open_socket(url, access.token, 5.0, "spectating", None)
    try:
        assert first["type"] == "spectating" and first["live"] is True
        await ws.send(orjson.dumps({"type": "input", "seq": 1, "dx": 1, "dy": 0, "aim": 0}))
        async with asyncio.timeout(access.delay_ms / 1000 + 3):
            seen = [orjson.loads(await ws.recv())]
            while seen[-1]["type"] != "error":
                seen.append(orjson.loads(await ws.recv()))
            assert seen[-1]["code"] == "input_refused", seen
            while seen[-1]["type"] != "snapshot":
                seen.append(orjson.loads(await ws.recv()))
            await ws.send(orjson.dumps({"type": "ping", "t": 7}))
            while seen[-1]["type"] != "pong":
                seen.append(orjson.loads(await ws.recv()))
        assert seen[-1] == {"type": "pong", "t": 7, "tick": 0}  # a spectator keeps no clock
        assert {m["type"] for m in seen} <= {"error", "snapshot", "spectators", "pong"}, seen
    finally:
        await ws.close()


async def test_a_running_match_watched_live_then_from_its_recording(
    server: ServerProcess,
) -> None:
    async with guests(server.url, "ann", "bob", "eve") as (ann, bob, eve):
        async with match(ann, bob) as (match_id, seats):
            raw = asyncio.create_task(a_raw_spectate_socket(eve, match_id))
            watched: list[tuple[float, Message, int]] = []  # when, what, the players' tick
            async with asyncio.timeout(MATCH_SECONDS + 8), eve.spectate(match_id) as spectator:
                async for message in spectator:
                    watched.append((time.monotonic(), message, seats[0].tick))
            await raw
        stored = (await eve.get_match(match_id)).result
        assert stored is not None
        assert_watched_live(spectator, watched, seats, stored)

        started = time.monotonic()
        recording = eve.spectate(match_id, speed=16)
        async with asyncio.timeout(5), recording:
            assert recording.access is not None and recording.access.live is False
            replayed = [message async for message in recording]
        took = time.monotonic() - started
    assert_watched_recorded(replayed, stored, took)


def assert_watched_live(
    spectator: Spectator,
    watched: list[tuple[float, Message, int]],
    seats: list[Seat],
    stored: Message,
) -> None:
    access = spectator.access
    assert access is not None and access.live and access.delay_ms > 0 and access.code is None
    at, welcome, _ = watched[0]
    assert welcome["type"] == "spectating" and welcome["live"] is True
    assert (welcome["status"], welcome["speed"]) == ("running", 1)
    assert (welcome["delay_ms"], welcome["rate_hz"]) == (access.delay_ms, access.rate_hz)
    assert [p["name"] for p in sorted(welcome["players"], key=lambda p: p["slot"])] == [
        "ann",
        "bob",
    ]
    assert spectator.sockets == 1
    counted = [when for when, m, _ in watched if m["type"] == "spectators"]
    assert counted and counted[0] - at <= 1.5  # how many watch: within a second
    snapshots = [(when, m, tick) for when, m, tick in watched if m["type"] == "snapshot"]
    assert snapshots[0][0] - at <= access.delay_ms / 1000 + 0.5  # the first within the delay
    assert all(m["ack"] == 0 and len(m["players"]) == 2 for _, m, _ in snapshots)
    ticks = [m["tick"] for _, m, _ in snapshots]
    step = welcome["tick_rate"] / welcome["rate_hz"]
    assert all(b - a == step for a, b in itertools.pairwise(ticks[:-1])), ticks
    assert ticks[-1] == stored["tick"]  # and the match's last tick
    # Behind the match by its delay, while the match ran.
    delay_ticks = access.delay_ms / 1000 * welcome["tick_rate"]
    lags = [played - m["tick"] for when, m, played in snapshots if when < seats[0].ended_at]
    assert lags and all(0.75 * delay_ticks <= lag <= delay_ticks + 30 for lag in lags), lags
    # The players' own result, once the delayed view reached the end; the players were
    # told that someone watched.
    end_at, result, _ = watched[-1]
    assert result["type"] == "result" and spectator.result is result
    assert {k: v for k, v in result.items() if k != "type"} == stored
    assert end_at - seats[0].ended_at >= 0.75 * access.delay_ms / 1000
    assert (spectator.outcome, spectator.close_code) == ("result", 1000)
    assert all(seat.counts and max(seat.counts) >= 1 for seat in seats)
    assert spectator.spectators is not None and spectator.spectators >= 1


def assert_watched_recorded(replayed: list[Message], stored: Message, took: float) -> None:
    welcome, result = replayed[0], replayed[-1]
    assert welcome["type"] == "spectating" and welcome["live"] is False
    assert (welcome["status"], welcome["delay_ms"], welcome["speed"]) == ("finished", 0, 16)
    ticks = [m["tick"] for m in replayed if m["type"] == "snapshot"]
    step = welcome["tick_rate"] / welcome["rate_hz"]
    assert all(b - a == step for a, b in itertools.pairwise(ticks[:-1])), ticks
    assert ticks[-1] == stored["tick"]  # from its first tick to its last
    assert result["type"] == "result" and result["replayed"] is True
    assert (result["winner"], result["reason"], result["tick"]) == (
        stored["winner"],
        stored["reason"],
        stored["tick"],
    )
    assert stats(result) == stats(stored)
    assert took < MATCH_SECONDS / 2, took  # 16 times the speed: well under the match's time


async def test_who_may_watch_is_the_match_policy(server: ServerProcess) -> None:
    names = ("cat", "dan", "fay", "gus", "hal")
    async with (
        guests(server.url, *names) as (cat, dan, fay, gus, hal),
        match(cat, dan, "players") as (own, _),
        match(fay, gus, "link") as (linked, _),
    ):
        with pytest.raises(ApiError) as outsider:
            await hal.spectate_access(own)
        assert outsider.value.status == 403
        with pytest.raises(ApiError) as outsider:
            await hal.spectate(own).connect()
        assert outsider.value.status == 403
        async with cat.spectate(own) as watch:  # a player may
            assert watch.spectating is not None and watch.spectating["match_id"] == own
            assert watch.access is not None and watch.access.code is None

        shared = await fay.spectate_access(linked)
        code = shared.code
        assert code is not None and (await gus.spectate_access(linked)).code == code
        wrong = code[:-1] + ("A" if code[-1] != "A" else "B")
        for attempt in (None, wrong):
            with pytest.raises(ApiError) as refused:
                await hal.spectate_access(linked, attempt)
            assert refused.value.status == 403, attempt
        async with hal.spectate(linked, code=code) as watch:
            assert watch.spectating is not None and watch.spectating["live"] is True
            assert watch.access is not None and watch.access.code is None  # not his
        with pytest.raises(ApiError) as missing:
            await hal.spectate_access("m_" + "0" * 20)
        assert missing.value.status == 404
