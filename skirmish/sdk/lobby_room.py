"""A member's lobby room: the lobby socket of docs/protocol.md ("Lobby rooms"), kept
connected by the policy of "Reconnecting" (a lobby socket has no inputs to resend: each
new socket starts with a `snapshot` of the lobby).

    async with client.lobby_room(lobby) as room:   # joined with REST first
        await room.say("gl hf")
        async for message in room:                 # lobby pushes, chat, announcements
            if message["type"] == "chat":
                print(message["name"], message["text"])  # text: never render it as markup
    access = room.match                            # once started: this member's seat

The iteration ends when the lobby is done with this member: `started` (`room.match` is
their own match access), `closed`, their own leave, or `close()`; it raises `LobbyClosed`
when the socket ends for good otherwise (refused, 4029, 1008, a 4001, or no snapshot
within the policy's 30 s). `room.lobby` is the newest lobby seen (by `revision`: never an
older one). A ping goes out every 25 s: the server closes a lobby socket silent for 60 s,
and a socket that brings no frame for 25 + 10 s is dropped and replaced.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection

from skirmish.sdk.client import SkirmishClient
from skirmish.sdk.connection import chat_message
from skirmish.sdk.reconnect import Timing, after_close
from skirmish.sdk.records import Lobby, MatchAccess, MatchClosed
from skirmish.sdk.session import SessionClosed, SocketSession

Message = dict[str, Any]
# After a snapshot, these final closes mean the lobby is no longer this member's: the 1000
# after their own leave, or a refusal on coming back (removed while away).
GONE_CODES = frozenset({1000, 4003, 4004})


@dataclass(frozen=True, slots=True)
class RoomTiming:
    """The room's durations, in seconds; `policy` has the back-off, the 30 s give-up and
    the handshake's timeout."""

    ping_interval: float = 25.0  # the keepalive (the server's idle close is at 60 s)
    pong_timeout: float = 10.0  # no frame for ping_interval + this: the socket is dead
    close_wait: float = 2.0  # after `started`: for the server's 1000
    policy: Timing = field(default_factory=Timing)

    @property
    def silence(self) -> float:
        return self.ping_interval + self.pong_timeout


class LobbyClosed(SessionClosed):
    """The room ended without what was asked of it: `outcome` says why (`socket_closed`:
    the socket ended for good, `code` and `error` say how; `left`, `closed`, `cancelled`
    when a seat was awaited); `lobby` is the newest lobby seen."""

    _who = "lobby room"

    def __init__(
        self,
        outcome: str,
        code: int | None = None,
        reason: str = "",
        *,
        lobby: Lobby | None = None,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(outcome, code, reason, error=error)
        self.lobby = lobby


class LobbyRoom(SocketSession[RoomTiming]):
    """One member's lobby socket, over as many sockets as it takes. Iterate it for the
    server's messages (pongs aside, and pushes older than what the room has): each
    socket's snapshot first; one iterator per room. `outcome`: started, closed, left,
    cancelled or socket_closed. `close()` closes the socket: leaving is REST's."""

    _first_type = "lobby"
    _waited_for = "snapshot"
    _refusal_reason = False  # a refused socket ends with an empty `reason`, as it always has

    def __init__(
        self,
        client: SkirmishClient,
        lobby: str | Lobby,
        *,
        timing: RoomTiming | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(client, timing or RoomTiming(), rng, clock, sleep)
        self.lobby_id = lobby if isinstance(lobby, str) else lobby.id
        self.lobby: Lobby | None = None if isinstance(lobby, str) else lobby
        self.player_id = client.player.player_id if client.player else None
        self.match: MatchAccess | None = None  # once started: this member's seat

    # -- the room's life ---------------------------------------------------------------

    async def connect(self) -> Lobby:
        """Open the first socket and wait for its snapshot (retrying by the policy);
        `LobbyClosed` if the server refuses it (4003, 4004, 4029, 4001...)."""
        await self._connect()
        assert self.lobby is not None
        return self.lobby

    async def wait_started(self) -> MatchAccess:
        """Read the room to its end: this member's match access, or `LobbyClosed`."""
        return await self._read_out(lambda: self.match)

    # -- what the member does ----------------------------------------------------------

    async def say(self, text: str) -> bool:
        """Say `text` (trimmed; 1..200 characters, else ValueError) to every member, this
        one included. False when no socket is open."""
        return await self._send(chat_message(text))

    def apply(self, lobby: Lobby) -> bool:
        """A lobby a REST call answered with: kept unless older than the room's."""
        if self.lobby is not None and lobby.revision < self.lobby.revision:
            return False
        self.lobby = lobby
        if lobby.status == "started" and lobby.match is not None and self.match is None:
            self.match = lobby.match
        return True

    # -- what the room says of its sockets ---------------------------------------------

    def _closed(
        self, outcome: str, code: int | None, reason: str = "", error: Any = None
    ) -> LobbyClosed:
        return LobbyClosed(outcome, code, reason, lobby=self.lobby, error=error)

    async def _target(self, closed: MatchClosed | None) -> tuple[str, str]:
        return self.client.ws_url(f"/ws/lobbies/{self.lobby_id}"), self.client.token or ""

    async def _ended(self, closed: MatchClosed) -> bool:
        """After a socket's end: True when the room is over cleanly (the lobby is done with
        this member); LobbyClosed when the policy says never again; False: try again."""
        self.close_code = closed.code
        if self._over() or (self.sockets and closed.code in GONE_CODES):
            self.outcome = self.outcome or self._outcome()
            return True
        if after_close(closed.code, closed.status) != "reconnect":  # 4001: sign in again
            raise self._socket_closed(closed) from closed
        return False

    async def _next(self, ws: ClientConnection) -> Message:
        """The next frame; MatchClosed when the socket closes, or (1006) when it brings
        nothing for the keepalive's period and the pong's wait."""
        return await self._read(ws, self.timing.silence)

    def _ping_every(self) -> float:
        return self.timing.ping_interval

    def _keep(self, message: Message) -> bool:
        """False for a push older than the room's lobby (it is not applied)."""
        kind, body = message.get("type"), message.get("lobby")
        if kind == "lobby" and isinstance(body, dict) and not self.apply(Lobby.from_json(body)):
            self.stale += 1
            return False
        return True

    def _over(self) -> bool:
        """The lobby is done with this member: started, closed, or they are not in it."""
        lobby = self.lobby
        if lobby is None:
            return False
        if lobby.status in ("started", "closed"):
            return True
        return self.player_id is not None and not lobby.has_member(self.player_id)

    def _outcome(self) -> str:
        lobby = self.lobby
        if lobby is not None and lobby.status in ("started", "closed"):
            return lobby.status
        return "left"
