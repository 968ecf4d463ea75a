"""A channels consumer base that reads its socket directly.

Stock `AsyncConsumer.__call__` runs `await_many_dispatch`: per inbound frame an
`asyncio.wait` over the socket and the layer channel plus a fresh Task, and `dispatch`
awaits `aclose_old_connections()` (a hop through a shared thread) before every handler;
measured at 75–87 µs of server CPU per echoed message against 14–15 µs for a bare ASGI
app (docs/performance.md). A socket whose match runs in this process needs neither,
so this base awaits `receive()` in a plain loop and calls the handler directly. A client
frame, the message that comes 30 times a second per player, goes to `frame_received`, a
plain method: no coroutine is made for it. It is still a channels consumer: `as_asgi()`,
routed by `URLRouter`, handlers named after the message type, driven by
`channels.testing.WebsocketCommunicator` in tests.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from asgiref.sync import markcoroutinefunction
from channels.consumer import AsyncConsumer, get_handler_name
from channels.exceptions import StopConsumer

from realtime.ws_protocol import EXTENSION, receive_event_data

log = logging.getLogger(__name__)


class DirectWebsocketConsumer(AsyncConsumer):
    _reading_stopped = False
    _stop_direct_frames: Any = None

    @classmethod
    def as_asgi(cls, **initkwargs: Any) -> Any:
        """As channels' `as_asgi`, but the returned app hands back the consumer's coroutine
        rather than awaiting it in a coroutine of its own: every frame received resumes the
        whole chain of awaiting coroutines, so each level less is saved on every frame."""

        def app(scope: dict[str, Any], receive: Any, send: Any) -> Any:
            return cls(**initkwargs)(scope, receive, send)

        markcoroutinefunction(app)  # it is one to every caller: it returns a coroutine
        app.consumer_class = cls  # type: ignore[attr-defined]
        app.consumer_initkwargs = initkwargs  # type: ignore[attr-defined]
        functools.update_wrapper(app, cls, updated=())
        return app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scope = scope
        self.channel_layer = None  # no layer channel: nothing here listens to other pods
        self.base_send = send
        self._gone = False
        self._reading_stopped = False
        handlers: dict[str, Any] = {}
        frame_received = self.frame_received
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    frame_received(receive_event_data(message))
                    continue
                handler = handlers.get(kind)
                if handler is None:
                    handler = handlers[kind] = self._handler_for(message)
                await handler(message)
        except StopConsumer:
            pass
        finally:
            self._stop_reading()  # frames the server still hands over find no one
            if not self._gone:  # a handler raised, or the task was cancelled: still clean up
                self._gone = True
                await self.disconnected(1006)

    def _handler_for(self, message: dict[str, Any]) -> Any:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        return handler

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Direct dispatch, without channels' per-message database-connection hop."""
        await self._handler_for(message)(message)

    def frame_received(self, data: str | bytes) -> None:
        """Hook for subclasses: one client frame; may raise StopConsumer to stop reading."""

    def frame_failed(self) -> None:
        """Hook for subclasses: `frame_received` raised; the socket should be closed."""

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        # for `dispatch`; the loop above calls frame_received itself
        self.frame_received(receive_event_data(message))

    def take_frames_directly(self) -> bool:
        """Have the server hand this socket's frames to `frame_received` as they are parsed,
        skipping the receive queue (realtime/ws_protocol.py), if it offers to. Call it once
        the consumer is ready for frames; frames already queued are handed over first."""
        extension = (self.scope.get("extensions") or {}).get(EXTENSION)
        if extension is None:  # another server, or channels' test communicator
            return False
        self._stop_direct_frames = extension["unregister"]
        extension["register"](self._direct_frame)
        return True

    def _direct_frame(self, data: str | bytes) -> None:
        """Called by the server's protocol, outside any task: must never raise."""
        if self._reading_stopped:
            return
        try:
            self.frame_received(data)
        except StopConsumer:  # the consumer closed the socket
            self._stop_reading()
        except Exception:
            self._stop_reading()
            log.exception("handling a client frame failed")
            try:
                self.frame_failed()
            except Exception:
                log.exception("closing the socket after a failed frame failed too")

    def _stop_reading(self) -> None:
        """No more direct frames: the next one goes through the receive queue, where the
        loop sees the consumer is done and ends, and the server closes the connection.
        (The close we sent may be stuck behind a client that does not read; we must not
        go on reading and parsing what it sends meanwhile.)"""
        self._reading_stopped = True
        if self._stop_direct_frames is not None:
            self._stop_direct_frames()
            self._stop_direct_frames = None

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        self._gone = True
        await self.disconnected(message.get("code", 1006))
        raise StopConsumer()

    async def disconnected(self, code: int) -> None:
        """Hook for subclasses: the socket is gone."""
