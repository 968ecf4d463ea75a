"""The ceiling: a bare ASGI app (no framework) doing arena-30's two-way I/O and nothing else.

Served by the same uvicorn with the same options as `skirmish serve` (loadtest/pod.py), it
does what the socket side of a match cannot avoid: it accepts `/ws/matches/{id}`, receives
and parses (orjson) every client frame, answers each `ping` at once with a `pong`, keeps
each socket's last input `seq`, and on one pod-wide 30 Hz timer sends every socket one
frame per tick of the size of a Skirmish state message, its ack spliced into a body
encoded once per match. No game step, no validation, no framework: whatever Skirmish
spends beyond this is what Skirmish costs.

`ceiling-direct` (BENCH_BARE_DIRECT=1) is the same app taking its frames through the
direct-frames extension Skirmish's server offers (realtime/ws_protocol.py) instead of
ASGI's receive queue, as the match consumer does: the floor of that path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Coroutine
from typing import Any

import orjson

from loadtest.probe import TickProbe

SUBPROTOCOL = "skirmish.v1"
DIRECT_EXTENSION = (
    "skirmish.direct_frames"  # realtime/ws_protocol.py; not imported: no product code here
)
PREFIX = b'{"type":"snapshot","ack":'
DEFAULT_FRAME_BYTES = 360
ACK_DIGITS = 3  # a typical ack during a benchmark run; the frame size is approximate anyway


class Socket:
    __slots__ = ("last_seq", "send")

    def __init__(self, send: Any) -> None:
        self.send = send
        self.last_seq = 0


def send_now(send: Any, message: dict[str, Any]) -> bool:
    """Step the send coroutine inline: it completes at once unless the client is slow
    (uvicorn then waits before writing anything); such a frame is dropped. True if sent."""
    coro = send(message)
    assert isinstance(coro, Coroutine)
    try:
        coro.send(None)
    except StopIteration:
        return True
    except Exception:
        return False  # the peer is gone; its receive loop will see the disconnect
    coro.close()
    return False


class BareApp:
    def __init__(
        self, frame_bytes: int = DEFAULT_FRAME_BYTES, tick_rate: int = 30, direct: bool = False
    ) -> None:
        self.direct = direct
        self.frame_bytes = frame_bytes
        self.tick_rate = tick_rate
        self.matches: dict[str, list[Socket]] = {}
        self.tick = 0
        self.inputs = 0
        self.dropped = 0
        self.probe = TickProbe(lambda: self.inputs)
        self._ticker: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await self.websocket(scope, receive, send)
        elif kind == "http":
            await self.http(scope, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)

    async def http(self, scope: dict[str, Any], send: Any) -> None:
        status = 200 if scope["path"] in ("/healthz", "/readyz") else 404
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok" if status == 200 else b""})

    async def lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._ticker = asyncio.get_running_loop().create_task(self._run())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._ticker is not None:
                    self._ticker.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._ticker
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def websocket(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()  # websocket.connect
        offered = scope.get("subprotocols") or ()
        subprotocol = SUBPROTOCOL if SUBPROTOCOL in offered else None
        await send({"type": "websocket.accept", "subprotocol": subprotocol})
        sock = Socket(send)
        members = self.matches.setdefault(scope["path"], [])
        members.append(sock)
        direct = (scope.get("extensions") or {}).get(DIRECT_EXTENSION)
        if self.direct and direct is not None:
            direct["register"](lambda data: self._frame(sock, data))
        try:
            await self._read(sock, receive, send)
        finally:
            members.remove(sock)
            if not members:
                self.matches.pop(scope["path"], None)

    async def _read(self, sock: Socket, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                return
            data = message.get("text")
            self._frame(sock, data if data is not None else message["bytes"])

    def _frame(self, sock: Socket, data: str | bytes) -> None:
        msg = orjson.loads(data)
        kind = msg.get("type")
        if kind == "input":
            seq = msg.get("seq")
            if isinstance(seq, int) and seq > sock.last_seq:
                sock.last_seq = seq
                self.inputs += 1
        elif kind == "ping":
            pong = orjson.dumps({"type": "pong", "t": msg.get("t"), "tick": self.tick})
            send_now(sock.send, {"type": "websocket.send", "bytes": pong})

    def body(self) -> bytes:
        """This tick's shared body `{"tick":…,"pad":"…"}`, sized like a state message."""
        head = b'{"tick":%d,"pad":"' % self.tick
        pad = self.frame_bytes - len(PREFIX) - ACK_DIGITS - len(head) - 2
        return head + b"x" * max(pad, 0) + b'"}'

    def tick_all(self) -> None:
        self.probe.mark()
        self.tick += 1
        for members in self.matches.values():
            body = self.body()[1:]
            for sock in members:
                frame = b"%s%d,%s" % (PREFIX, sock.last_seq, body)
                if not send_now(sock.send, {"type": "websocket.send", "bytes": frame}):
                    self.dropped += 1

    async def _run(self) -> None:
        """The pod-wide schedule of realtime/match_host.py (one timer, aligned ticks)."""
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.tick_rate
        next_at = loop.time()
        while True:
            next_at += interval
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                if delay < -5 * interval:
                    next_at = loop.time()
                # Behind schedule: still yield once, or no socket is read until we catch up
                # (realtime/match_host.py lacks this; see docs/performance.md).
                await asyncio.sleep(0)
            self.tick_all()


def application_factory() -> BareApp:
    """For uvicorn's factory mode; frame size and tick rate from the environment."""
    frame_bytes = int(os.environ.get("BENCH_FRAME_BYTES", DEFAULT_FRAME_BYTES))
    tick_rate = int(os.environ.get("SKIRMISH_TICK_RATE", "30"))
    return BareApp(frame_bytes, tick_rate, direct=os.environ.get("BENCH_BARE_DIRECT") == "1")
