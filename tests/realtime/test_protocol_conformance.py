"""The protocol's JSON Schema (GET /v1/protocol.json, skirmish/base/protocol_schema.py)
says what the server really does: every frame a player is sent in real matches of each
built-in mode validates against that match's `serverMessage`, the client messages the
realtime layer accepts are the ones `clientMessage` describes, and the tables the schema
copies (close codes, error codes, the envelope's limits) are realtime's own.

The schema module may not import realtime (the layers import downward only): these tests
are where the two are held together.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import json
import math
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from channels.testing import WebsocketCommunicator
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

import realtime
from game.modes import ArenaMode, ArenaRules, CtfMode, CtfRules, InputRejected, build_modes
from game.modes.base import GameMode
from realtime import close_codes, messages
from realtime.close_codes import CloseCode
from realtime.match_host import MatchHost
from realtime.messages import ProtocolError
from skirmish.base.errors import SkirmishError
from skirmish.base.protocol_schema import protocol_schema
from skirmish.base.protocol_tables import CLOSE_CODES, ERROR_CODES, MAX_SEQ
from skirmish.base.store import MemoryStore
from skirmish.base.store.records import MatchPlayer, MatchRecord
from tests.realtime.conftest import Harness, HarnessFactory

AnyMode = GameMode[Any, Any]
Message = dict[str, Any]

MODES = build_modes()  # what a server offers by default: the arena and ctf
DOCUMENT = protocol_schema(MODES)


def part(document: Message, pointer: str) -> Draft202012Validator:
    """A validator for one definition of the document (`pointer` is a `$ref`)."""
    root = {"$schema": document["$schema"], "$defs": document["$defs"], "$ref": pointer}
    return Draft202012Validator(root)


def of_mode(document: Message, mode: str, name: str) -> Draft202012Validator:
    return part(document, f"#/$defs/modes/$defs/{mode}/$defs/{name}")


def assert_valid(validator: Draft202012Validator, message: Any) -> None:
    error = best_match(validator.iter_errors(message))
    assert error is None, f"{message}\n{list(error.absolute_path)}: {error.message}"


# -- the tables the schema copies are realtime's -------------------------------------------


def close_code_rows() -> list[tuple[int, str, str]]:
    """realtime/close_codes.py's codes as (number, name, its comment)."""
    source = Path(close_codes.__file__).read_text()
    pattern = re.compile(r"\s+([A-Z_]+) = (\d+)  # (.+)")
    return [(int(m[2]), m[1], m[3]) for m in map(pattern.fullmatch, source.splitlines()) if m]


def test_the_close_codes_are_realtimes_with_their_meanings() -> None:
    declared = {k: v for k, v in vars(CloseCode).items() if not k.startswith("_")}
    rows = close_code_rows()
    assert {name: number for number, name, _ in rows} == declared  # every one was read
    assert list(CLOSE_CODES) == rows
    close_code = DOCUMENT["$defs"]["closeCode"]
    assert close_code["enum"] == [number for number, _, _ in rows]
    assert [(c["const"], c["title"], c["description"]) for c in close_code["oneOf"]] == rows


def codes_realtime_sends() -> set[str]:
    """Every `error.code` written in realtime/: the literal codes of `messages.error(...)`,
    `ProtocolError(...)` and the consumer's `_refuse(close, code, ...)`, and the codes of
    the SkirmishErrors realtime raises (the consumer sends those as they are)."""
    codes: set[str] = set()
    for path in sorted(Path(realtime.__file__).parent.glob("*.py")):
        module = importlib.import_module(f"realtime.{path.stem}")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if isinstance(func, ast.Attribute) and name == "error":
                    at = 0 if ast.unparse(func.value) == "messages" else None
                else:
                    at = {"ProtocolError": 0, "_refuse": 1}.get(name)
                if at is not None and len(node.args) > at:
                    arg = node.args[at]
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        codes.add(arg.value)
            elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                raised = getattr(module, ast.unparse(node.exc.func), None)
                if isinstance(raised, type) and issubclass(raised, SkirmishError):
                    codes.add(raised.code)
    return codes


def test_the_error_codes_are_the_ones_realtime_sends() -> None:
    found = codes_realtime_sends()
    assert {"bad_json", "unauthorized", "replaced", "match_over"} <= found  # the scan works
    assert found == set(ERROR_CODES)
    assert DOCUMENT["$defs"]["errorCode"]["enum"] == list(ERROR_CODES)


def test_the_envelope_limits_are_realtimes() -> None:
    assert MAX_SEQ == messages.MAX_SEQ
    defs = DOCUMENT["$defs"]
    assert set(defs["ping"]["properties"]) == messages.PING_FIELDS
    assert defs["ping"]["additionalProperties"] is False
    assert defs["inputEnvelope"]["properties"]["seq"]["maximum"] == messages.MAX_SEQ
    assert messages.SNAPSHOT_PREFIX.startswith(b'{"type":"snapshot"')
    assert set(defs["snapshotFields"]["properties"]) == {"type", "ack", "tick", "online"}


# -- what messages.py accepts is what the schema describes ---------------------------------

INPUT_ENVELOPE = part(DOCUMENT, "#/$defs/inputEnvelope")
PING = part(DOCUMENT, "#/$defs/ping")
CLIENT = part(DOCUMENT, "#/$defs/clientMessage")
EDGES = [0, 1, 2, -1, MAX_SEQ - 1, MAX_SEQ, MAX_SEQ + 1, -MAX_SEQ, -MAX_SEQ - 1, 1 << 63, 1 << 64]
small = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(-3, 3), st.text(max_size=2)
)
wide = st.one_of(
    small,
    st.integers(),
    st.sampled_from(EDGES),
    st.sampled_from(EDGES).map(float),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(0, 3), max_size=2),
)


def wire(message: Message) -> Any:
    """The message as the server parses it (orjson: an integer past 64 bits is a float)."""
    return messages.decode(json.dumps(message))


def refused(check: Callable[[Message], Any], message: Message) -> str | None:
    try:
        check(message)
    except ProtocolError as exc:
        return exc.code
    return None


@settings(max_examples=400, deadline=None)
@given(seq=wide, present=st.booleans())
def test_input_seq_accepts_what_the_envelope_describes(seq: Any, present: bool) -> None:
    message: Message = {"type": "input", "seq": seq} if present else {"type": "input"}
    code = refused(messages.input_seq, wire(message))
    assert code in (None, "invalid_message")
    described = INPUT_ENVELOPE.is_valid(json.loads(json.dumps(message)))
    if code is None:
        assert described, message
    elif described:  # the one thing a schema cannot say: JSON Schema counts 1.0 an integer
        assert isinstance(seq, float) and seq.is_integer(), message


@settings(max_examples=400, deadline=None)
@given(t=wide, present=st.booleans(), extra=st.sampled_from([None, "x", "seq", "type2"]))
def test_ping_time_accepts_what_the_ping_describes(t: Any, present: bool, extra: str) -> None:
    message: Message = {"type": "ping", "t": t} if present else {"type": "ping"}
    if extra is not None:
        message[extra] = 1
    parsed = wire(message)
    code = refused(messages.ping_time, parsed)
    assert code in (None, "invalid_message")
    described = PING.is_valid(json.loads(json.dumps(message)))
    if code is not None:
        assert not described, message
    elif not described:  # checked as written: a huge float is echoed, a huge integer refused
        assert isinstance(parsed["t"], float) and abs(parsed["t"]) > MAX_SEQ, message


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=3)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)


def finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict | list):
        return all(map(finite, value.values() if isinstance(value, dict) else value))
    return True


@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_decode_takes_json_objects_only(value: Any) -> None:
    frame = json.dumps(value)  # writes NaN and Infinity, which JSON has not: refused
    code = refused(messages.decode, frame)  # type: ignore[arg-type]
    assert (code is None) == (isinstance(value, dict) and finite(value)), frame
    assert code in (None, "bad_json")
    if not isinstance(value, dict):
        assert not CLIENT.is_valid(value)


@pytest.mark.parametrize("frame", ["", "not json", "{", '{"t": NaN}', "[1e999]", "\xff"])
def test_frames_that_are_not_json_are_bad_json(frame: str) -> None:
    assert refused(messages.decode, frame) == "bad_json"  # type: ignore[arg-type]


def verdict(frame: str, mode: AnyMode) -> str | None:
    """How the match socket answers a client frame: None if it takes it, else the error
    code (realtime/consumers.py's checks, in its order, without a socket)."""
    try:
        message = messages.decode(frame)
        kind = message.get("type")
        if kind == "input":
            messages.input_seq(message)
            mode.parse_input(message)
        elif kind == "ping":
            messages.ping_time(message)
        else:
            return "unknown_type"
    except ProtocolError as exc:
        return exc.code
    except InputRejected:
        return "invalid_message"
    return None


direction = st.floats(-1, 1)
VALID: dict[str, st.SearchStrategy[Message]] = {
    "arena": st.fixed_dictionaries(
        {
            "type": st.just("input"),
            "seq": st.integers(1, MAX_SEQ),
            "dx": direction,
            "dy": direction,
            "aim": st.floats(-10, 10),
            "fire": st.booleans(),
        }
    ),
    "ctf": st.fixed_dictionaries(
        {
            "type": st.just("input"),
            "seq": st.integers(1, MAX_SEQ),
            "dx": direction,
            "dy": direction,
            "sprint": st.booleans(),
        }
    ),
}
PINGS = st.fixed_dictionaries(
    {"type": st.just("ping"), "t": st.integers(-MAX_SEQ, MAX_SEQ) | st.floats(-1e15, 1e15)}
)
FIELDS = ["type", "seq", "t", "dx", "dy", "aim", "fire", "sprint", "x"]


CLIENT_OF = {name: of_mode(DOCUMENT, name, "clientMessage") for name in MODES}


def spoiled(valid: st.SearchStrategy[Message]) -> st.SearchStrategy[Message]:
    """Valid messages with one field changed, added or taken away (the modes' own fields
    get small values: tests/game/test_input_schemas.py covers the rest of theirs)."""

    def spoil(message: Message) -> st.SearchStrategy[Message]:
        changed = st.sampled_from(FIELDS).flatmap(
            lambda key: (wide if key in ("seq", "t") else small).map(
                lambda value: {**message, key: value}
            )
        )
        dropped = st.sampled_from(sorted(message)).map(
            lambda key: {k: v for k, v in message.items() if k != key}
        )
        return changed | dropped

    return valid.flatmap(spoil)


@pytest.mark.parametrize("mode_name", ["arena", "ctf"])
@settings(max_examples=500, deadline=None)
@given(data=st.data())
def test_the_socket_takes_what_the_modes_client_message_describes(
    mode_name: str, data: st.DataObject
) -> None:
    other = "ctf" if mode_name == "arena" else "arena"
    mine = VALID[mode_name] | PINGS
    message = data.draw(mine | spoiled(mine) | VALID[other])
    frame = json.dumps(message)
    code = verdict(frame, MODES[mode_name])
    described = CLIENT_OF[mode_name].is_valid(json.loads(frame))
    assert code is None or code in ERROR_CODES
    if code is None and not described:  # a ping's t is checked as written (above)
        t = messages.decode(frame).get("t")
        assert message["type"] == "ping" and isinstance(t, float) and abs(t) > MAX_SEQ
    if code is not None and described:  # a seq written as a float (above)
        assert message["type"] == "input" and isinstance(message["seq"], float), message


# -- every frame of real matches validates --------------------------------------------------


def quick_ctf() -> CtfMode:
    """Capture the flag over in a second (SKIRMISH_MODES names this factory)."""
    return CtfMode(CtfRules(time_limit_seconds=1))


QUICK = {
    "mode_specs": ["arena", f"{__name__}:quick_ctf"],
    "arena_time_limit_seconds": 1,
}


async def served_schema(harness: Harness) -> Message:
    """GET /v1/protocol.json from the very app that serves the match sockets."""
    transport = httpx.ASGITransport(app=harness.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pod") as client:
        resp = await client.get("/v1/protocol.json")
    assert resp.status_code == 200, resp.text
    document: Message = resp.json()
    assert document == protocol_schema(harness.services.modes)
    return document


class Client:
    """A player's socket that keeps every frame it was sent, raw, and how it closed."""

    def __init__(self, ws: WebsocketCommunicator) -> None:
        self.ws = ws
        self.frames: list[bytes] = []
        self.sent: list[Message] = []
        self.close_code: int | None = None

    @classmethod
    async def open(cls, harness: Harness, match_id: str, token: str | None) -> Client:
        protocols = ["skirmish.v1"] + ([] if token is None else ["token." + token])
        ws = WebsocketCommunicator(harness.app, f"/ws/matches/{match_id}", subprotocols=protocols)
        connected, _ = await ws.connect()
        assert connected
        return cls(ws)

    async def next(self, timeout: float = 3.0) -> Message | None:
        """The next frame, decoded (None: the server closed the socket)."""
        if self.close_code is not None:
            return None
        out = await self.ws.receive_output(timeout)
        if out["type"] == "websocket.close":
            self.close_code = int(out.get("code", 1000))
            return None
        assert out["type"] == "websocket.send", out
        frame = out.get("bytes")
        assert isinstance(frame, bytes), out  # the server sends binary frames only
        self.frames.append(frame)
        message: Message = orjson.loads(frame)
        return message

    async def until(self, kind: str) -> Message:
        for _ in range(1000):
            message = await self.next()
            assert message is not None, f"closed ({self.close_code}) before a {kind}"
            if message["type"] == kind:
                return message
        raise AssertionError(f"no {kind}")

    async def drain(self) -> None:
        while await self.next() is not None:
            pass

    async def send(self, message: Message | str) -> None:
        if isinstance(message, str):
            await self.ws.send_to(text_data=message)
        else:
            self.sent.append(message)
            await self.ws.send_to(text_data=json.dumps(message))


def an_input(mode: str, seq: int, rng: random.Random) -> Message:
    fields: Message = {"dx": rng.uniform(-1, 1), "dy": rng.uniform(-1, 1)}
    if mode == "arena":
        fields |= {"aim": rng.uniform(-4, 4), "fire": rng.random() < 0.3}
    else:
        fields |= {"sprint": rng.random() < 0.3}
    return {"type": "input", "seq": seq, **fields}


def assert_frames_conform(document: Message, mode: str, frames: list[bytes]) -> list[str]:
    """Every frame validates as a server message of a `mode` match; their types."""
    server = of_mode(document, mode, "serverMessage")
    generic = part(document, "#/$defs/serverMessage")
    kinds = []
    for frame in frames:
        message = orjson.loads(frame)
        assert_valid(server, message)
        assert generic.is_valid(message)
        kinds.append(message["type"])
    return kinds


BAD_FRAMES = [
    ("not json", "bad_json"),
    ('{"type":"dance"}', "unknown_type"),
    ('{"type":"input","seq":0}', "invalid_message"),
    ('{"type":"input","seq":99,"dx":5,"dy":0}', "invalid_message"),
    ('{"type":"ping","t":"soon"}', "invalid_message"),
]


@pytest.mark.parametrize("mode", ["arena", "ctf"])
async def test_every_frame_of_a_played_match_validates(
    harness_factory: HarnessFactory, mode: str
) -> None:
    """Through the real router, consumer and match host, from welcome to result: each
    frame as sent (binary, with its ack spliced into the shared snapshot)."""
    harness = await harness_factory(**QUICK)
    document = await served_schema(harness)
    client_message = of_mode(document, mode, "clientMessage")
    match = await harness.new_match(mode=mode)
    tokens = [harness.token(match, slot) for slot in (0, 1)]
    first = await Client.open(harness, match.id, tokens[0])
    await first.until("waiting")
    second = await Client.open(harness, match.id, tokens[1])
    rng, seq, errors = random.Random(7), 0, []
    await first.send({"type": "ping", "t": 1732526400123})
    await first.send({"type": "ping", "t": -0.5})
    for frame, _ in BAD_FRAMES:
        await first.send(frame)
    while (message := await first.next()) is not None:
        if message["type"] == "snapshot":
            seq += 1
            await first.send(an_input(mode, seq, rng))
        elif message["type"] == "error":
            errors.append(message["code"])
    await second.drain()
    assert errors == [code for _, code in BAD_FRAMES]
    assert first.close_code == second.close_code == CloseCode.NORMAL
    kinds = assert_frames_conform(document, mode, first.frames)
    assert {"welcome", "waiting", "start", "snapshot", "pong", "error", "result"} <= set(kinds)
    assert kinds[0] == "welcome" and kinds[-1] == "result"
    assert kinds.count("pong") == 2 and kinds.count("snapshot") > 10
    assert seq > 10  # inputs were acked on the way: some snapshot carries ack > 0
    assert any(orjson.loads(f).get("ack", 0) > 0 for f in first.frames)
    assert_frames_conform(document, mode, second.frames)
    for sent in first.sent:
        assert_valid(client_message, sent)
    for frame, _ in BAD_FRAMES[1:]:
        assert not client_message.is_valid(json.loads(frame)), frame
    codes = part(document, "#/$defs/closeCode")
    assert_valid(codes, first.close_code)


async def test_refusals_and_their_close_codes_validate(harness_factory: HarnessFactory) -> None:
    harness = await harness_factory(**QUICK)
    document = await served_schema(harness)
    mine, other = await harness.new_match(mode="ctf"), await harness.new_match()
    stranger = harness.services.tokens.issue_match("p_stranger", mine.id).token
    cases = [
        (mine.id, None, "unauthorized", CloseCode.UNAUTHORIZED),
        (mine.id, "not-a-jwt", "unauthorized", CloseCode.UNAUTHORIZED),
        (mine.id, harness.token(other, 0), "forbidden", CloseCode.FORBIDDEN),
        (mine.id, stranger, "forbidden", CloseCode.FORBIDDEN),
        (
            "m_missing",
            harness.services.tokens.issue_match("p_x", "m_missing").token,
            "not_found",
            CloseCode.NOT_FOUND,
        ),
    ]
    for match_id, token, code, close in cases:
        client = await Client.open(harness, match_id, token)
        await client.drain()
        assert [orjson.loads(f)["code"] for f in client.frames] == [code]
        assert client.close_code == close
        assert_frames_conform(document, "ctf", client.frames)
        assert_valid(part(document, "#/$defs/closeCode"), client.close_code)
    # The match over: a late socket is told so (4010); before that, the match's own frames.
    players = [await Client.open(harness, mine.id, harness.token(mine, s)) for s in (0, 1)]
    for player in players:
        await player.drain()
        assert_frames_conform(document, "ctf", player.frames)
    late = await Client.open(harness, mine.id, harness.token(mine, 0))
    await late.drain()
    assert [orjson.loads(f)["code"] for f in late.frames] == ["match_over"]
    assert late.close_code == CloseCode.MATCH_OVER
    assert_frames_conform(document, "ctf", late.frames)


async def test_a_draining_server_sends_a_valid_reconnect(harness_factory: HarnessFactory) -> None:
    harness = await harness_factory(**QUICK)
    document = await served_schema(harness)
    match = await harness.new_match()
    players = [await Client.open(harness, match.id, harness.token(match, s)) for s in (0, 1)]
    await players[0].until("snapshot")
    assert await harness.services.drain() == 2
    for player in players:
        await player.drain()
        kinds = assert_frames_conform(document, "arena", player.frames)
        assert kinds[-1] == "reconnect" and player.close_code == CloseCode.RESTART
    late = await Client.open(harness, match.id, harness.token(match, 0))
    await late.drain()  # this pod takes no match now: reconnect, elsewhere
    assert [orjson.loads(f)["code"] for f in late.frames] == ["server_restarting"]
    assert late.close_code == CloseCode.RESTART
    assert_frames_conform(document, "arena", late.frames)


# -- long matches, every event of each mode ------------------------------------------------


class Socket:
    """A player's socket as the match host sees it: each frame as the Connection would
    send it (a snapshot's shared body with this player's ack spliced in)."""

    def __init__(self) -> None:
        self.closed = False
        self.close_code: int | None = None
        self.frames: list[bytes] = []

    def send_snapshot(self, ack: int, body: bytes) -> None:
        self.frames.append(messages.snapshot_frame(ack, body))

    def send_frame(self, frame: bytes) -> None:
        self.frames.append(frame)

    def close(self, code: int, reason: str = "") -> None:
        self.closed, self.close_code = True, code


def toward(x: float, y: float, tx: float, ty: float) -> tuple[float, float]:
    dx, dy = tx - x, ty - y
    length = math.hypot(dx, dy) or 1.0
    return dx / length, dy / length


def clamp(v: float) -> float:
    return min(max(v, -1.0), 1.0)


def ctf_bots(mode: CtfMode, state: Any, rng: random.Random) -> Iterator[Message]:
    """Slots 0 and 1 raid the enemy flag and carry it home; 2 and 3 chase their own flag
    while it is carried, else roam near their base."""
    for slot, p in enumerate(state.players):
        team = slot % 2
        enemy_flag, own_flag = state.flags[1 - team], state.flags[team]
        if slot < 2:
            tx, ty = mode.bases[team] if enemy_flag.carrier == slot else enemy_flag[:2]
        elif own_flag.status == "carried":
            tx, ty = own_flag.x, own_flag.y
        else:
            tx, ty = mode.bases[team]
            if rng.random() < 0.5:
                tx, ty = tx + rng.uniform(-200, 200), ty + rng.uniform(-200, 200)
        dx, dy = toward(p.x, p.y, tx, ty)
        yield {
            "dx": clamp(dx + rng.uniform(-0.3, 0.3)),
            "dy": clamp(dy + rng.uniform(-0.3, 0.3)),
            "sprint": rng.random() < 0.5,
        }


def arena_bots(mode: ArenaMode, state: Any, rng: random.Random) -> Iterator[Message]:
    """Every fighter closes in on the nearest living one, aiming at it and firing."""
    for slot, f in enumerate(state.fighters):
        foes = [g for other, g in enumerate(state.fighters) if other != slot and g.hp > 0]
        if not foes:
            yield {"dx": 0, "dy": 0, "aim": 0, "fire": False}
            continue
        g = min(foes, key=lambda g: math.hypot(g.x - f.x, g.y - f.y))
        dx, dy = toward(f.x, f.y, g.x, g.y)
        aim = math.atan2(g.y - f.y, g.x - f.x) + rng.uniform(-0.1, 0.1)
        yield {"dx": dx / 2, "dy": dy / 2, "aim": aim, "fire": True}


async def play(
    mode: AnyMode, players: int, bots: Callable[[Any, Any, random.Random], Iterator[Message]]
) -> tuple[list[Socket], list[Message]]:
    """A whole match on a match host, bots at every seat; the sockets and what they sent."""
    store = MemoryStore()
    seats = tuple(MatchPlayer(player_id=f"p{i}", name=f"p{i}", slot=i) for i in range(players))
    record = MatchRecord(id="m", mode=mode.name, seed=0, players=seats, created_at=0.0)
    await store.add_match(record)
    host = MatchHost(store, {mode.name: mode}, tick_rate=mode.tick_rate, start_wait=0)
    sockets = [Socket() for _ in seats]
    for player, socket in zip(seats, sockets, strict=True):
        await host.attach("m", player.player_id, socket)
    hosted = host.owned.get("m")
    assert hosted is not None
    rng, sent = random.Random(0), []
    try:
        for seq in range(1, 5000):
            for seat, fields in zip(hosted.seats, bots(mode, hosted.state, rng), strict=True):
                message = {"type": "input", "seq": seq, **fields}
                assert hosted.accept_input(seat, seq, message)
                sent.append(message)
            host.scheduler.tick_all()
            if hosted.status != "running":
                break
        for _ in range(500):  # the result is written, then sent
            if all(s.closed for s in sockets):
                break
            await asyncio.sleep(0.01)
    finally:
        await host.stop()
    assert all(s.close_code == CloseCode.NORMAL for s in sockets)
    return sockets, sent


def events_seen(frames: list[bytes]) -> set[tuple[str, bool]]:
    """(kind, whether it names someone as null) of every event in these frames."""
    seen = set()
    for frame in frames:
        for event in orjson.loads(frame).get("events", []):
            seen.add((event[0], None in event))
    return seen


async def test_every_frame_of_a_long_ctf_match_validates() -> None:
    """Four players through tags, pickups, drops, returns and a capture, each seeing only
    what fog of war lets them: every frame fits the ctf view."""
    mode = CtfMode(CtfRules(capture_limit=1, flag_return_seconds=1.0, time_limit_seconds=60))
    sockets, sent = await play(mode, 4, ctf_bots)
    document = protocol_schema({"ctf": mode})
    for socket in sockets:
        kinds = assert_frames_conform(document, "ctf", socket.frames)
        assert kinds[0] == "welcome" and kinds[-1] == "result" and kinds.count("snapshot") > 300
    frames = [f for s in sockets for f in s.frames]
    assert {kind for kind, _ in events_seen(frames)} == {
        "tag", "pickup", "drop", "return", "capture",
    }  # fmt: skip
    snapshots = [m for m in map(orjson.loads, frames) if m["type"] == "snapshot"]
    assert any(row[6] is None for m in snapshots for row in m["players"])  # an enemy's stamina
    assert any(len(m["players"]) < 4 for m in snapshots)  # an enemy out of sight
    result = orjson.loads(sockets[0].frames[-1])
    assert result["reason"] == "capture_limit" and result["winner"] is not None
    client = of_mode(document, "ctf", "clientMessage")
    for message in sent[:: len(sent) // 200]:
        assert_valid(client, message)


async def test_every_frame_of_a_long_arena_match_validates() -> None:
    mode = ArenaMode(ArenaRules(score_limit=3))
    sockets, sent = await play(mode, 3, arena_bots)
    document = protocol_schema({"arena": mode})
    for socket in sockets:
        kinds = assert_frames_conform(document, "arena", socket.frames)
        assert kinds[0] == "welcome" and kinds[-1] == "result" and kinds.count("snapshot") > 100
    frames = [f for s in sockets for f in s.frames]
    assert {kind for kind, _ in events_seen(frames)} == {"hit", "kill", "respawn"}
    assert any(orjson.loads(f).get("shots") for f in frames)
    result = orjson.loads(sockets[0].frames[-1])
    assert result["reason"] == "score_limit" and len(result["players"]) == 3
    client = of_mode(document, "arena", "clientMessage")
    for message in sent[:: len(sent) // 200]:
        assert_valid(client, message)


class BrokenArena(ArenaMode):
    """From its fifth tick on, its step raises: the match ends as no contest."""

    def step(self, state: Any, inputs: Any, tick: int) -> Any:
        if tick >= 5:
            raise RuntimeError("a bug in the mode")
        return super().step(state, inputs, tick)


async def test_a_no_contest_result_validates() -> None:
    mode = BrokenArena()
    sockets, _ = await play(mode, 2, arena_bots)
    document = protocol_schema({"arena": mode})
    for socket in sockets:
        assert_frames_conform(document, "arena", socket.frames)
        result = orjson.loads(socket.frames[-1])
        assert result["reason"] == "no_contest" and result["players"] == []
