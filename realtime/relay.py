"""Cross-pod play over the channel layer, batched per tick and per pod pair.

When a player's socket sits on a pod (the *edge*) that does not own its match, the edge
forwards the player's inputs to the owner and the owner sends back what the player must
see. Per tick, each pod sends at most ONE layer message to each peer pod, carrying every
entry for it, in order:

    owner → edge   ["s", match_id, tick, body, [[conn, ack], …]]  snapshot body, encoded once
                   ["f", match_id, conn, frame]                     a frame for one socket
                   ["c", match_id, conn, code, reason]              close one socket
    edge → owner   ["j", match_id, conn, player_id]                 a socket joined
                   ["l", match_id, conn]                            a socket left
                   ["i", match_id, conn, seq, message]              one validated input

`conn` is the edge's id for the socket, so a late entry can never reach a newer socket of
the same player. Snapshot bodies travel as the owner encoded them and reach the sockets
untouched; acks are spliced per socket on the edge, as for local sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from realtime import metrics
from realtime.fanout import Outlet
from realtime.match_loop import Seat

log = logging.getLogger(__name__)

MAX_PENDING_ENTRIES = 20_000  # a peer that cannot keep up loses snapshots, not memory
KEEPALIVE_SECONDS = 1.0
BATCH_TYPE = "relay.batch"

Entry = list[Any]


class PodLink:
    """Everything this pod has for one peer pod, sent as one layer message per tick."""

    def __init__(self, layer: Any, own_channel: str, pod: str, peer_channel: str) -> None:
        self.layer = layer
        self.own_channel = own_channel
        self.pod = pod
        self.peer_channel = peer_channel
        self.entries: list[Entry] = []
        self._snapshots: dict[str, Entry] = {}  # this tick's snapshot entry per match
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # nothing pending, nothing in flight
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.last_heard = time.monotonic()
        self.last_sent = time.monotonic()
        self.messages_sent = 0
        self.entries_dropped = 0
        self.batches_lost = 0  # the peer's batches that never reached us (gaps in "seq")
        self._received_seq = 0

    def add(self, entry: Entry) -> None:
        if len(self.entries) >= MAX_PENDING_ENTRIES:  # the sender is stuck: shed the oldest
            del self.entries[: MAX_PENDING_ENTRIES // 2]
            self._snapshots.clear()
            self.entries_dropped += MAX_PENDING_ENTRIES // 2
            metrics.RELAY_ENTRIES_DROPPED.inc(MAX_PENDING_ENTRIES // 2)
        self.entries.append(entry)

    def add_snapshot(self, match_id: str, tick: int, body: bytes, conn: int, ack: int) -> None:
        entry = self._snapshots.get(match_id)
        if entry is None:
            entry = ["s", match_id, tick, body, []]
            self.add(entry)
            self._snapshots[match_id] = entry
        entry[4].append([conn, ack])

    def flush(self) -> None:
        """End of tick: hand what accumulated to the sender (or, after a quiet second, an
        empty batch: the peer learns we are alive, and drops our seats when we are not)."""
        self._snapshots.clear()
        now = time.monotonic()
        if not self.entries and now - self.last_sent < KEEPALIVE_SECONDS:
            return
        self.last_sent = now
        if self._task is None or self._task.done():  # (stopped with its relay, restarted)
            self._task = asyncio.get_running_loop().create_task(self._pump())
        self._idle.clear()
        self._wake.set()

    async def _pump(self) -> None:
        # The Redis layer can send without waiting for a reply (layers.py, `post`); others
        # (the pub/sub layer, tests' in-memory layer) take the stock `send`.
        send = getattr(self.layer, "post", None) or self.layer.send
        while True:
            await self._wake.wait()
            self._wake.clear()
            entries, self.entries = self.entries, []
            if len(entries) > MAX_PENDING_ENTRIES:
                self.entries_dropped += len(entries) - MAX_PENDING_ENTRIES
                entries = entries[-MAX_PENDING_ENTRIES:]
            message = {
                "type": BATCH_TYPE,
                "from": self.pod,
                "reply_to": self.own_channel,
                "seq": self.messages_sent + 1,
                "entries": entries,
            }
            try:
                await send(self.peer_channel, message)
                self.messages_sent += 1
                metrics.RELAY_BATCHES_SENT.inc()
                metrics.RELAY_ENTRIES_SENT.inc(len(entries))
            except Exception:  # full or unreachable: the next tick's state supersedes this
                self.entries_dropped += len(entries)
                metrics.RELAY_ENTRIES_DROPPED.inc(len(entries))
                log.warning(
                    "relay to %s failed; %d entries lost",
                    self.peer_channel,
                    len(entries),
                    exc_info=True,
                )
            if not self.entries:
                self._idle.set()  # what `close` waits for

    def note_received(self, seq: int) -> None:
        """Count the batches of this peer that went missing: sent (the channel full, Redis
        briefly away) but never received. A lower number is a restarted peer."""
        if seq > self._received_seq + 1 and self._received_seq:
            lost = seq - self._received_seq - 1
            self.batches_lost += lost
            metrics.RELAY_BATCHES_LOST.inc(lost)
        self._received_seq = seq

    async def close(self, grace: float = 1.0) -> None:
        """Stop, after giving what is pending (e.g. the closes of a drain) `grace` seconds."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


class RemoteConnection:
    """Owner side: a socket that lives on another pod, as the match loop sees it."""

    __slots__ = ("closed", "conn", "dropped", "link", "match", "slot")

    def __init__(self, link: PodLink, match: Any, slot: int, conn: int) -> None:
        self.link = link
        self.match = match
        self.slot = slot
        self.conn = conn
        self.closed = False
        self.dropped = 0

    def send_snapshot(self, ack: int, body: bytes) -> None:
        self.link.add_snapshot(self.match.id, self.match.tick, body, self.conn, ack)

    def send_frame(self, frame: bytes) -> None:
        if not self.closed:
            self.link.add(["f", self.match.id, self.conn, frame])

    def close(self, code: int, reason: str = "") -> None:
        if not self.closed:
            self.closed = True
            self.link.add(["c", self.match.id, self.conn, code, reason])


class RemoteMatch:
    """Edge side: a match owned by another pod, with this pod's sockets of it."""

    def __init__(self, record: Any, mode: Any, owner: Any, link: PodLink) -> None:
        self.id = record.id
        self.record = record
        self.mode = mode
        self.owner = owner  # the owner's Lease
        self.link = link
        self.tick = 0
        self.status = "running"
        self.seats = [Seat(p.player_id, p.name, p.slot) for p in record.players]
        self.conns: dict[int, Seat] = {}

    def seat_of(self, player_id: str) -> Seat | None:
        return next((s for s in self.seats if s.player_id == player_id), None)

    def connect(self, seat: Seat, connection: Outlet, conn: int) -> Outlet | None:
        previous, seat.connection = seat.connection, connection
        self.conns = {c: s for c, s in self.conns.items() if s is not seat}
        self.conns[conn] = seat
        seat.conn = conn
        self.link.add(["j", self.id, conn, seat.player_id])
        return previous

    def disconnect(self, seat: Seat, connection: Outlet) -> None:
        if seat.connection is connection:
            seat.connection = None
            self.conns.pop(seat.conn, None)
            self.link.add(["l", self.id, seat.conn])

    def accept_input(self, seat: Seat, seq: int, message: dict[str, Any]) -> None:
        self.mode.parse_input(message)  # refuse bad input here, before it crosses pods
        if seq > seat.last_seq:
            seat.last_seq = seq
            self.link.add(["i", self.id, seat.conn, seq, message])

    @property
    def empty(self) -> bool:
        return not self.conns

    def broadcast(self, message: dict[str, Any]) -> None:
        frame = orjson.dumps(message)
        for seat in self.conns.values():
            if seat.connection is not None:
                seat.connection.send_frame(frame)

    def close_all(self, code: int, reason: str = "") -> None:
        for conn, seat in self.conns.items():
            if seat.connection is not None:
                seat.connection.close(code, reason)
                seat.connection = None
            self.link.add(["l", self.id, conn])  # the owner frees the seat at once
        self.conns.clear()

    # -- entries from the owner ----------------------------------------------------------

    def on_snapshot(self, tick: int, body: bytes, acks: list[list[int]]) -> None:
        self.tick = tick
        for conn, ack in acks:
            seat = self.conns.get(conn)
            if seat is not None and seat.connection is not None:
                seat.connection.send_snapshot(ack, body)

    def on_frame(self, conn: int, frame: bytes) -> None:
        seat = self.conns.get(conn)
        if seat is not None and seat.connection is not None:
            seat.connection.send_frame(frame)

    def on_close(self, conn: int, code: int, reason: str) -> None:
        seat = self.conns.pop(conn, None)
        if seat is not None and seat.connection is not None:
            seat.connection.close(code, reason)
            seat.connection = None


class Relay:
    """The pod's side of cross-pod play: its channel, its links to peers, its remote seats."""

    def __init__(self, layer: Any, pod: str) -> None:
        self.layer = layer
        self.pod = pod
        self.channel = ""
        self.links: dict[str, PodLink] = {}
        self.remote: dict[str, RemoteMatch] = {}  # edge side, by match id
        self._conn_ids = itertools.count(1)
        self._receiver: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.layer is not None

    async def start(self, on_batch: Callable[[dict[str, Any]], None]) -> None:
        if self.layer is None:
            return
        if not self.channel:  # (a restarted relay keeps its channel and what waits there)
            self.channel = await self.layer.new_channel(prefix=f"skirmish.pod.{self.pod}")
        self._receiver = asyncio.get_running_loop().create_task(self._receive(on_batch))

    async def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.cancel()
            await asyncio.gather(self._receiver, return_exceptions=True)
        await asyncio.gather(*(link.close() for link in self.links.values()))
        close_dedicated = getattr(self.layer, "close_dedicated", None)
        if close_dedicated is not None:
            await close_dedicated()

    def next_conn_id(self) -> int:
        return next(self._conn_ids)

    def link(self, peer_channel: str) -> PodLink:
        link = self.links.get(peer_channel)
        if link is None:
            link = self.links[peer_channel] = PodLink(
                self.layer, self.channel, self.pod, peer_channel
            )
        return link

    def flush(self) -> None:
        for link in self.links.values():
            link.flush()

    def forget_idle_links(self, now: float, idle: float) -> None:
        """Links to pods that vanished (nothing heard, nothing relayed) are dropped."""
        in_use = {remote.link for remote in self.remote.values()}
        for channel, link in list(self.links.items()):
            if link not in in_use and now - link.last_heard > idle and not link.entries:
                del self.links[channel]
                asyncio.get_running_loop().create_task(link.close(grace=0))

    async def _receive(self, on_batch: Callable[[dict[str, Any]], None]) -> None:
        # Only this task reads the pod's channel: the Redis layer then reads it on a
        # connection of its own (layers.py, `receive_exclusive`).
        receive = getattr(self.layer, "receive_exclusive", None) or self.layer.receive
        while True:
            try:
                message = await receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("channel layer receive failed; retrying")
                await asyncio.sleep(0.5)
                continue
            if message.get("type") == BATCH_TYPE:
                metrics.RELAY_BATCHES_RECEIVED.inc()
                link = self.link(message["reply_to"])
                link.last_heard = time.monotonic()
                link.note_received(message.get("seq", 0))
                try:
                    on_batch(message)
                except Exception:
                    log.exception("bad relay batch from %s", message.get("from"))

    # -- edge side -----------------------------------------------------------------------

    def deliver_to_edge(self, entry: Entry) -> None:
        """Apply one owner→edge entry to this pod's sockets."""
        kind, match_id = entry[0], entry[1]
        remote = self.remote.get(match_id)
        if remote is None:
            return
        if kind == "s":
            remote.on_snapshot(entry[2], entry[3], entry[4])
        elif kind == "f":
            remote.on_frame(entry[2], entry[3])
        elif kind == "c":
            remote.on_close(entry[2], entry[3], entry[4])
            if remote.empty:
                del self.remote[match_id]
