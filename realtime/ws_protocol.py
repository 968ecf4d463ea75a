"""uvicorn's websockets-sansio protocol, plus one ASGI extension: frames handed over directly.

A standard ASGI WebSocket delivers every client frame as a `websocket.receive` event: a
dict put into an asyncio.Queue, a future woken, the app's task stepped, its whole chain of
awaiting coroutines resumed; and uvicorn pauses reading the socket after each frame and
resumes it once the queue is empty again (two epoll changes, syscalls, per frame). For
the input that arrives 30 times a second per player that is most of what a frame costs
beyond parsing it (docs/performance.md).

An app that finds the extension `skirmish.direct_frames` in the scope may call its
`register(handler)`: from then on every whole data frame of that socket is passed to
`handler(text_or_bytes)` synchronously, from the protocol's `data_received`, in order;
frames already queued are handed over first. `unregister()` sends later frames back
through the queue (uvicorn then pauses reading after each one until the app receives it):
an app that stops reading must call it, or the socket would go on being read for it.
Everything else is unchanged: the handshake, `websocket.connect` and `websocket.disconnect`
events, `send`, close codes, keepalive pings, text frames checked for UTF-8 (1007). The
handler must not raise (the match consumer catches everything, see
realtime/consumer_base.py). Apps that never register, such as the benchmark's bare
ceiling, get uvicorn's behaviour exactly.

While a handler is registered and the websockets parser sits between frames, the common
frame (whole, masked, no RSV bit, text or binary, within the size limit) is unframed here
(mask removed by websockets' own C `apply_mask`) instead of by the parser's generator
chain, which cost about a quarter of a loaded pod's CPU. Everything else (control frames,
fragments, 64-bit lengths, anything malformed or too big, a frame not all here yet) and
every byte after it goes to the parser from a frame boundary, so it decides and answers
exactly as before.

Built on uvicorn internals (`send_receive_event_to_app`, `frames`, `queue`): pyproject.toml
pins the uvicorn minor version it was written against, and the live tests exercise it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import apply_mask
from websockets.protocol import State
from websockets.streams import StreamReader

EXTENSION = "skirmish.direct_frames"

FrameHandler = Callable[[str | bytes], None]


def _innermost(generator: Any) -> Any:
    while (inner := getattr(generator, "gi_yieldfrom", None)) is not None:
        generator = inner
    return getattr(generator, "gi_code", None)


_AT_EOF = StreamReader.at_eof.__code__


def receive_event_data(message: dict[str, Any]) -> str | bytes:
    """The payload of an ASGI `websocket.receive` event: its text, else its bytes."""
    text = message.get("text")
    return text if text is not None else message.get("bytes") or b""


TEXT, BINARY = 0x1, 0x2
WHOLE_PLAIN_FRAME = 0x80  # FIN set, RSV bits clear: what the fast path takes (+ opcode)


class DirectFramesProtocol(WebSocketsSansIOProtocol):
    frame_handler: FrameHandler | None = None

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:  # the app's task is created, not yet started: it will see this
            scope["extensions"][EXTENSION] = {
                "register": self._register,
                "unregister": self._unregister,
            }

    def connection_lost(self, exc: Exception | None) -> None:
        # Break the cycles (protocol → scope → register → protocol; protocol → handler →
        # consumer → send → protocol) so that the connection is freed at once, not by a
        # full collection.
        self.frame_handler = None
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"].pop(EXTENSION, None)
        super().connection_lost(exc)

    def _register(self, handler: FrameHandler) -> None:
        queued: list[Any] = []
        while not self.queue.empty():
            queued.append(self.queue.get_nowait())
        self.frame_handler = handler
        try:
            while queued and self.frame_handler is handler:
                message = queued.pop(0)
                if message["type"] == "websocket.receive":
                    handler(receive_event_data(message))
                else:  # a disconnect stays for the app's receive loop
                    self.queue.put_nowait(message)
        finally:
            for message in queued:  # unregistered meanwhile, or the handler raised
                self.queue.put_nowait(message)
        if self.read_paused and self.queue.empty():
            self.read_paused = False
            self.transport.resume_reading()

    def _unregister(self) -> None:
        self.frame_handler = None

    def data_received(self, data: bytes) -> None:
        if self.frame_handler is not None and self._parser_between_frames():
            data = self._take_frames(data)
            if not data:
                return
        super().data_received(data)

    def _parser_between_frames(self) -> bool:
        conn = self.conn
        return (
            conn.state is State.OPEN
            and conn.current_size is None  # not inside a fragmented message
            and conn.parser_exc is None
            and not conn.reader.buffer
            and not self.close_sent
            and _innermost(conn.parser) is _AT_EOF  # its generator waits for a new frame
        )

    def _take_frames(self, data: bytes) -> bytes:
        """Hand whole plain data frames to the handler; return the rest, from the first
        frame the parser must judge or the first one not all here yet (the parser holds
        that one until it is whole, and the fast path resumes after it)."""
        limit = self._size_limit()
        end, at = len(data), 0
        while at + 2 <= end:
            head, length = data[at], data[at + 1] ^ 0x80  # clients must mask: bit 7 set
            if head & 0xF0 != WHOLE_PLAIN_FRAME or head & 0x0F not in (TEXT, BINARY):
                break
            start = at + 6
            if length == 126:
                if at + 4 > end:
                    break
                length, start = (data[at + 2] << 8) | data[at + 3], at + 8
            elif length > 125:  # unmasked (bit 7 clear), or a 64-bit length
                break
            if length > limit or start + length > end:
                break
            payload = apply_mask(data[start : start + length], data[start - 4 : start])
            self._deliver(head & 0x0F, payload)
            at = start + length
            if self.frame_handler is None or self.close_sent or self.transport.is_closing():
                break
        return data[at:]

    def _size_limit(self) -> int:
        limits = [self.conn.max_message_size, self.conn.max_fragment_size]
        return min((n for n in limits if n is not None), default=1 << 62)

    def _deliver(self, opcode: int, payload: bytes) -> None:
        self.curr_msg_data_type = "text" if opcode == TEXT else "bytes"
        self.frames = [payload]
        self.send_receive_event_to_app()

    def send_receive_event_to_app(self) -> None:
        handler = self.frame_handler
        if handler is None or self.close_sent:
            super().send_receive_event_to_app()
            return
        frames, self.frames = self.frames, []
        data = frames[0] if len(frames) == 1 else b"".join(frames)
        if self.curr_msg_data_type == "text":
            try:
                text = bytes(data).decode()
            except UnicodeDecodeError:
                self.logger.info("invalid UTF-8 in a text frame from a client; closing (1007)")
                if self.conn.state is State.OPEN:  # not if the client's close came first
                    self.conn.send_close(1007)
                self.handle_parser_exception()
                return
            handler(text)
        else:
            handler(bytes(data))
