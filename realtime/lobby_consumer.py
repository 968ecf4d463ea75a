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
from collections.abc import Mapping
from typing import Any

from channels.exceptions import StopConsumer

from realtime import lobby_messages, messages
from realtime.close_codes import CloseCode
from realtime.guarded_consumer import GuardedConsumer, monotonic
from realtime.limits import SocketGuard
from realtime.lobby_rooms import LobbyRooms, LobbySocket
from realtime.match_claims import Draining
from realtime.messages import ProtocolError
from skirmish.base.errors import Forbidden, NotFound, SkirmishError

CLOSE_FOR_ERROR: Mapping[type[SkirmishError], int] = {
    NotFound: CloseCode.NOT_FOUND,
    Forbidden: CloseCode.FORBIDDEN,
    Draining: CloseCode.RESTART,
}

log = logging.getLogger(__name__)


class LobbyConsumer(GuardedConsumer):
    close_for_error = CLOSE_FOR_ERROR

    def __init__(self, rooms: LobbyRooms, guard: SocketGuard | None = None, pod: str = "") -> None:
        super().__init__(guard)
        self.rooms = rooms
        self.pod = pod
        limits = self.limits
        self.socket: LobbySocket | None = None
        self.chats = self._rate_limit(
            "chat lines", limits.chat_per_second, limits.chat_burst, limits.chat_flood_limit
        )

    @property
    def place(self) -> LobbySocket | None:
        """Its socket in the lobby's room, until either side closes it (the room closes
        the sockets of members who left, and all of a lobby that started or is gone)."""
        return self.socket if self.live else None

    # -- the handshake -------------------------------------------------------------------

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        claims = await self._open(self.pod)  # a player token's claims
        await self._admit(claims.player_id, "sockets")
        lobby_id = self.scope["url_route"]["kwargs"]["lobby_id"]
        assert self.connection is not None
        await self._enter(LobbySocket(lobby_id, claims.player_id, claims.name, self.connection))
        self.last_seen = monotonic()
        self.take_frames_directly()

    async def _enter(self, socket: LobbySocket) -> None:
        try:
            await self.rooms.enter(socket)
        except SkirmishError as exc:
            await self._refuse_for(exc)
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

    # -- client frames (frame_received, then this) ---------------------------------------

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

    # -- leaving -------------------------------------------------------------------------

    def _allowed_silence(self, now: float, timeout: float) -> float:
        """A lobby is a quiet place: a socket may be silent for `lobby_idle_factor` times
        the match sockets' idle timeout."""
        return timeout * self.limits.lobby_idle_factor

    def _vacate(self) -> None:
        if self.socket is not None:
            self.rooms.exit(self.socket)
            self.socket = None
