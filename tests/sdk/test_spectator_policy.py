"""The SDK's `Spectator` against scripted spectate sockets (a `websockets` server playing
the server's part), and its policy's parts on their own: which closes are reconnected
(with the same token, or a fresh spectate access after 4001) and which end the watch (a
match over before its `result` came: the stored one), how long a socket may be silent
(longer before its first snapshot, which waits out the delay; as long as pings are
answered), the keepalive, and the ticks only ever going forward across sockets."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from websockets.asyncio.server import ServerConnection, serve

from skirmish.sdk import ApiError, SpectateAccess, Spectator, SpectatorClosed, SpectatorTiming
from skirmish.sdk.client import MatchInfo, SkirmishClient
from skirmish.sdk.reconnect import Timing
from skirmish.sdk.spectator import check_speed, quiet_limits

Message = dict[str, Any]
Handler = Callable[[ServerConnection, int], Awaitable[None]]
FAST = SpectatorTiming(pong_timeout=0.3, policy=Timing(first_delay=0.05, give_up=3.0))
RESULT = {"type": "result", "match_id": "m_1", "winner": None, "reason": "time_limit", "tick": 90}


# -- the policy's parts ---------------------------------------------------------------------


def welcome(**fields: Any) -> Message:
    return {"live": True, "delay_ms": 0, "rate_hz": 10, "speed": 1, **fields}


@pytest.mark.parametrize(
    ("spectating", "fresh", "limits"),
    [
        (welcome(delay_ms=2000), True, (3.0, 5.0)),  # the first snapshot waits out the delay
        (welcome(delay_ms=2000), False, (1.0, 3.0)),  # then: a second without a frame
        (welcome(delay_ms=200), True, (1.2, 3.2)),
        (welcome(live=False, speed=0.25), True, (1.2, 3.2)),  # or 3 snapshots' spacing
        (welcome(live=False, rate_hz=1, speed=0.25), False, (12.0, 14.0)),
        (welcome(live=False, rate_hz=10, speed=16), True, (1.0, 3.0)),
    ],
)
def test_how_long_a_spectate_socket_may_be_silent(
    spectating: Message, fresh: bool, limits: tuple[float, float]
) -> None:
    """(ping after, dropped after) seconds without a frame: 2 s for the pong."""
    assert quiet_limits(SpectatorTiming(), spectating, fresh) == pytest.approx(limits)


def test_a_recording_plays_at_a_quarter_to_sixteen_times() -> None:
    assert [check_speed(s) for s in (None, 0.25, 1, 16)] == [None, 0.25, 1, 16]
    for speed in (0.2, 0, -1, 16.5, math.nan, math.inf):
        with pytest.raises(ValueError):
            check_speed(speed)
    with pytest.raises(ValueError):
        SkirmishClient("http://127.0.0.1:9").spectate("m_1", speed=32)


# -- scripted sockets -----------------------------------------------------------------------


def frame(kind: str, **fields: Any) -> bytes:
    return orjson.dumps({"type": kind, **fields})


def spectating(**fields: Any) -> bytes:
    body = welcome(match_id="m_1", mode="arena", status="running", tick=30, spectators=1)
    return frame("spectating", **{**body, **fields})


def snapshot(tick: int) -> bytes:
    return frame("snapshot", ack=0, tick=tick, online=[0, 1], players=[], shots=[])


class Watcher(SkirmishClient):
    """A client whose spectate accesses need no REST server: tokens st1, st2, ... (or a
    403 once `refuse` is set)."""

    def __init__(self, url: str) -> None:
        super().__init__(url, token="pt-eve")
        self.asked: list[tuple[str, str | None]] = []
        self.refuse = False

    async def get_match(self, match_id: str) -> MatchInfo:
        stored = {k: v for k, v in RESULT.items() if k != "type"}
        return MatchInfo(match_id, "arena", "finished", (), None, stored)

    async def spectate_access(self, match_id: str, code: str | None = None) -> SpectateAccess:
        self.asked.append((match_id, code))
        if self.refuse:
            raise ApiError(403, "forbidden", "not for you")
        path = f"/ws/matches/{match_id}/spectate"
        return SpectateAccess(match_id, path, f"st{len(self.asked)}", None, True, 0, 10.0)


class Script:
    """Socket n (from 0) is served by handlers[n]; what each received is kept, stamped."""

    def __init__(self, *handlers: Handler) -> None:
        self.handlers = handlers
        self.received: list[list[tuple[float, Message]]] = []
        self.opened: list[float] = []
        self.paths: list[str] = []
        self.protocols: list[str | None] = []

    async def __call__(self, ws: ServerConnection) -> None:
        n = len(self.received)
        self.received.append([])
        self.opened.append(time.monotonic())
        assert ws.request is not None
        self.paths.append(ws.request.path)
        self.protocols.append(ws.request.headers.get("Sec-WebSocket-Protocol"))
        await self.handlers[n](ws, n)

    async def read(self, ws: ServerConnection, n: int, pong: bool = False) -> None:
        async for data in ws:
            message = orjson.loads(data)
            self.received[n].append((time.monotonic(), message))
            if pong and message["type"] == "ping":
                await ws.send(frame("pong", t=message["t"], tick=0))

    def pings(self, n: int) -> list[float]:
        return [at for at, m in self.received[n] if m["type"] == "ping"]


@contextlib.asynccontextmanager
async def served(script: Script) -> AsyncIterator[str]:
    async with serve(script, "127.0.0.1", 0, subprotocols=["skirmish.v1"]) as server:  # type: ignore[list-item]
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"http://127.0.0.1:{port}"


async def watch(spectator: Spectator, seconds: float = 5.0) -> list[Message]:
    seen = []
    async with asyncio.timeout(seconds), spectator:
        async for message in spectator:
            seen.append(message)
    return seen


def kinds(seen: list[Message]) -> list[str]:
    return [m["type"] if m["type"] != "snapshot" else f"snapshot {m['tick']}" for m in seen]


async def ends_with_result(ws: ServerConnection, n: int) -> None:
    await ws.send(spectating(spectators=2))
    for tick in (6, 9, 12):
        await ws.send(snapshot(tick))
    await ws.send(frame("spectators", count=3))
    await ws.send(orjson.dumps(RESULT))
    await ws.close(1000)


async def test_a_new_socket_resumes_past_the_ticks_seen_and_the_result_ends_it() -> None:
    async def drained(ws: ServerConnection, n: int) -> None:
        await ws.send(spectating())
        for tick in (3, 6, 9):
            await ws.send(snapshot(tick))
        await ws.send(frame("reconnect", reason="server_restarting"))
        await ws.close(1012)

    script = Script(drained, ends_with_result)
    async with served(script) as url, Watcher(url) as client:
        spectator = client.spectate("m_1", code="K7WQ2M", speed=2, timing=FAST)
        seen = await watch(spectator)
    assert kinds(seen) == [
        *["spectating", "snapshot 3", "snapshot 6", "snapshot 9", "reconnect"],
        *["spectating", "snapshot 12", "spectators", "result"],
    ]
    assert (spectator.stale, spectator.tick, spectator.spectators) == (2, 12, 3)
    assert spectator.result == RESULT and await spectator.wait_result() == RESULT
    assert (spectator.outcome, spectator.close_code, spectator.sockets) == ("result", 1000, 2)
    assert client.asked == [("m_1", "K7WQ2M")]  # one access: the same token again
    assert script.paths == ["/ws/matches/m_1/spectate?speed=2"] * 2
    assert script.protocols == ["skirmish.v1, token.st1"] * 2


@pytest.mark.parametrize(
    ("code", "tokens"),
    [
        *[(code, ["st1", "st1"]) for code in (1001, 1006, 1011, 1013, 4008)],
        (4001, ["st1", "st2"]),  # a fresh spectate access first
        *[(code, ["st1"]) for code in (1000, 4010)],  # over: the stored result
        *[(code, []) for code in (1008, 1009, 4003, 4004, 4009, 4029)],  # ended for good
    ],
)
async def test_which_closes_are_reconnected(code: int, tokens: list[str]) -> None:
    async def closes(ws: ServerConnection, n: int) -> None:
        await ws.send(spectating())
        await ws.send(snapshot(3))
        if code == 1006:
            ws.transport.abort()  # no close frame: the connection broke
        else:
            await ws.close(code)

    script = Script(closes, ends_with_result)
    async with served(script) as url, Watcher(url) as client:
        spectator = Spectator(client, "m_1", timing=FAST, rng=random.Random(3))
        if tokens:
            await watch(spectator)
            assert (spectator.result, spectator.outcome) == (RESULT, "result")
        else:
            with pytest.raises(SpectatorClosed) as ended:
                await watch(spectator)
            assert (ended.value.code, ended.value.outcome) == (code, "socket_closed")
            assert spectator.result is None
    assert script.protocols == [f"skirmish.v1, token.{token}" for token in tokens or ["st1"]]
    assert len(client.asked) == len(set(tokens or ["st1"]))


async def test_a_refusal_is_final_and_so_is_a_refused_fresh_access() -> None:
    async def refuse(ws: ServerConnection, n: int) -> None:
        await ws.send(frame("error", code="forbidden", message="no"))
        await ws.close(4003 if n == 0 else 4001)

    script = Script(refuse, refuse)
    async with served(script) as url, Watcher(url) as client:
        with pytest.raises(SpectatorClosed) as refused:
            await Spectator(client, "m_1", timing=FAST).connect()
        assert (refused.value.code, refused.value.outcome) == (4003, "socket_closed")
        assert refused.value.error == {"type": "error", "code": "forbidden", "message": "no"}
        assert len(script.received) == 1
        expired = Spectator(client, "m_1", timing=FAST)
        client.refuse = True  # the token expired (4001), and a new one is refused
        expired.access = SpectateAccess("m_1", "/ws/matches/m_1/spectate", "old", None, True, 0, 10)
        with pytest.raises(ApiError):
            await expired.connect()
        assert expired.outcome == "refused" and len(script.received) == 2


async def test_the_first_live_snapshot_may_take_the_delay() -> None:
    async def delayed(ws: ServerConnection, n: int) -> None:
        await ws.send(spectating(delay_ms=1000))
        reading = asyncio.create_task(script.read(ws, n))  # no pongs: only the delay helps
        await asyncio.sleep(1.5)  # past a second and the pong's 0.3 s: dropped, but for it
        for tick in (30, 33):
            await ws.send(snapshot(tick))
        await ws.send(orjson.dumps(RESULT))
        await ws.close(1000)
        await reading

    script = Script(delayed)
    async with served(script) as url, Watcher(url) as client:
        spectator = Spectator(client, "m_1", timing=FAST)
        assert kinds(await watch(spectator)) == [
            "spectating",
            "snapshot 30",
            "snapshot 33",
            "result",
        ]
    assert spectator.sockets == 1 and script.pings(0) == []


async def test_a_waiting_match_is_pinged_and_kept_while_it_answers() -> None:
    async def waiting(ws: ServerConnection, n: int) -> None:
        await ws.send(spectating(status="waiting", delay_ms=300))
        reading = asyncio.create_task(script.read(ws, n, pong=True))
        await asyncio.sleep(2.0)  # no snapshot yet: the match has not started
        await ws.send(snapshot(3))
        await ws.send(orjson.dumps(RESULT))
        await ws.close(1000)
        await reading

    script = Script(waiting)
    async with served(script) as url, Watcher(url) as client:
        spectator = Spectator(client, "m_1", timing=FAST)
        assert kinds(await watch(spectator)) == ["spectating", "snapshot 3", "result"]
    pings = [at - script.opened[0] for at in script.pings(0)]
    assert len(pings) == 1 and 1.2 < pings[0] < 1.5, pings  # 0.3 s + 1 s: then the pong
    assert spectator.sockets == 1 and spectator.rtt_ms is not None


async def test_a_silent_socket_is_pinged_then_replaced() -> None:
    last: list[float] = []

    async def silent(ws: ServerConnection, n: int) -> None:
        await ws.send(spectating(live=False, delay_ms=0, speed=4))
        await ws.send(snapshot(3))
        last.append(time.monotonic())
        await script.read(ws, n)  # never answers

    script = Script(silent, ends_with_result)
    async with served(script) as url, Watcher(url) as client:
        spectator = Spectator(client, "m_1", timing=FAST, rng=random.Random(5))
        await watch(spectator)
    (pinged,) = [at - last[0] for at in script.pings(0)]
    assert 1.0 <= pinged < 1.2, pinged  # a second without a frame: a ping
    dropped = script.opened[1] - last[0]
    assert 1.3 < dropped < 1.6, dropped  # unanswered for 0.3 s: dropped, back at once
    assert spectator.sockets == 2 and spectator.result == RESULT


async def test_the_keepalive_pings_while_snapshots_flow() -> None:
    async def streams(ws: ServerConnection, n: int) -> None:
        await ws.send(spectating())
        reading = asyncio.create_task(script.read(ws, n, pong=True))
        for tick in range(1, 16):
            await ws.send(snapshot(tick))
            await asyncio.sleep(0.05)
        await ws.send(orjson.dumps(RESULT))
        await ws.close(1000)
        await reading

    script = Script(streams)
    timing = SpectatorTiming(keepalive=0.2, policy=FAST.policy)
    async with served(script) as url, Watcher(url) as client:
        spectator = Spectator(client, "m_1", timing=timing)
        await watch(spectator)
    assert 2 <= len(script.pings(0)) <= 4  # every 0.2 s of the 0.75 s, frames or not
    assert spectator.tick == 15 and spectator.stale == 0
