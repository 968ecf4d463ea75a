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
                   ["m", match_id, conn, text, team]                a checked chat line

and for spectators (spectators.py, watch_edge.py), one entry per watched match and pod:

    owner → watcher ["v", match_id, tick, body]  a delayed spectator view, encoded once
                    ["vf", match_id, frame]       a frame for all its spectators there
                    ["vc", match_id, code, reason] close them all
    watcher → owner ["w", match_id, count]        how many of its sockets watch (0: none)

`conn` is the edge's id for the socket, so a late entry can never reach a newer socket of
the same player. Snapshot bodies travel as the owner encoded them and reach the sockets
untouched; acks are spliced per socket on the edge, as for local sockets.

This module is the transport: the pod's channel and a `PodLink` per peer. The owner's end
is relay_owner.py, the edge's end relay_edge.py. Other messages may reach the pod's
channel too (a group the pod joined: room_bus.py): each type has its handler (`Relay.on`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from realtime import metrics

log = logging.getLogger(__name__)

MAX_PENDING_ENTRIES = 20_000  # a peer that cannot keep up loses snapshots, not memory
KEEPALIVE_SECONDS = 1.0
BATCH_TYPE = "relay.batch"

Entry = list[Any]
Message = dict[str, Any]
OnBatch = Callable[[Message], None]
OnMessage = Callable[[Message], None]


class RelayLayer(Protocol):
    """What the relay needs of a channel layer: a process-local channel to read alone, and
    a send that asks for no more than the transport needs (realtime/layers.py builds one)."""

    async def new_channel(self, prefix: str = "specific") -> str: ...

    async def post(self, channel: str, message: Message) -> None:
        """Send one message to a channel; a refusal may surface on a later post."""
        ...

    async def receive_exclusive(self, channel: str) -> Message:
        """The next message of a channel that only this caller reads."""
        ...

    async def close_dedicated(self) -> None:
        """Close what the posts and exclusive reads opened."""
        ...


class PodLink:
    """Everything this pod has for one peer pod, sent as one layer message per tick."""

    def __init__(
        self, layer: RelayLayer | None, own_channel: str, pod: str, peer_channel: str
    ) -> None:
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
        if entry is None or entry[3] is not body:  # a new tick, or another player's own view
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
                if self.layer is None:  # an embedded pod relays nothing
                    raise RuntimeError("no channel layer")
                await self.layer.post(self.peer_channel, message)
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


class Relay:
    """The pod's end of cross-pod play: its channel and its links to peer pods. Without a
    layer (one embedded pod) it is off: nothing is relayed."""

    def __init__(self, layer: RelayLayer | None, pod: str) -> None:
        self.layer = layer
        self.pod = pod
        self.channel = ""
        self.links: dict[str, PodLink] = {}
        self._conn_ids = itertools.count(1)
        self._receiver: asyncio.Task[None] | None = None
        self._handlers: dict[str, OnMessage] = {}

    @property
    def enabled(self) -> bool:
        return self.layer is not None

    async def start(self, on_batch: OnBatch) -> None:
        if self.layer is None:
            return
        if not self.channel:  # (a restarted relay keeps its channel and what waits there)
            self.channel = await self.layer.new_channel(prefix=f"skirmish.pod.{self.pod}")
        self._receiver = asyncio.get_running_loop().create_task(self._receive(self.layer, on_batch))

    async def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.cancel()
            await asyncio.gather(self._receiver, return_exceptions=True)
        await asyncio.gather(*(link.close() for link in self.links.values()))
        if self.layer is not None:
            await self.layer.close_dedicated()

    def on(self, kind: str, handler: OnMessage) -> None:
        """Have `handler` take the messages of type `kind` that reach the pod's channel
        (besides the relay's own batches). It is called on the reading task: it must not
        block, and what it raises is logged."""
        if kind == BATCH_TYPE:
            raise ValueError(f"{BATCH_TYPE} is the relay's own")
        self._handlers[kind] = handler

    def off(self, kind: str) -> None:
        self._handlers.pop(kind, None)

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

    def forget_idle_links(self, now: float, idle: float, in_use: set[PodLink]) -> None:
        """Links to pods that vanished (nothing heard, nothing relayed) are dropped."""
        for channel, link in list(self.links.items()):
            if link not in in_use and now - link.last_heard > idle and not link.entries:
                del self.links[channel]
                asyncio.get_running_loop().create_task(link.close(grace=0))

    async def _receive(self, layer: RelayLayer, on_batch: OnBatch) -> None:
        # Only this task reads the pod's channel: the Redis layer then reads it on a
        # connection of its own (layers.py, `receive_exclusive`).
        while True:
            try:
                message = await layer.receive_exclusive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("channel layer receive failed; retrying")
                await asyncio.sleep(0.5)
                continue
            kind = message.get("type")
            if kind == BATCH_TYPE:
                self.hand_over(message, on_batch)
            else:
                self._dispatch(kind, message)

    def _dispatch(self, kind: Any, message: Message) -> None:
        handler = self._handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            log.debug("no handler for a %r message on the pod's channel", kind)
            return
        try:  # one bad message must not end the receiving
            handler(message)
        except Exception:
            log.exception("handling a %r message failed", kind)

    def hand_over(self, message: Message, on_batch: OnBatch) -> None:
        """One batch received from a peer: note it on the peer's link, then act on it."""
        metrics.RELAY_BATCHES_RECEIVED.inc()
        link = self.link(message["reply_to"])
        link.last_heard = time.monotonic()
        link.note_received(message.get("seq", 0))
        try:  # one bad batch must not end the receiving
            on_batch(message)
        except Exception:
            log.exception("bad relay batch from %s", message.get("from"))
