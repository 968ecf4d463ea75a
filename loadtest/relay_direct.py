"""Benchmark option `relay-direct`: a `RelayLayer` that sends relay batches pod to pod over
TCP, not through Redis.

One TCP connection per peer pod carries each batch as a 4-byte length and the batch in
msgpack, as the channel layer would serialize it. Loopback only, no authentication, no
reconnect or backlog: a measurement of what leaving Redis out of the relay's path would
save (docs/performance.md), not a transport. The pod's listening port rides in its channel
name, so leases and batches carry it unchanged.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import struct
from typing import Any

import msgpack

LENGTH = struct.Struct("!I")
PORT_IN_CHANNEL = re.compile(r"\.p(\d+)\.")
Message = dict[str, Any]


class Inbound(asyncio.Protocol):
    """A peer's connection: each whole batch goes to the pod's channel queue."""

    def __init__(self, inbox: asyncio.Queue[Message]) -> None:
        self.inbox = inbox
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= LENGTH.size:
            (size,) = LENGTH.unpack_from(self.buffer)
            end = LENGTH.size + size
            if len(self.buffer) < end:
                return
            self.inbox.put_nowait(msgpack.unpackb(self.buffer[LENGTH.size : end]))
            del self.buffer[:end]


class DirectLayer:
    """The relay's layer (realtime.relay.RelayLayer) as TCP connections between pods."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.peers: dict[str, asyncio.Transport] = {}
        self.server: asyncio.Server | None = None

    async def new_channel(self, prefix: str = "specific") -> str:
        """Listen for peers; the port is part of the channel's name."""
        loop = asyncio.get_running_loop()
        inbox = self.inbox
        self.server = await loop.create_server(lambda: Inbound(inbox), "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"{prefix}.p{port}.!{secrets.token_hex(6)}"

    async def post(self, channel: str, message: Message) -> None:
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

    async def receive_exclusive(self, channel: str) -> Message:
        return await self.inbox.get()

    async def close_dedicated(self) -> None:
        for transport in self.peers.values():
            transport.close()
        if self.server is not None:
            self.server.close()
