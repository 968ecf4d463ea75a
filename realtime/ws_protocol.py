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

Built on uvicorn internals (`send_receive_event_to_app`, `frames`, `queue`): pyproject.toml
pins the uvicorn minor version it was written against, and the live tests exercise it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

EXTENSION = "skirmish.direct_frames"

FrameHandler = Callable[[str | bytes], None]


def receive_event_data(message: dict[str, Any]) -> str | bytes:
    """The payload of an ASGI `websocket.receive` event: its text, else its bytes."""
    text = message.get("text")
    return text if text is not None else message.get("bytes") or b""


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
                self.conn.send_close(1007)
                self.handle_parser_exception()
                return
            handler(text)
        else:
            handler(bytes(data))
