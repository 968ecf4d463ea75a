"""Limits of one match socket, through the real router, middleware, consumer and match host
(channels' WebsocketCommunicator): token buckets, flooding, idle sockets, sockets per
player, the origin allow-list."""

from __future__ import annotations

import asyncio

import pytest

from realtime.limits import SocketGuard, SocketLimits, TokenBucket
from realtime.ws_auth import OriginPolicy
from tests.realtime.conftest import Harness, HarnessFactory, close_code, receive, receive_until
from tests.security.conftest import add_player, communicator, match_of, ws_input

# -- the pieces ---------------------------------------------------------------------------


def test_a_token_bucket_allows_its_burst_then_its_rate() -> None:
    bucket = TokenBucket(rate=60.0, burst=15.0, now=100.0)
    assert [bucket.take(100.0) for _ in range(16)] == [True] * 15 + [False]
    assert not bucket.take(100.01)  # 0.6 of a token
    assert bucket.take(100.02)  # 1.2 tokens
    assert not bucket.take(100.02)
    # A long quiet spell refills to the burst, never beyond it.
    assert sum(bucket.take(1000.0) for _ in range(100)) == 15
    # A steady stream at the rate passes entirely, for as long as it lasts.
    steady = TokenBucket(rate=60.0, burst=15.0, now=0.0)
    assert all(steady.take(n / 60.0) for n in range(1, 6000))


class FakeSocket:
    def __init__(self, match_id: str) -> None:
        self.match_id = match_id
        self.live = True
        self.idle_checks: list[float] = []

    def check_idle(self, now: float, timeout: float) -> None:
        self.idle_checks.append(now)


def test_the_guard_caps_live_sockets_per_player_across_matches() -> None:
    guard = SocketGuard(SocketLimits(max_sockets_per_player=2))
    a, b, c = FakeSocket("m_a"), FakeSocket("m_b"), FakeSocket("m_c")
    assert guard.admit("p_1", a) and guard.admit("p_1", b)
    assert not guard.admit("p_1", c)
    assert guard.admit("p_2", FakeSocket("m_c"))  # another player is not affected
    # A new socket for a match the player already has a socket in replaces that one.
    assert guard.admit("p_1", FakeSocket("m_a"))
    a.live = False  # ...which the host then closes (4009)
    # Sockets the server closed, or that left, stop counting.
    b.live = False
    assert guard.admit("p_1", c)
    guard.release("p_1", c)
    assert guard.admit("p_1", FakeSocket("m_d"))
    assert guard.sockets == 3  # p_1: the second m_a and m_d; p_2: one


def test_the_guard_sweeps_every_socket() -> None:
    clock = [50.0]
    guard = SocketGuard(SocketLimits(idle_timeout=8.0), clock=lambda: clock[0])
    sockets = [FakeSocket(f"m_{n}") for n in range(3)]
    for n, socket in enumerate(sockets):
        assert guard.admit(f"p_{n}", socket)
    assert guard.sweep()
    assert [s.idle_checks for s in sockets] == [[50.0]] * 3
    assert guard.sweep_interval == 2.0


def test_a_late_sweep_judges_no_socket_idle() -> None:
    """An event loop seconds behind has not read what the clients sent: nobody is idle."""
    guard = SocketGuard(SocketLimits(idle_timeout=8.0), clock=lambda: 90.0)
    socket = FakeSocket("m_1")
    assert guard.admit("p_1", socket)
    assert not guard.sweep(lag=2.5)
    assert socket.idle_checks == []
    assert guard.sweep(lag=0.2)  # a few hundred ms late is ordinary jitter
    assert socket.idle_checks == [90.0]


@pytest.mark.parametrize(
    ("origin", "host", "allowed", "ok"),
    [
        (None, "game.example", [], True),  # not a browser
        ("https://game.example", "game.example", [], True),  # same origin behind TLS
        ("http://127.0.0.1:8000", "127.0.0.1:8000", [], True),
        ("HTTP://Game.Example:80", "game.example", [], True),
        ("https://game.example:8443", "game.example", [], False),  # another port
        ("https://evil.example", "game.example", [], False),
        ("https://game.example.evil.example", "game.example", [], False),
        ("null", "game.example", [], False),
        ("null", "game.example", ["null"], True),
        ("not a url", "game.example", [], False),
        ("https://evil.example", None, [], False),
        ("https://play.example", "api.example", ["https://play.example"], True),
        ("http://play.example", "api.example", ["https://play.example"], False),
        ("https://evil.example", "api.example", ["*"], True),
    ],
)
def test_origin_policy(origin: str | None, host: str | None, allowed: list[str], ok: bool) -> None:
    assert OriginPolicy(allowed).allows(origin, host) is ok


# -- through the consumer -----------------------------------------------------------------


async def test_an_input_flood_is_throttled_then_closed_with_1008(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(ws_input_burst=10, ws_flood_limit=50)
    match = await harness.new_match(players=2)
    flooder, _ = await harness.join(match, 0)
    for seq in range(1, 80):
        await flooder.send_to(text_data=ws_input(seq))
    errors, code = [], None
    while code is None:
        out = await flooder.receive_output(2)
        if out["type"] == "websocket.close":
            code = out["code"]
        elif b'"error"' in out["bytes"] and b'"input_dropped"' not in out["bytes"]:
            errors.append(out["bytes"])  # (what the buffer could not hold is said apart)
    # One `rate_limited` error, not one per dropped message; then the policy close.
    assert len(errors) == 1 and b'"rate_limited"' in errors[0]
    assert code == 1008
    # The seat is free: the player reconnects and plays on.
    again, welcome = await harness.join(match, 0)
    # The burst passed, the rest was dropped; what still waited went with the socket.
    assert welcome["last_seq"] == harness.services.host.owned.get(match.id).seats[0].applied_seq
    assert welcome["last_seq"] <= 10
    await again.disconnect()


async def test_a_burst_within_the_limits_passes_untouched(harness: Harness) -> None:
    match = await harness.new_match(players=1)
    ws, _ = await harness.join(match, 0)
    for seq in range(1, 16):  # the default burst: 15
        await ws.send_to(text_data=ws_input(seq))
    await ws.send_to(text_data='{"type":"ping","t":1}')
    pong = await receive_until(
        ws, lambda m: m["type"] == "pong" or (m["type"] == "error" and m["code"] != "input_dropped")
    )
    assert pong["type"] == "pong"  # (the buffer's overflow is answered with input_dropped)
    assert harness.services.host.owned.get(match.id).seats[0].last_seq == 15
    await ws.disconnect()


async def test_pings_have_their_own_bucket(harness: Harness) -> None:
    match = await harness.new_match(players=1)
    ws, _ = await harness.join(match, 0)
    for t in range(8):
        await ws.send_to(text_data=f'{{"type":"ping","t":{t}}}')
    answers = [await receive_until(ws, lambda m: m["type"] in ("pong", "error")) for _ in range(6)]
    assert [m["type"] for m in answers] == ["pong"] * 5 + ["error"]  # burst 5
    assert answers[5]["code"] == "rate_limited"
    # Inputs still pass: their bucket is full.
    await ws.send_to(text_data=ws_input(1))
    await receive_until(ws, lambda m: m["type"] == "snapshot" and m["ack"] == 1)
    await ws.disconnect()


async def test_a_silent_socket_is_closed_with_4008_once_the_match_runs(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(ws_idle_timeout_seconds=0.6, match_start_wait_seconds=1.5)
    match = await harness.new_match(players=3)
    silent, _ = await harness.join(match, 0)
    pinging, _ = await harness.join(match, 1)
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def keep_pinging() -> None:
        while True:
            await pinging.send_to(text_data='{"type":"ping","t":0}')
            await asyncio.sleep(0.25)

    pinger = asyncio.create_task(keep_pinging())
    # Waiting for the third player is not idleness: the match starts after 1.5 s.
    await receive_until(silent, lambda m: m["type"] == "start", limit=1000)
    assert loop.time() - started > 1.2
    error = await receive_until(silent, lambda m: m["type"] == "error", limit=1000)
    assert error["code"] == "idle_timeout"
    assert await close_code(silent) == 4008
    assert loop.time() - started < 1.5 + 0.6 + 0.5  # within a sweep of the deadline
    # The pinging player stood still all along and is still served.
    await receive_until(pinging, lambda m: m["type"] == "snapshot")
    state = harness.services.host.owned.get(match.id)
    assert state.seats[1].connection is not None and state.seats[0].connection is None
    pinger.cancel()
    await pinging.disconnect()


async def test_sockets_per_player_are_capped_across_matches(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(ws_max_sockets_per_player=2)
    me = await add_player(harness, "me")
    matches = [await match_of(harness, [me, await add_player(harness)]) for _ in range(3)]
    tokens = [harness.services.tokens.issue_match(me.id, m.id).token for m in matches]
    first = communicator(harness, matches[0].id, tokens[0], [])
    second = communicator(harness, matches[1].id, tokens[1], [])
    for ws in (first, second):
        assert (await ws.connect())[0]
        assert (await receive(ws))["type"] == "welcome"
    third = communicator(harness, matches[2].id, tokens[2], [])
    await third.connect()
    error = await receive(third)
    assert error["code"] == "too_many_connections"
    assert await close_code(third) == 4029
    # Reconnecting to a match the player already has a socket in is not an extra socket.
    again = communicator(harness, matches[0].id, tokens[0], [])
    await again.connect()
    assert (await receive(again))["type"] == "welcome"
    assert await close_code(first) == 4009
    # Leaving frees a place.
    await second.disconnect()
    third = communicator(harness, matches[2].id, tokens[2], [])
    await third.connect()
    assert (await receive(third))["type"] == "welcome"
    await third.disconnect()
    await again.disconnect()


@pytest.mark.parametrize(
    ("headers", "welcome"),
    [
        ([], True),
        ([(b"origin", b"http://testserver"), (b"host", b"testserver")], True),
        ([(b"origin", b"https://evil.example"), (b"host", b"testserver")], False),
        ([(b"origin", b"null"), (b"host", b"testserver")], False),
    ],
    ids=["no-origin", "same-origin", "foreign-origin", "null-origin"],
)
async def test_browser_sockets_from_foreign_origins_are_refused_with_4003(
    harness: Harness, headers: list[tuple[bytes, bytes]], welcome: bool
) -> None:
    match = await harness.new_match(players=2)
    ws = communicator(harness, match.id, harness.token(match, 0), headers)
    assert (await ws.connect())[0]
    first = await receive(ws)
    if welcome:
        assert first["type"] == "welcome"
        await ws.disconnect()
    else:
        assert first["type"] == "error" and first["code"] == "origin_not_allowed"
        assert await close_code(ws) == 4003
        assert len(harness.services.host.owned) == 0  # refused before anything was loaded


async def test_listed_origins_are_allowed(harness_factory: HarnessFactory) -> None:
    harness = await harness_factory(allowed_origins=["https://play.example"])
    match = await harness.new_match(players=2)
    headers = [(b"origin", b"https://play.example"), (b"host", b"api.example")]
    ws = communicator(harness, match.id, harness.token(match, 0), headers)
    await ws.connect()
    assert (await receive(ws))["type"] == "welcome"
    await ws.disconnect()


async def test_firing_faster_than_the_cooldown_fires_no_faster(harness: Harness) -> None:
    """Twice the tick rate of inputs, every one of them `fire`: one shot per cooldown."""
    match = await harness.new_match(players=1)
    ws, _ = await harness.join(match, 0)
    first = await receive_until(ws, lambda m: m["type"] == "snapshot")
    seq = 0
    for _ in range(45):
        await receive_until(ws, lambda m: m["type"] == "snapshot")
        for _ in range(2):
            seq += 1
            await ws.send_to(text_data=ws_input(seq, fire=True, aim=0.3))
    last = await receive_until(ws, lambda m: m["type"] == "snapshot" and m["ack"] == seq)
    hosted = harness.services.host.owned.get(match.id)
    cooldown = hosted.mode.rules.fire_cooldown_ticks
    ticks = last["tick"] - first["tick"]
    shots = hosted.state.fighters[0].shots
    assert ticks // cooldown <= shots <= ticks // cooldown + 1, (ticks, shots)
    await ws.disconnect()
