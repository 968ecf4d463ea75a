"""Every input is applied exactly once, in seq order, or the player is told it was not
(docs/protocol.md, "Reconnecting"): what waited when a socket dropped comes back with the
client's resend, a checkpoint hands over no half-held inputs, and an input pushed out of a
full buffer is answered with `input_dropped`, also to a socket relayed from another pod.

Through the real router, consumer and match host (channels' communicator), and the real
owner and edge ends of the relay with only the channel layer between them left out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

from game.modes.arena import ArenaMode
from realtime.close_codes import CloseCode
from realtime.hosted_match import INPUT_BUFFER, HostedMatch
from realtime.match_host import MatchHost
from realtime.ownership import Lease
from realtime.relay import Relay
from realtime.relay_edge import EdgeSide
from skirmish.base.protocol_schema import protocol_schema
from skirmish.base.settings import Settings
from skirmish.base.store import MemoryStore
from skirmish.base.store.records import MatchPlayer, MatchRecord
from tests.realtime.conftest import HarnessFactory, receive_until

Message = dict[str, Any]
MODES = Settings(token_secret="x" * 32).modes


def an_input(seq: int) -> Message:
    return {"type": "input", "seq": seq, "dx": 1.0, "dy": 0.0, "aim": 0.0, "fire": False}


def frame(seq: int) -> str:
    return orjson.dumps(an_input(seq)).decode()


def applied_seqs(hosted: HostedMatch, slot: int) -> list[int]:
    """The seqs of `slot`'s inputs as the match applied them (its input record: all of it
    still in memory, no checkpoint having written any in so short a match)."""
    record = hosted.inputs
    assert record is not None and record.saved == 0
    return [m["seq"] for _, s, m in record.unsaved if s == slot and m is not None]


async def test_inputs_waiting_when_the_socket_drops_are_applied_after_the_resend(
    harness_factory: HarnessFactory,
) -> None:
    # The match waits for its second player: inputs queue and none is applied yet.
    harness = await harness_factory(record_replays=True, match_start_wait_seconds=30)
    match = await harness.new_match(players=2)
    first, welcome = await harness.join(match, 0)
    assert welcome["last_seq"] == 0
    for seq in (1, 2, 3):
        await first.send_to(text_data=frame(seq))
    await first.send_to(text_data='{"type":"ping","t":1}')
    await receive_until(first, lambda m: m["type"] == "pong")  # all three are in
    hosted = harness.services.host.owned.get(match.id)
    assert hosted is not None and hosted.seats[0].last_seq == 3
    await first.disconnect()

    # Back: the server holds none of them, and says so; the resend is taken, not ignored.
    again, welcome = await harness.join(match, 0)
    assert welcome["last_seq"] == 0
    for seq in (1, 2, 3, 4):  # the resend, then a new one
        await again.send_to(text_data=frame(seq))
    other, _ = await harness.join(match, 1)  # the match starts
    await receive_until(again, lambda m: m["type"] == "snapshot" and m["ack"] == 4)
    assert applied_seqs(hosted, 0) == [1, 2, 3, 4]
    await again.disconnect()
    await other.disconnect()


async def test_an_input_pushed_out_of_a_full_buffer_is_answered_with_its_seq(
    harness_factory: HarnessFactory,
) -> None:
    # Open buckets, so that only the buffer limits what is taken; 30 inputs are more than
    # the 20 bad messages that close a socket, and the socket stays open.
    harness = await harness_factory(
        record_replays=True,
        match_start_wait_seconds=30,
        ws_inputs_per_second=1000,
        ws_input_burst=100,
    )
    document = protocol_schema(harness.services.settings.modes)
    server_message = Draft202012Validator(
        {"$schema": document["$schema"], "$defs": document["$defs"], "$ref": "#/$defs/error"}
    )
    match = await harness.new_match(players=2)
    ws, _ = await harness.join(match, 0)
    for seq in range(1, 31):
        await ws.send_to(text_data=frame(seq))
    errors = [await receive_until(ws, lambda m: m["type"] == "error") for _ in range(26)]
    assert [e["code"] for e in errors] == ["input_dropped"] * 26
    assert [e["seq"] for e in errors] == list(range(1, 27))
    for error in errors:
        server_message.validate(error)
    other, _ = await harness.join(match, 1)  # the match starts: the four left are applied
    await receive_until(ws, lambda m: m["type"] == "snapshot" and m["ack"] == 30)
    hosted = harness.services.host.owned.get(match.id)
    assert hosted is not None and applied_seqs(hosted, 0) == [27, 28, 29, 30]
    await ws.send_to(text_data='{"type":"ping","t":2}')  # still open: none counted as bad
    assert (await receive_until(ws, lambda m: m["type"] in ("pong", "error")))["type"] == "pong"
    await ws.disconnect()
    await other.disconnect()


def hosted_arena(players: int = 2) -> HostedMatch:
    seats = tuple(MatchPlayer(player_id=f"p{i}", name=f"p{i}", slot=i) for i in range(players))
    record = MatchRecord(id="m", mode="arena", seed=1, players=seats, created_at=0.0)
    return HostedMatch(record, ArenaMode(), start_deadline=0.0, clock=lambda: 0.0)


class Socket:
    """A player's socket as the match sees it: the frames it was sent."""

    def __init__(self) -> None:
        self.closed = False
        self.frames: list[Message] = []

    def send_snapshot(self, ack: int, body: bytes) -> None:
        self.frames.append({"type": "snapshot", "ack": ack})

    def send_frame(self, frame: bytes) -> None:
        self.frames.append(orjson.loads(frame))

    def close(self, code: int, reason: str = "") -> None:
        self.closed = True


def test_a_restored_match_holds_each_seat_up_to_its_last_applied_input() -> None:
    before = hosted_arena()
    seat = before.seats[0]
    before.connect(seat, Socket())
    for seq in (1, 2, 3):
        before.accept_input(seat, seq, an_input(seq))
    before.advance(1.0)  # seq 1 applied; 2 and 3 wait
    checkpoint = before.checkpoint()
    assert checkpoint["seats"][0] == [3, 1]  # the format stays [last_seq, applied_seq]

    after = hosted_arena()
    after.restore(orjson.loads(orjson.dumps(checkpoint)))
    socket = Socket()
    after.connect(after.seats[0], socket)
    assert socket.frames[0]["type"] == "welcome" and socket.frames[0]["last_seq"] == 1
    assert after.accept_input(after.seats[0], 2, an_input(2))  # the resend is taken
    assert not after.accept_input(after.seats[0], 2, an_input(2))  # once
    after.advance(2.0)
    assert after.seats[0].applied_seq == 2


def test_a_replaced_socket_keeps_what_waits_and_the_welcome_says_so() -> None:
    """A new socket of the same player before the old one is seen to drop: nothing is
    forgotten, so nothing needs resending above `last_seq`."""
    hosted = hosted_arena()
    seat = hosted.seats[0]
    hosted.connect(seat, Socket())
    for seq in (1, 2):
        hosted.accept_input(seat, seq, an_input(seq))
    socket = Socket()
    hosted.connect(seat, socket)
    assert socket.frames[0]["last_seq"] == 2 and len(seat.inbox) == 2


class TwoPods:
    """An owner pod's match host and an edge pod's relayed copy of its match "m1": their
    entries are handed across as the relay carries them, without the channel layer."""

    def __init__(self, owner: MatchHost, edge: EdgeSide, record: MatchRecord) -> None:
        self.owner, self.edge = owner, edge
        self.remote = edge.follow(record, MODES["arena"], Lease("m1", "owner", 1, "owner-ch"))
        self._sent = self._received = 0

    def relay(self) -> None:
        """Edge to owner, then owner to edge: the entries added since the last call."""
        entries = self.remote.link.entries[self._sent :]
        self._sent += len(entries)
        self.owner.on_batch({"type": "relay.batch", "reply_to": "edge", "entries": entries})
        back = self.owner.relay.link("edge").entries[self._received :]
        self._received += len(back)
        for entry in back:
            self.edge.deliver(entry)


@pytest.fixture
async def pods() -> AsyncIterator[TwoPods]:
    store = MemoryStore()
    players = tuple(MatchPlayer(player_id=f"p{i}", name=f"p{i}", slot=i) for i in range(2))
    record = MatchRecord(id="m1", mode="arena", seed=1, players=players, created_at=0.0)
    await store.add_match(record)
    owner = MatchHost(store, MODES, tick_rate=30, start_wait=60, pod="owner")
    await owner.find("m1")  # the first socket of m1 reached the owner: it hosts m1
    yield TwoPods(owner, EdgeSide(Relay(None, "edge")), record)
    await owner.stop()


async def test_input_dropped_reaches_a_socket_relayed_from_another_pod(pods: TwoPods) -> None:
    socket = Socket()
    seat = pods.remote.seats[0]
    pods.edge.connect(pods.remote, seat, socket)
    for seq in range(1, INPUT_BUFFER + 3):
        pods.remote.accept_input(seat, seq, an_input(seq))
    pods.relay()
    dropped = [f for f in socket.frames if f["type"] == "error"]
    assert [(f["code"], f["seq"]) for f in dropped] == [("input_dropped", 1), ("input_dropped", 2)]


async def test_a_resend_through_the_same_edge_pod_reaches_the_owner(pods: TwoPods) -> None:
    seat = pods.remote.seats[0]
    first = Socket()
    pods.edge.connect(pods.remote, seat, first)
    for seq in (1, 2, 3):  # the match waits for its other player: they wait too
        pods.remote.accept_input(seat, seq, an_input(seq))
    pods.relay()
    pods.remote.disconnect(seat, first)  # the socket drops; the player comes back here
    again = Socket()
    pods.edge.connect(pods.remote, seat, again)
    pods.relay()
    assert again.frames[0]["type"] == "welcome" and again.frames[0]["last_seq"] == 0
    for seq in (1, 2, 3):  # the resend
        pods.remote.accept_input(seat, seq, an_input(seq))
    pods.relay()
    hosted = pods.owner.owned.get("m1")
    assert hosted is not None and [s for s, _, _ in hosted.seats[0].inbox] == [1, 2, 3]


async def test_a_socket_closed_for_bad_messages_loses_only_what_waited(
    harness_factory: HarnessFactory,
) -> None:
    """1008 for bad messages: the seat's queued inputs are forgotten like any drop's, and
    the welcome of the next socket says where to resend from."""
    harness = await harness_factory(match_start_wait_seconds=30, ws_bad_message_limit=2)
    match = await harness.new_match(players=2)
    ws, _ = await harness.join(match, 0)
    await ws.send_to(text_data=frame(1))
    for _ in range(2):
        await ws.send_to(text_data="not json")
    out = None
    while out is None or out["type"] != "websocket.close":
        out = await ws.receive_output(2)
    assert out["code"] == CloseCode.POLICY
    again, welcome = await harness.join(match, 0)
    assert welcome["last_seq"] == 0
    await again.disconnect()
