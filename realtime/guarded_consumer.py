"""The rules every client socket of a pod follows, match socket and lobby socket alike.

A socket is refused (an `error`, then the close code) before it serves anything when its
origin is not allowed, its token is bad, or its player already holds
`max_sockets_per_player` sockets on the pod (4029). Serving, each client frame goes to
`frame_received`: frames over 4 KiB close with 1009; bad messages get an `error` each and
close with 1008 past `bad_limit` per window; what the consumer's token buckets drop is
answered once per window with `rate_limited` and closes with 1008 past its flood limit;
the pod's sweep (realtime/limits.py) closes a socket silent for too long with 4008. Once
it is closed or gone, the socket leaves its place and the guard stops counting it.

`frame_received` is the hot path of the match socket (one call per client frame, 30 a
second per player): it calls the subclass's `_handle` directly, and what it reads of a
match socket is plain attributes (a lobby socket's `place` is a property: it is not hot,
and knows when its room closed it). What each consumer owns: `_handle` (its messages), its place
(`place`: a match seat, a lobby room socket), `_vacate` (giving that place up), how long
it may be silent (`_allowed_silence`) and its own messages' rate limit (`_rate_limit`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, NoReturn

from channels.exceptions import StopConsumer

from game.modes import InputRejected
from realtime import messages, metrics
from realtime.close_codes import CloseCode
from realtime.consumer_base import DirectWebsocketConsumer
from realtime.fanout import Connection
from realtime.limits import SocketGuard, SocketLimits, TokenBucket
from realtime.messages import ProtocolError
from realtime.ws_auth import SUBPROTOCOL
from skirmish.base.errors import SkirmishError

MAX_FRAME_BYTES = 4096  # larger client frames are closed with 1009
monotonic = time.monotonic


class GuardedConsumer(DirectWebsocketConsumer):
    """A client socket counted by the pod's `SocketGuard` and held to its `SocketLimits`."""

    match_id: str | None = None  # (for the guard) None: it replaces no other socket
    close_for_error: Mapping[type[SkirmishError], int] = {}  # else CloseCode.INTERNAL
    # Set by `_rate_limit`: the consumer's own messages (besides pings) and their rate, and
    # how many dropped messages within a window close the socket.
    rated = ""
    rated_per_second = 0.0
    flood_limit = 0

    def __init__(self, guard: SocketGuard | None) -> None:
        self.guard = guard if guard is not None else SocketGuard(SocketLimits())
        limits = self.limits = self.guard.limits
        self.connection: Connection | None = None
        self.player_id = ""
        self.admitted = False
        now = self.last_seen = monotonic()
        self.pings = TokenBucket(limits.pings_per_second, limits.ping_burst, now)
        self.bad_count = 0
        self.bad_window_start = 0.0
        self.dropped = 0
        self.drop_window_start = 0.0

    def _rate_limit(
        self, what: str, per_second: float, burst: float, flood_limit: int
    ) -> TokenBucket:
        """The token bucket of the consumer's own messages (`what`, for the notice)."""
        self.rated, self.rated_per_second, self.flood_limit = what, per_second, flood_limit
        return TokenBucket(per_second, burst, self.last_seen)

    @property
    def place(self) -> object | None:
        """What the socket occupies while it serves (a subclass's attribute, or property);
        None before it is seated and once it is closed: its frames are then not read."""
        return None

    # -- refusal before serving ----------------------------------------------------------

    async def _open(self, pod: str) -> Any:
        """Accept the socket (naming the pod that serves it, for operators and the routing
        tests), then refuse it for a foreign origin or a bad token; the token's claims."""
        offered = self.scope.get("subprotocols") or ()
        await self.base_send(
            {
                "type": "websocket.accept",
                "subprotocol": SUBPROTOCOL if SUBPROTOCOL in offered else None,
                "headers": [(b"x-skirmish-pod", pod.encode())],
            }
        )
        self.connection = Connection(self.base_send)
        origin_error = self.scope.get("origin_error")
        if origin_error is not None:
            await self._refuse(CloseCode.FORBIDDEN, "origin_not_allowed", origin_error)
        claims = self.scope.get("claims")  # the token's (ws_auth.py)
        if claims is None:
            await self._refuse(CloseCode.UNAUTHORIZED, "unauthorized", self.scope["auth_error"])
        return claims

    async def _admit(self, player_id: str, sockets: str) -> None:
        """Count the socket against its player's `sockets` on the pod, or refuse it."""
        self.player_id = player_id
        if not self.guard.admit(player_id, self):
            most = self.limits.max_sockets_per_player
            await self._refuse(
                CloseCode.TOO_MANY_SOCKETS,
                "too_many_connections",
                f"at most {most} {sockets} per player on one server",
            )
        self.admitted = True

    async def _refuse_for(self, exc: SkirmishError) -> NoReturn:
        """Refuse the admitted socket for what its place answered."""
        self._release()
        code = self.close_for_error.get(type(exc), CloseCode.INTERNAL)
        await self._refuse(code, exc.code, exc.message)

    async def _refuse(self, code: int, error_code: str, reason: str) -> NoReturn:
        await self.base_send(
            {"type": "websocket.send", "bytes": messages.error(error_code, reason)}
        )
        await self.base_send({"type": "websocket.close", "code": code, "reason": reason[:120]})
        if self.connection is not None:
            self.connection.closed = True
        metrics.WS_CLOSES.labels(str(code)).inc()
        raise StopConsumer()

    # -- client frames: the hot path -----------------------------------------------------

    def frame_received(self, data: str | bytes) -> None:
        if self.place is None:  # we closed it (the close may be stuck behind a slow reader)
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
        if self.place is None:  # we closed it: stop reading now
            raise StopConsumer()

    def _handle(self, msg: dict[str, Any], now: float) -> None:
        """One client message; ProtocolError or InputRejected if it is bad."""
        raise NotImplementedError

    def frame_failed(self) -> None:
        if self.place is not None and self.live:
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
            self.connection.send_frame(messages.error("rate_limited", self._rate_notice()))
        if self.dropped >= self.flood_limit:
            self._close(CloseCode.POLICY, "flooding")

    def _rate_notice(self) -> str:
        """The text of a `rate_limited` error: the rates the socket must keep to."""
        limits = self.limits
        return (
            f"slow down: at most {self.rated_per_second:g} {self.rated} and "
            f"{limits.pings_per_second:g} pings a second; extra messages are dropped"
        )

    def _reject(self, code: str, text: str, now: float) -> None:
        """Answer a bad message with an error; close the socket if they keep coming."""
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
        """Called by the pod's sweep: close the socket if it sent nothing for longer than
        it may be silent (`timeout`: the match sockets' idle timeout)."""
        if self.place is None or not self.live:
            return
        allowed = self._allowed_silence(now, timeout)
        if now - self.last_seen > allowed:
            assert self.connection is not None
            self.connection.send_frame(
                messages.error("idle_timeout", f"nothing received for {allowed:g} s")
            )
            self._close(CloseCode.IDLE, "idle timeout")

    def _allowed_silence(self, now: float, timeout: float) -> float:
        """How long the serving socket may be silent, as of `now`."""
        return timeout

    def _close(self, code: int, reason: str) -> None:
        assert self.connection is not None
        metrics.WS_CLOSES.labels(str(code)).inc()
        self.connection.close(code, reason)
        self._leave()  # the place is free at once, not when the close handshake ends

    def _leave(self) -> None:
        self._vacate()
        self._release()

    def _vacate(self) -> None:
        """Give up the socket's place, if it holds one; `place` is None afterwards."""

    def _release(self) -> None:
        if self.admitted:
            self.admitted = False
            self.guard.release(self.player_id, self)

    async def disconnected(self, code: int) -> None:
        if self.connection is not None:
            self.connection.closed = True
        self._leave()
