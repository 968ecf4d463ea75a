"""Property-based fuzzing of the match socket: random and mutated client messages, sent to
a live match through the real router, token middleware, consumer and match host.

For every frame an independent oracle (the rules of docs/protocol.md, written here again)
says what must happen: a valid input is taken silently, a valid ping is answered, a bad
message gets exactly one `error` (or, the twentieth within 10 s, the 1008 close), an
oversized frame is closed with 1009. A sentinel ping after each frame marks where its
answers end. Meanwhile a second player only listens: its snapshots must keep coming, one
per tick. The match runs on its own event loop in a thread, so it ticks on time while
hypothesis thinks.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import math
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skirmish.base.store.records import MatchRecord
from skirmish.server.asgi import build_application, freeze_startup_objects
from skirmish.server.services import build_services
from tests.realtime import conftest as realtime
from tests.realtime.conftest import Harness

MAX_SEQ = (1 << 53) - 1
MAX_FRAME = 4096
INPUT_KEYS = {"type", "seq", "dx", "dy", "aim", "fire"}
BAD_CODES = {"bad_json", "unknown_type", "invalid_message"}

# -- the oracle -------------------------------------------------------------------------


class NotJson(ValueError):
    pass


def _strict_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: orjson refuses what json would make infinite
        raise NotJson(text)
    return value


def _strict_int(text: str) -> int:
    value = int(text)
    if not -(1 << 63) <= value < (1 << 64):  # beyond 64 bits is no JSON number to orjson
        raise NotJson(text)
    return value


def _reject_constant(name: str) -> Any:
    raise NotJson(name)  # NaN, Infinity, -Infinity are not JSON


def parse(data: str | bytes) -> Any:
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return json.loads(
        text,
        parse_float=_strict_float,
        parse_int=_strict_int,
        parse_constant=_reject_constant,
    )


def is_number(value: Any, int_bound: int) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) <= int_bound
    return isinstance(value, float) and math.isfinite(value)


def valid_input(message: dict[str, Any]) -> bool:
    seq = message.get("seq")
    return (
        message.keys() == INPUT_KEYS
        and isinstance(seq, int)
        and not isinstance(seq, bool)
        and 1 <= seq <= MAX_SEQ
        and all(is_number(message[k], 1 << 53) and -1 <= message[k] <= 1 for k in ("dx", "dy"))
        and is_number(message["aim"], 1 << 53)
        and isinstance(message["fire"], bool)
    )


def expect(data: str | bytes) -> str:
    """What the server must do with this frame: too_big, bad, input or ping."""
    if len(data) > MAX_FRAME:
        return "too_big"
    try:
        message = parse(data)
    except (ValueError, UnicodeDecodeError):  # NotJson and JSONDecodeError are ValueErrors
        return "bad"
    if not isinstance(message, dict):
        return "bad"
    if message.get("type") == "input" and valid_input(message):
        return "input"
    if message.get("type") == "ping" and message.keys() == {"type", "t"}:
        return "ping" if is_number(message["t"], MAX_SEQ) else "bad"
    return "bad"


# -- the frames -------------------------------------------------------------------------

FINITE = st.floats(allow_nan=False, allow_infinity=False)
NUMBERS = st.one_of(
    st.integers(-(1 << 70), 1 << 70), st.floats(), st.sampled_from([0, 1, -1, 1 << 53, MAX_SEQ])
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=12))
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
VALID_INPUTS = st.fixed_dictionaries(
    {
        "type": st.just("input"),
        "seq": st.integers(1, MAX_SEQ),
        "dx": st.floats(-1, 1),
        "dy": st.floats(-1, 1) | st.sampled_from([-1, 0, 1]),
        "aim": FINITE | st.integers(-(1 << 53), 1 << 53),
        "fire": st.booleans(),
    }
)
VALID_PINGS = st.fixed_dictionaries(
    {"type": st.just("ping"), "t": FINITE | st.integers(-MAX_SEQ, MAX_SEQ)}
)
KEYS = st.sampled_from([*INPUT_KEYS, "t", "x", "pos", "hp", "Type", ""]) | st.text(max_size=6)


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A valid message with one thing changed: a field dropped, added or replaced."""
    message: dict[str, Any] = dict(draw(VALID_INPUTS | VALID_PINGS))
    how = draw(st.sampled_from(["drop", "add", "replace", "retype"]))
    if how == "drop":
        del message[draw(st.sampled_from(sorted(message)))]
    elif how == "add":
        message[draw(KEYS)] = draw(JSON_VALUES)
    elif how == "replace":
        message[draw(st.sampled_from(sorted(message)))] = draw(JSON_VALUES)
    else:
        message["type"] = draw(st.sampled_from(["input", "ping", "INPUT", "chat", "", 1, None]))
    return message


def encoded(values: st.SearchStrategy[Any]) -> st.SearchStrategy[str | bytes]:
    """As a text frame or a binary one; json.dumps writes NaN and Infinity as such."""
    text = values.map(lambda v: json.dumps(v, allow_nan=True))
    return text | text.map(str.encode)


OVERSIZED = VALID_PINGS.map(lambda m: json.dumps({**m, "pad": "x" * MAX_FRAME}))
FRAMES: st.SearchStrategy[str | bytes] = st.one_of(
    encoded(VALID_INPUTS),
    encoded(VALID_PINGS),
    encoded(mutated()),
    encoded(JSON_VALUES),
    st.text(max_size=80),
    st.binary(max_size=80),
    OVERSIZED,
)


# -- a live match on its own loop ---------------------------------------------------------


@dataclass
class LiveMatch:
    loop: asyncio.AbstractEventLoop
    harness: Harness
    match: MatchRecord
    fuzzer: WebsocketCommunicator
    bystander_ticks: list[tuple[float, int]] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    sentinel: float = 0.25
    first_example_at: float = math.inf

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


async def join(harness: Harness, match: MatchRecord, slot: int) -> WebsocketCommunicator:
    ws = harness.communicator(match.id, harness.token(match, slot))
    connected, _ = await ws.connect()
    assert connected
    assert orjson.loads(await ws.receive_from(2))["type"] == "welcome"
    return ws


async def listen(ws: WebsocketCommunicator, seen: list[tuple[float, int]]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        message = orjson.loads(await ws.receive_from(2))
        assert message["type"] in ("waiting", "start", "snapshot"), message
        if message["type"] == "snapshot":
            seen.append((loop.time(), message["tick"]))


@pytest.fixture
def live(caplog: pytest.LogCaptureFixture) -> Iterator[LiveMatch]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(10)

    async def start() -> tuple[Harness, MatchRecord]:
        # Buckets wide open: here every message must reach validation (the limits have
        # their own tests). Nobody idles out; the match outlasts the run.
        services = build_services(
            realtime.test_settings(
                ws_inputs_per_second=1e6,
                ws_input_burst=10**6,
                ws_pings_per_second=1e6,
                ws_ping_burst=10**6,
                ws_idle_timeout_seconds=600,
                arena_time_limit_seconds=600,
            )
        )
        await services.start()
        harness = Harness(services, build_application(services))
        # As a pod does once started (skirmish.server.asgi.application_factory): what the
        # process holds by now stays out of the collector's walks. Here that is also every
        # object the suite's earlier tests left behind.
        freeze_startup_objects()
        return harness, await harness.new_match(players=2)

    harness, match = run(start())
    state = LiveMatch(loop, harness, match, run(join(harness, match, 0)))
    bystander = run(join(harness, match, 1))
    reader = asyncio.run_coroutine_threadsafe(listen(bystander, state.bystander_ticks), loop)
    yield state

    # Hypothesis may finish in under two seconds: keep watching the bystander (the match
    # plays on) until the sample is large enough to judge its tick rate.
    deadline = time.monotonic() + 5
    while len(ticks_since_fuzzing(state)) <= 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not reader.done(), reader.exception()  # the bystander was served throughout
    reader.cancel()
    run(state.fuzzer.disconnect())
    run(bystander.disconnect())
    run(harness.services.stop())
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()
    gc.unfreeze()
    check_bystander(state)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]  # nothing escaped into the logs


def ticks_since_fuzzing(state: LiveMatch) -> list[tuple[float, int]]:
    # From the first example on (hypothesis warms up first, holding the GIL for a while).
    return [(at, tick) for at, tick in list(state.bystander_ticks) if at >= state.first_example_at]


def check_bystander(state: LiveMatch) -> None:
    numbers = [tick for _, tick in state.bystander_ticks]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "a tick went missing"
    ticks = ticks_since_fuzzing(state)
    assert len(ticks) > 60, ticks
    seconds = ticks[-1][0] - ticks[0][0]
    rate = (len(ticks) - 1) / seconds
    gaps = sorted(b - a for (a, _), (b, _) in itertools.pairwise(ticks))
    p99 = gaps[round(0.99 * (len(gaps) - 1))]
    print(f"\nfuzz: {state.outcomes}; bystander {rate:.1f} Hz over {seconds:.1f} s, ", end="")
    print(f"tick interval p99 {p99 * 1e3:.0f} ms")
    assert rate > 28.5, rate
    assert p99 < 0.1, p99


# -- the property ---------------------------------------------------------------------------

SERVER_CHATTER = ("waiting", "start", "snapshot")


async def answers(ws: WebsocketCommunicator, sentinel: float) -> list[dict[str, Any]]:
    """What the server sent up to and including the sentinel pong or a close."""
    got: list[dict[str, Any]] = []
    while True:
        out = await ws.receive_output(2)
        if out["type"] == "websocket.close":
            got.append({"type": "close", "code": out.get("code", 1000)})
            return got
        message = orjson.loads(out["bytes"])
        if message["type"] in SERVER_CHATTER:
            continue
        got.append(message)
        if message["type"] == "pong" and message["t"] == sentinel:
            return got


async def send_and_observe(state: LiveMatch, frame: str | bytes) -> list[dict[str, Any]]:
    ws = state.fuzzer
    key = "bytes" if isinstance(frame, bytes) else "text"
    await ws.send_input({"type": "websocket.receive", key: frame})  # empty frames too
    state.sentinel += 1  # x.25: a value the fuzzer is most unlikely to send itself
    await ws.send_to(text_data=f'{{"type":"ping","t":{-state.sentinel}}}')
    got = await answers(ws, -state.sentinel)
    if got[-1]["type"] == "close":  # closed: drain, reconnect, carry on fuzzing
        state.fuzzer = await join(state.harness, state.match, 0)
    return got


def check(kind: str, frame: str | bytes, got: list[dict[str, Any]], sentinel: float) -> None:
    kinds = [m["type"] for m in got]
    if kind == "too_big":
        assert got == [{"type": "close", "code": 1009}], (frame, got)
    elif kind == "bad":
        assert kinds in (["error", "pong"], ["error", "close"]), (frame, got)
        assert got[0]["code"] in BAD_CODES and got[0]["message"], got
        if kinds[1] == "close":
            assert got[1]["code"] == 1008, got  # the twentieth bad message in 10 s
    elif kind == "ping":
        assert kinds == ["pong", "pong"], (frame, got)
        assert got[0]["t"] == parse(frame)["t"] and isinstance(got[0]["tick"], int), got
    else:
        assert kinds == ["pong"], (frame, got)  # a valid input is taken without a word
    if kinds[-1] == "pong":
        assert got[-1]["t"] == -sentinel, got


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=FRAMES)
def test_every_frame_gets_its_documented_answer_and_the_match_plays_on(
    live: LiveMatch, frame: str | bytes
) -> None:
    live.first_example_at = min(live.first_example_at, time.monotonic())  # = loop.time()
    kind = expect(frame)
    live.outcomes[kind] = live.outcomes.get(kind, 0) + 1
    got = live.run(send_and_observe(live, frame))
    check(kind, frame, got, live.sentinel)


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        ('{"type":"input","seq":1,"dx":1,"dy":0,"aim":0,"fire":false}', "input"),
        ('{"type":"input","seq":1,"dx":1,"dy":0,"aim":0,"fire":0}', "bad"),
        ('{"type":"input","seq":true,"dx":1,"dy":0,"aim":0,"fire":false}', "bad"),
        ('{"type":"input","seq":1,"dx":1.5,"dy":0,"aim":0,"fire":false}', "bad"),
        ('{"type":"input","seq":1,"dx":1,"dy":0,"aim":1e400,"fire":false}', "bad"),
        ('{"type":"input","seq":1,"dx":1,"dy":0,"aim":NaN,"fire":false}', "bad"),
        ('{"type":"ping","t":99999999999999999999999}', "bad"),
        ('{"type":"ping","t":-4.5}', "ping"),
        ('{"type":"ping","t":1,"x":2}', "bad"),
        (b"\xff\xfe", "bad"),
        ("[]", "bad"),
        ('{"type":"ping","t":1,"pad":"' + "x" * 4096 + '"}', "too_big"),
    ],
)
def test_the_oracle_agrees_with_the_protocol_document(frame: str | bytes, kind: str) -> None:
    assert expect(frame) == kind
