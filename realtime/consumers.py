"""The match socket: authenticate, validate, rate-check, forward. Never game rules."""

from __future__ import annotations

import logging
import time
from typing import Any

from channels.exceptions import StopConsumer

from game.modes import InputRejected
from realtime import messages, metrics
from realtime.consumer_base import DirectWebsocketConsumer
from realtime.fanout import Connection
from realtime.match_host import CLOSE_FOR_ERROR, CloseCode, Match, MatchHost
from realtime.match_loop import Seat
from realtime.messages import ProtocolError
from realtime.ws_auth import SUBPROTOCOL
from skirmish.errors import SkirmishError

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 4096
BAD_MESSAGE_LIMIT = 20  # bad messages tolerated per window before the socket is closed
BAD_MESSAGE_WINDOW = 10.0  # seconds


class MatchConsumer(DirectWebsocketConsumer):
    def __init__(self, host: MatchHost) -> None:
        self.host = host
        self.connection: Connection | None = None
        self.hosted: Match | None = None
        self.seat: Seat | None = None
        self.bad_count = 0
        self.bad_window_start = 0.0

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        offered = self.scope.get("subprotocols") or ()
        await self.base_send(
            {
                "type": "websocket.accept",
                "subprotocol": SUBPROTOCOL if SUBPROTOCOL in offered else None,
                # Which pod serves the socket: for operators, and for the routing tests.
                "headers": [(b"x-skirmish-pod", self.host.pod.encode())],
            }
        )
        self.connection = Connection(self.base_send)
        claims = self.scope.get("match_claims")
        if claims is None:
            await self._refuse(CloseCode.UNAUTHORIZED, "unauthorized", self.scope["auth_error"])
        match_id = self.scope["url_route"]["kwargs"]["match_id"]
        if claims.match_id != match_id:
            await self._refuse(CloseCode.FORBIDDEN, "forbidden", "token is for another match")
        try:
            self.hosted, self.seat = await self.host.attach(
                match_id, claims.player_id, self.connection
            )
        except SkirmishError as exc:
            await self._refuse(
                CLOSE_FOR_ERROR.get(type(exc), CloseCode.INTERNAL), exc.code, exc.message
            )
        metrics.PLAYERS_CONNECTED.inc()

    async def _refuse(self, code: int, error_code: str, reason: str) -> None:
        await self.base_send(
            {"type": "websocket.send", "bytes": messages.error(error_code, reason)}
        )
        await self.base_send({"type": "websocket.close", "code": code, "reason": reason[:120]})
        metrics.WS_CLOSES.labels(str(code)).inc()
        raise StopConsumer()

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        data = message.get("bytes")
        if data is None:
            data = message.get("text") or ""
        if len(data) > MAX_FRAME_BYTES:
            self._close(CloseCode.TOO_BIG, "frame too big")
        else:
            try:
                self._handle(messages.decode(data))
            except ProtocolError as exc:
                self._reject(exc.code, exc.message)
            except InputRejected as exc:
                self._reject("invalid_message", str(exc))
        if self.seat is None:  # we closed it: stop reading now
            raise StopConsumer()

    def _handle(self, msg: dict[str, Any]) -> None:
        hosted, seat, connection = self.hosted, self.seat, self.connection
        assert hosted is not None and seat is not None and connection is not None
        kind = msg.get("type")
        if kind == "input":
            metrics.INPUTS.inc()
            seq = messages.input_seq(msg)
            if hosted.status == "finished":
                raise ProtocolError("not_running", "the match is over")
            hosted.accept_input(seat, seq, msg)
        elif kind == "ping":
            metrics.PINGS.inc()
            connection.send_frame(messages.pong(messages.ping_time(msg), hosted.tick))
        else:
            raise ProtocolError("unknown_type", f"unknown message type: {str(kind)[:40]!r}")

    def _reject(self, code: str, text: str) -> None:
        """Answer a bad message with an error; close the socket if it keeps coming."""
        metrics.WS_ERRORS.labels(code).inc()
        assert self.connection is not None
        self.connection.send_frame(messages.error(code, text))
        now = time.monotonic()
        if now - self.bad_window_start > BAD_MESSAGE_WINDOW:
            self.bad_window_start, self.bad_count = now, 0
        self.bad_count += 1
        if self.bad_count >= BAD_MESSAGE_LIMIT:
            self._close(CloseCode.POLICY, "too many bad messages")

    def _close(self, code: int, reason: str) -> None:
        assert self.connection is not None
        metrics.WS_CLOSES.labels(str(code)).inc()
        self.connection.close(code, reason)
        self._leave()  # the seat is free at once, not when the close handshake ends

    def _leave(self) -> None:
        if self.hosted is not None and self.seat is not None and self.connection is not None:
            self.host.detach(self.hosted, self.seat, self.connection)
            self.seat = None
            metrics.PLAYERS_CONNECTED.dec()

    async def disconnected(self, code: int) -> None:
        if self.connection is not None:
            self.connection.closed = True
        self._leave()
