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
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from skirmish.sdk.client import SkirmishClient
from skirmish.sdk.connection import chat_message, open_socket
from skirmish.sdk.reconnect import Backoff, Timing, after_close
from skirmish.sdk.records import Lobby, MatchAccess, MatchClosed, SkirmishError

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


class LobbyClosed(SkirmishError):
    """The room ended without what was asked of it: `outcome` says why (`socket_closed`:
    the socket ended for good, `code` and `error` say how; `left`, `closed`, `cancelled`
    when a seat was awaited); `lobby` is the newest lobby seen."""

    def __init__(
        self,
        outcome: str,
        code: int | None = None,
        reason: str = "",
        *,
        lobby: Lobby | None = None,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"lobby room ended: {outcome} ({code} {reason})".rstrip())
        self.outcome = outcome
        self.code = code
        self.reason = reason
        self.lobby = lobby
        self.error = error


class LobbyRoom:
    """One member's lobby socket, over as many sockets as it takes. Iterate it for the
    server's messages (pongs aside, and pushes older than what the room has)."""

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
        self.client = client
        self.lobby_id = lobby if isinstance(lobby, str) else lobby.id
        self.lobby: Lobby | None = None if isinstance(lobby, str) else lobby
        self.player_id = client.player.player_id if client.player else None
        self.timing = timing or RoomTiming()
        self.clock = clock
        self.sleep = sleep
        self.backoff = Backoff(self.timing.policy, rng or random.Random())
        self.match: MatchAccess | None = None  # once started: this member's seat
        self.outcome: str | None = None  # started, closed, left, cancelled, socket_closed
        self.close_code: int | None = None
        self.rtt_ms: float | None = None
        self.sockets = 0  # sockets that got as far as their snapshot
        self.stale = 0  # pushes older than the room's lobby, skipped
        self._ws: ClientConnection | None = None
        self._first: Message | None = None  # the snapshot a new socket started with
        self._last: MatchClosed | None = None  # how the last socket ended
        self._pinger: asyncio.Task[None] | None = None
        self._closing = False
        self._messages: AsyncIterator[Message] | None = None

    # -- the room's life ---------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self) -> Lobby:
        """Open the first socket and wait for its snapshot (retrying by the policy);
        `LobbyClosed` if the server refuses it (4003, 4004, 4029, 4001...)."""
        if self._ws is None and (self.outcome is not None or not await self._reconnect(None)):
            raise LobbyClosed(self.outcome or "cancelled", self.close_code, lobby=self.lobby)
        assert self.lobby is not None
        return self.lobby

    def __aiter__(self) -> AsyncIterator[Message]:
        """The server's messages, each socket's snapshot first; one iterator per room."""
        if self._messages is None:
            self._messages = self._run()
        return self._messages

    async def wait_started(self) -> MatchAccess:
        """Read the room to its end: this member's match access, or `LobbyClosed`."""
        async for _ in self:
            pass
        if self.match is None:
            raise LobbyClosed(self.outcome or "socket_closed", self.close_code, lobby=self.lobby)
        return self.match

    async def close(self) -> None:
        """Close the socket (1000) and reconnect no more. Leaving is REST's."""
        self._closing = True
        if self.outcome is None:
            self.outcome = "cancelled"
        ws, self._ws = self._ws, None
        self._stop_pings()
        if ws is not None:
            await ws.close()

    # -- what the member does ----------------------------------------------------------

    async def say(self, text: str) -> bool:
        """Say `text` (trimmed; 1..200 characters, else ValueError) to every member, this
        one included. False when no socket is open."""
        return await self._send(chat_message(text))

    async def ping(self) -> bool:
        """Ask for a `pong` now (the keepalive does this every `ping_interval`)."""
        return await self._send({"type": "ping", "t": time.time() * 1000.0})

    def apply(self, lobby: Lobby) -> bool:
        """A lobby a REST call answered with: kept unless older than the room's."""
        if self.lobby is not None and lobby.revision < self.lobby.revision:
            return False
        self.lobby = lobby
        if lobby.status == "started" and lobby.match is not None and self.match is None:
            self.match = lobby.match
        return True

    async def _send(self, message: Message) -> bool:
        ws = self._ws
        if ws is None:
            return False
        try:
            await ws.send(orjson.dumps(message).decode())
        except ConnectionClosed:
            return False
        return True

    # -- the sockets, one after another ------------------------------------------------

    async def _run(self) -> AsyncIterator[Message]:
        while self.outcome is None:
            if self._ws is None and not await self._reconnect(self._last):
                return
            ws = self._ws
            assert ws is not None
            if self._first is not None:
                first, self._first = self._first, None
                yield first
            try:
                while True:
                    message = await self._next(ws)
                    if self._note(message):
                        yield message
                    if self._over():
                        await self._finish(ws)
                        return
            except MatchClosed as exc:
                self._drop(ws)
                self._last = exc

    async def _reconnect(self, closed: MatchClosed | None) -> bool:
        """Attempts until a socket brings its snapshot: True; False when the room is over
        (it ended cleanly); LobbyClosed when it ended otherwise."""
        since = self.clock()
        while not self._closing:
            if closed is not None:
                if self._ended(closed):
                    return False
                delay = self.backoff.delay(closed.code)
                if self.clock() + delay - since > self.timing.policy.give_up:
                    self.outcome = "socket_closed"
                    raise LobbyClosed(
                        "socket_closed", closed.code, "gave up", lobby=self.lobby
                    ) from closed
                await self.sleep(delay)
                if self._closing:
                    break
            try:
                await self._open(since)
                return True
            except MatchClosed as exc:
                closed = exc
        self.outcome = self.outcome or "cancelled"
        return False

    def _ended(self, closed: MatchClosed) -> bool:
        """After a socket's end: True when the room is over cleanly (the lobby is done with
        this member); LobbyClosed when the policy says never again; False: try again."""
        self.close_code = closed.code
        if self._over() or (self.sockets and closed.code in GONE_CODES):
            self.outcome = self.outcome or self._outcome()
            return True
        if after_close(closed.code, closed.status) != "reconnect":  # 4001: sign in again
            self.outcome = "socket_closed"
            raise LobbyClosed(
                "socket_closed", closed.code, closed.reason, lobby=self.lobby, error=closed.error
            ) from closed
        return False

    async def _open(self, since: float) -> None:
        left = self.timing.policy.give_up - (self.clock() - since)
        timeout = max(0.1, min(self.timing.policy.open_timeout, left))
        url = self.client.ws_url(f"/ws/lobbies/{self.lobby_id}")
        ws, first = await open_socket(url, self.client.token or "", timeout, "snapshot", 1006)
        if first.get("type") != "lobby":
            await ws.close()
            raise MatchClosed(ws.close_code, "", error=first if first else None)
        self._ws, self.sockets = ws, self.sockets + 1
        self.backoff.reset()
        self._first = first if self._note(first) else None
        self._pinger = asyncio.create_task(self._keepalive(ws))

    def _drop(self, ws: ClientConnection) -> None:
        if self._ws is ws:
            self._ws = None
        self._stop_pings()

    async def _finish(self, ws: ClientConnection) -> None:
        """The lobby is done with this member: the server's 1000 follows; wait a moment
        for it (a lost one is not waited for longer)."""
        self._stop_pings()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.timing.close_wait):
                await ws.wait_closed()
        if ws.close_code is None:
            ws.transport.abort()
        self._drop(ws)
        self.close_code = ws.close_code
        self.outcome = self._outcome()

    # -- one socket ----------------------------------------------------------------------

    async def _next(self, ws: ClientConnection) -> Message:
        """The next frame; MatchClosed when the socket closes, or (1006) when it brings
        nothing for the keepalive's period and the pong's wait."""
        try:
            async with asyncio.timeout(self.timing.silence):
                message: Message = orjson.loads(await ws.recv())
        except TimeoutError:
            ws.transport.abort()
            raise MatchClosed(1006, f"no frame for {self.timing.silence:g} s") from None
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else 1006
            reason = exc.rcvd.reason if exc.rcvd is not None else ""
            raise MatchClosed(code, reason) from exc
        return message

    async def _keepalive(self, ws: ClientConnection) -> None:
        """A ping every `ping_interval`, whatever comes in: the server counts what it gets."""
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self.timing.ping_interval)
                await ws.send(orjson.dumps({"type": "ping", "t": time.time() * 1000.0}).decode())

    def _stop_pings(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            self._pinger = None

    def _note(self, message: Message) -> bool:
        """What a message means for the room; False for one the member need not see (a
        pong, a push older than the room's lobby)."""
        kind = message.get("type")
        if kind == "pong":
            t = message.get("t")
            if isinstance(t, int | float):
                self.rtt_ms = time.time() * 1000.0 - t
            return False
        body = message.get("lobby")
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
