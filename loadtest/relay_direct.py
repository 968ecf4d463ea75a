"""Benchmark patch `relay-direct`: relay batches sent pod to pod over TCP, not through Redis.

One TCP connection per peer pod carries each batch as a 4-byte length and the batch in
msgpack, as the channel layer would serialize it. Loopback only, no authentication, no
reconnect or backlog: a measurement of what leaving Redis out of the relay's path would
save (docs/performance.md, "Session 5"), not a transport. The pod's listening port rides
in its channel name, so leases and batches carry it unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import re
import struct
import time
from collections.abc import Callable
from typing import Any

import msgpack

from realtime import metrics
from realtime.relay import PodLink, Relay

log = logging.getLogger(__name__)
LENGTH = struct.Struct("!I")
PORT_IN_CHANNEL = re.compile(r"\.p(\d+)\.")
OnBatch = Callable[[dict[str, Any]], None]


class Inbound(asyncio.Protocol):
    """A peer's connection: whole batches go where Relay._receive would hand them."""

    def __init__(self, relay: Relay, on_batch: OnBatch) -> None:
        self.relay = relay
        self.on_batch = on_batch
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= LENGTH.size:
            (size,) = LENGTH.unpack_from(self.buffer)
            end = LENGTH.size + size
            if len(self.buffer) < end:
                return
            message = msgpack.unpackb(self.buffer[LENGTH.size : end])
            del self.buffer[:end]
            metrics.RELAY_BATCHES_RECEIVED.inc()
            link = self.relay.link(message["reply_to"])
            link.last_heard = time.monotonic()
            link.note_received(message.get("seq", 0))
            try:  # as Relay._receive: one bad batch must not end the connection
                self.on_batch(message)
            except Exception:
                log.exception("bad relay batch from %s", message.get("from"))


class DirectPoster:
    """What PodLink._pump sends with (`post`): a connection per peer channel."""

    def __init__(self) -> None:
        self.peers: dict[str, asyncio.Transport] = {}

    async def post(self, channel: str, message: dict[str, Any]) -> None:
        transport = self.peers.get(channel)
        if transport is None or transport.is_closing():
            found = PORT_IN_CHANNEL.search(channel)
            if found is None:
                raise ValueError(f"not a relay-direct channel: {channel}")
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_connection(
                asyncio.Protocol, "127.0.0.1", int(found[1])
            )
            self.peers[channel] = transport
        body = msgpack.packb(message)
        transport.write(LENGTH.pack(len(body)) + body)


async def start(relay: Relay, on_batch: OnBatch) -> None:
    """Relay.start: listen instead of reading a layer channel; the port names the channel."""
    if relay.layer is None:
        return
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Inbound(relay, on_batch), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    relay.channel = await relay.layer.new_channel(prefix=f"skirmish.pod.{relay.pod}.p{port}")


def install() -> None:
    poster = DirectPoster()
    pump = PodLink._pump

    async def direct_pump(link: PodLink) -> None:
        link.layer = poster
        await pump(link)

    Relay.start = start  # type: ignore[method-assign,assignment]
    PodLink._pump = direct_pump  # type: ignore[method-assign,assignment]
