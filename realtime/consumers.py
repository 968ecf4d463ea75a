"""The match socket: authenticate, validate, rate-check, forward. Never game rules.

Limits (docs/security.md): frames over 4 KiB close with 1009; inputs and pings each pass a
token bucket, and what the buckets drop is answered once per window with `rate_limited`
and closes the socket with 1008 if it persists; bad messages get an `error` each and close
with 1008 past `bad_limit` per window; a socket idle while its match runs is closed with
4008 by the pod's sweep (realtime/limits.py), and a player holds at most
`max_sockets_per_player` match sockets on a pod (4029).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, NoReturn

from channels.exceptions import StopConsumer

from game.modes import InputRejected
from realtime import messages, metrics
from realtime.close_codes import CloseCode
from realtime.consumer_base import DirectWebsocketConsumer
from realtime.fanout import Connection
from realtime.hosted_match import Seat
from realtime.limits import SocketGuard, SocketLimits, TokenBucket
from realtime.match_claims import Draining, Match, MatchOver
from realtime.match_host import MatchHost
from realtime.messages import ProtocolError
from realtime.metrics import RECEIVED
from realtime.ws_auth import SUBPROTOCOL
from skirmish.base.errors import Forbidden, NotFound, SkirmishError

CLOSE_FOR_ERROR: Mapping[type[SkirmishError], int] = {
    NotFound: CloseCode.NOT_FOUND,
    Forbidden: CloseCode.FORBIDDEN,
    MatchOver: CloseCode.MATCH_OVER,
    Draining: CloseCode.RESTART,
}

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 4096  # larger client frames are closed with 1009
monotonic = time.monotonic


class MatchConsumer(DirectWebsocketConsumer):
    def __init__(self, host: MatchHost, guard: SocketGuard | None = None) -> None:
        self.host = host
        self.guard = guard if guard is not None else SocketGuard(SocketLimits())
        limits = self.limits = self.guard.limits
        self.connection: Connection | None = None
        self.hosted: Match | None = None
        self.seat: Seat | None = None
        self.match_id = ""
        self.player_id = ""
        self.admitted = False
        now = monotonic()
        self.last_seen = now
        self.inputs = TokenBucket(limits.inputs_per_second, limits.input_burst, now)
        self.pings = TokenBucket(limits.pings_per_second, limits.ping_burst, now)
        self.bad_count = 0
        self.bad_window_start = 0.0
        self.dropped = 0
        self.drop_window_start = 0.0

    # -- the handshake -------------------------------------------------------------------

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
        origin_error = self.scope.get("origin_error")
        if origin_error is not None:
            await self._refuse(CloseCode.FORBIDDEN, "origin_not_allowed", origin_error)
        claims = self.scope.get("claims")  # a match token's (ws_auth.py)
        if claims is None:
            await self._refuse(CloseCode.UNAUTHORIZED, "unauthorized", self.scope["auth_error"])
        self.match_id = self.scope["url_route"]["kwargs"]["match_id"]
        if claims.match_id != self.match_id:
            await self._refuse(CloseCode.FORBIDDEN, "forbidden", "token is for another match")
        self.player_id = claims.player_id
        if not self.guard.admit(self.player_id, self):
            most = self.limits.max_sockets_per_player
            await self._refuse(
                CloseCode.TOO_MANY_SOCKETS,
                "too_many_connections",
                f"at most {most} match sockets per player on one server",
            )
        self.admitted = True
        await self._attach()
        self.last_seen = monotonic()
        metrics.PLAYERS_CONNECTED.inc()
        self.take_frames_directly()  # seated: frames may now skip the receive queue

    async def _attach(self) -> None:
        assert self.connection is not None
        try:
            self.hosted, self.seat = await self.host.attach(
                self.match_id, self.player_id, self.connection
            )
        except SkirmishError as exc:
            self._release()
            await self._refuse(
                CLOSE_FOR_ERROR.get(type(exc), CloseCode.INTERNAL), exc.code, exc.message
            )
        except BaseException:
            self._release()  # the player's socket count must not leak
            raise

    async def _refuse(self, code: int, error_code: str, reason: str) -> NoReturn:
        await self.base_send(
            {"type": "websocket.send", "bytes": messages.error(error_code, reason)}
        )
        await self.base_send({"type": "websocket.close", "code": code, "reason": reason[:120]})
        if self.connection is not None:
            self.connection.closed = True
        metrics.WS_CLOSES.labels(str(code)).inc()
        raise StopConsumer()

    # -- the hot path: one call per client frame -----------------------------------------

    def frame_received(self, data: str | bytes) -> None:
        if self.seat is None:  # we closed it (the close may be stuck behind a slow reader)
            raise StopConsumer()
        now = self.last_seen = monotonic()
        if len(data) > MAX_FRAME_BYTES:
            self._close(CloseCode.TOO_BIG, "frame too big")
        else:
            try:
                self._handle(messages.decode(data), now)
            except ProtocolError as exc:
                self._reject(exc.code, exc.message, now)
            except InputRejected as exc:
                self._reject("invalid_message", str(exc), now)
        if self.seat is None:  # we closed it: stop reading now
            raise StopConsumer()

    def _handle(self, msg: dict[str, Any], now: float) -> None:
        hosted, seat = self.hosted, self.seat
        assert hosted is not None and seat is not None
        kind = msg.get("type")
        if kind == "input":
            RECEIVED.input += 1
            if not self.inputs.take(now):
                self._throttled(now)
            elif hosted.status == "finished":
                pass  # it crossed the final tick: the result is on its way, then the close
            else:
                hosted.accept_input(seat, messages.input_seq(msg), msg)
        elif kind == "ping":
            RECEIVED.ping += 1
            if not self.pings.take(now):
                self._throttled(now)
                return
            assert self.connection is not None
            self.connection.send_frame(messages.pong(messages.ping_time(msg), hosted.tick))
        else:
            raise ProtocolError("unknown_type", f"unknown message type: {str(kind)[:40]!r}")

    def frame_failed(self) -> None:
        if self.seat is not None and self.live:
            self._close(CloseCode.INTERNAL, "internal error")

    def _throttled(self, now: float) -> None:
        """A message the buckets dropped: one `rate_limited` per window, 1008 if it persists."""
        limits = self.limits
        if now - self.drop_window_start > limits.window:
            self.drop_window_start, self.dropped = now, 0
        self.dropped += 1
        if self.dropped == 1:
            assert self.connection is not None
            metrics.WS_ERRORS.labels("rate_limited").inc()
            text = (
                f"slow down: at most {limits.inputs_per_second:g} inputs and "
                f"{limits.pings_per_second:g} pings a second; extra messages are dropped"
            )
            self.connection.send_frame(messages.error("rate_limited", text))
        if self.dropped >= limits.flood_limit:
            self._close(CloseCode.POLICY, "flooding")

    def _reject(self, code: str, text: str, now: float) -> None:
        """Answer a bad message with an error; close the socket if it keeps coming."""
        metrics.WS_ERRORS.labels(code).inc()
        assert self.connection is not None
        self.connection.send_frame(messages.error(code, text))
        if now - self.bad_window_start > self.limits.window:
            self.bad_window_start, self.bad_count = now, 0
        self.bad_count += 1
        if self.bad_count >= self.limits.bad_limit:
            self._close(CloseCode.POLICY, "too many bad messages")

    # -- leaving -------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """Still counts against the player's sockets: open, and not closed by the server."""
        return self.connection is not None and not self.connection.closed

    def check_idle(self, now: float, timeout: float) -> None:
        """Called by the pod's sweep: close the socket if it sent nothing for `timeout`
        seconds while its match ran. Before the start nobody needs to send anything."""
        hosted = self.hosted
        if hosted is None or self.seat is None or not self.live:
            return
        if hosted.status != "running" or hosted.tick == 0:
            self.last_seen = now
        elif now - self.last_seen > timeout:
            assert self.connection is not None
            self.connection.send_frame(
                messages.error("idle_timeout", f"nothing received for {timeout:g} s")
            )
            self._close(CloseCode.IDLE, "idle timeout")

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
        self._release()

    def _release(self) -> None:
        if self.admitted:
            self.admitted = False
            self.guard.release(self.player_id, self)

    async def disconnected(self, code: int) -> None:
        if self.connection is not None:
            self.connection.closed = True
        self._leave()
