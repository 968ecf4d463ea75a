"""The lobby socket (`/ws/lobbies/{lobby_id}`): a member's pushed lobby and its chat.

The rules of match sockets (docs/protocol.md, "Lobby rooms"): the token (the *player*
token) travels as a subprotocol, the origin allow-list applies, frames over 4 KiB close
with 1009, the socket counts against the player's sockets on the pod (4029), bad messages
get an `error` each and 20 within 10 s close with 1008. Chat lines and pings each pass a
token bucket; what they drop is answered once per 10 s window with `rate_limited`, and 30
dropped within 10 s close with 1008. A socket silent for twice the idle timeout is closed
with 4008 by the pod's sweep (clients ping). Non-members are refused: 4003, or 4004 for a
lobby that does not exist (a private lobby of others does not).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, NoReturn

from channels.exceptions import StopConsumer

from realtime import lobby_messages, messages, metrics
from realtime.close_codes import CloseCode
from realtime.consumer_base import DirectWebsocketConsumer
from realtime.consumers import MAX_FRAME_BYTES
from realtime.fanout import Connection
from realtime.limits import SocketGuard, SocketLimits, TokenBucket, WindowCount
from realtime.lobby_rooms import LobbyRooms, LobbySocket
from realtime.match_claims import Draining
from realtime.messages import ProtocolError
from realtime.ws_auth import SUBPROTOCOL
from skirmish.base.errors import Forbidden, NotFound, SkirmishError

CLOSE_FOR_ERROR: Mapping[type[SkirmishError], int] = {
    NotFound: CloseCode.NOT_FOUND,
    Forbidden: CloseCode.FORBIDDEN,
    Draining: CloseCode.RESTART,
}

log = logging.getLogger(__name__)
monotonic = time.monotonic


class LobbyConsumer(DirectWebsocketConsumer):
    match_id: str | None = None  # (for the guard) a lobby socket replaces no other socket

    def __init__(self, rooms: LobbyRooms, guard: SocketGuard | None = None, pod: str = "") -> None:
        self.rooms = rooms
        self.guard = guard if guard is not None else SocketGuard(SocketLimits())
        limits = self.limits = self.guard.limits
        self.pod = pod
        self.connection: Connection | None = None
        self.socket: LobbySocket | None = None
        self.player_id = ""
        self.admitted = False
        now = self.last_seen = monotonic()
        self.chats = TokenBucket(limits.chat_per_second, limits.chat_burst, now)
        self.pings = TokenBucket(limits.pings_per_second, limits.ping_burst, now)
        self.bad = WindowCount(limits.window)
        self.dropped = WindowCount(limits.window)

    # -- the handshake -------------------------------------------------------------------

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        offered = self.scope.get("subprotocols") or ()
        await self.base_send(
            {
                "type": "websocket.accept",
                "subprotocol": SUBPROTOCOL if SUBPROTOCOL in offered else None,
                "headers": [(b"x-skirmish-pod", self.pod.encode())],
            }
        )
        self.connection = Connection(self.base_send)
        origin_error = self.scope.get("origin_error")
        if origin_error is not None:
            await self._refuse(CloseCode.FORBIDDEN, "origin_not_allowed", origin_error)
        claims = self.scope.get("claims")  # a player token's (ws_auth.py)
        if claims is None:
            await self._refuse(CloseCode.UNAUTHORIZED, "unauthorized", self.scope["auth_error"])
        self.player_id = claims.player_id
        if not self.guard.admit(self.player_id, self):
            most = self.limits.max_sockets_per_player
            await self._refuse(
                CloseCode.TOO_MANY_SOCKETS,
                "too_many_connections",
                f"at most {most} sockets per player on one server",
            )
        self.admitted = True
        lobby_id = self.scope["url_route"]["kwargs"]["lobby_id"]
        await self._enter(LobbySocket(lobby_id, claims.player_id, claims.name, self.connection))
        self.last_seen = monotonic()
        self.take_frames_directly()

    async def _enter(self, socket: LobbySocket) -> None:
        try:
            await self.rooms.enter(socket)
        except SkirmishError as exc:
            self._release()
            await self._refuse(
                CLOSE_FOR_ERROR.get(type(exc), CloseCode.INTERNAL), exc.code, exc.message
            )
        except Exception:  # the room bus failed (Redis away): the client tries again
            self._release()
            log.warning("a lobby socket could not enter its room", exc_info=True)
            assert self.connection is not None
            self.connection.close(CloseCode.INTERNAL, "try again")
            raise StopConsumer() from None
        except BaseException:
            self._release()
            raise
        self.socket = socket

    async def _refuse(self, code: int, error_code: str, reason: str) -> NoReturn:
        await self.base_send(
            {"type": "websocket.send", "bytes": messages.error(error_code, reason)}
        )
        await self.base_send({"type": "websocket.close", "code": code, "reason": reason[:120]})
        if self.connection is not None:
            self.connection.closed = True
        metrics.WS_CLOSES.labels(str(code)).inc()
        raise StopConsumer()

    # -- client frames -------------------------------------------------------------------

    def frame_received(self, data: str | bytes) -> None:
        if self.socket is None or not self.live:  # we closed it
            raise StopConsumer()
        now = self.last_seen = monotonic()
        if len(data) > MAX_FRAME_BYTES:
            self._close(CloseCode.TOO_BIG, "frame too big")
        else:
            try:
                self._handle(messages.decode(data), now)
            except ProtocolError as exc:
                self._reject(exc.code, exc.message, now)
        if not self.live:
            raise StopConsumer()

    def _handle(self, msg: dict[str, Any], now: float) -> None:
        assert self.socket is not None and self.connection is not None
        kind = msg.get("type")
        if kind == "chat":
            text = lobby_messages.chat_text(msg)  # a bad line is an error, not a line used up
            if not self.chats.take(now):
                self._throttled(now)
                return
            self.rooms.post_chat(self.socket, text)
        elif kind == "ping":
            if not self.pings.take(now):
                self._throttled(now)
                return
            self.connection.send_frame(lobby_messages.pong(messages.ping_time(msg)))
        else:
            raise ProtocolError("unknown_type", f"unknown message type: {str(kind)[:40]!r}")

    def frame_failed(self) -> None:
        if self.live:
            self._close(CloseCode.INTERNAL, "internal error")

    def _throttled(self, now: float) -> None:
        """A message the buckets dropped: one `rate_limited` per window, 1008 if it persists."""
        limits = self.limits
        dropped = self.dropped.add(now)
        if dropped == 1:
            assert self.connection is not None
            metrics.WS_ERRORS.labels("rate_limited").inc()
            text = (
                f"slow down: at most {limits.chat_per_second:g} chat lines and "
                f"{limits.pings_per_second:g} pings a second; extra messages are dropped"
            )
            self.connection.send_frame(messages.error("rate_limited", text))
        if dropped >= limits.chat_flood_limit:
            self._close(CloseCode.POLICY, "flooding")

    def _reject(self, code: str, text: str, now: float) -> None:
        """Answer a bad message with an error; close the socket if they keep coming."""
        metrics.WS_ERRORS.labels(code).inc()
        assert self.connection is not None
        self.connection.send_frame(messages.error(code, text))
        if self.bad.add(now) >= self.limits.bad_limit:
            self._close(CloseCode.POLICY, "too many bad messages")

    # -- leaving -------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """Still counts against the player's sockets: open, and not closed by the server."""
        return self.connection is not None and not self.connection.closed

    def check_idle(self, now: float, timeout: float) -> None:
        """Called by the pod's sweep: a lobby is a quiet place, so a socket may be silent
        for `lobby_idle_factor` times the match sockets' idle timeout."""
        allowed = timeout * self.limits.lobby_idle_factor
        if self.socket is None or not self.live or now - self.last_seen <= allowed:
            return
        assert self.connection is not None
        self.connection.send_frame(
            messages.error("idle_timeout", f"nothing received for {allowed:g} s")
        )
        self._close(CloseCode.IDLE, "idle timeout")

    def _close(self, code: int, reason: str) -> None:
        assert self.connection is not None
        metrics.WS_CLOSES.labels(str(code)).inc()
        self.connection.close(code, reason)
        self._leave()

    def _leave(self) -> None:
        if self.socket is not None:
            self.rooms.exit(self.socket)
            self.socket = None
        self._release()

    def _release(self) -> None:
        if self.admitted:
            self.admitted = False
            self.guard.release(self.player_id, self)

    async def disconnected(self, code: int) -> None:
        if self.connection is not None:
            self.connection.closed = True
        self._leave()
