"""Limits at the socket edge: token buckets, sockets per player, idle and handshake timeouts.

Everything here is sized for the hottest path of the server (a client input, 30 times a
second per player): a bucket check is a handful of float operations on a slotted object the
consumer already holds, with the clock read once per message. No per-message task, timer or
allocation: idle sockets are found by one pod-wide sweep every few seconds, not by a timer
per socket. The defaults and their environment variables are in docs/security.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from realtime.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; each message takes one."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = now

    def take(self, now: float) -> bool:
        tokens = self.tokens + (now - self.stamp) * self.rate
        if tokens > self.burst:
            tokens = self.burst
        self.stamp = now
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return True
        self.tokens = tokens
        return False


MAX_SWEEP_LAG = 1.0  # seconds late past which an idle sweep trusts no socket's silence


@dataclass(frozen=True, slots=True)
class SocketLimits:
    """What one match socket may do. `from_settings` reads the SKIRMISH_WS_* variables."""

    inputs_per_second: float = 60.0  # about 2× the tick rate: resends and jitter fit
    input_burst: float = 15.0
    pings_per_second: float = 2.0
    ping_burst: float = 5.0
    # Messages the buckets dropped within `window` seconds before the socket is closed
    # with 1008; the first drop of a window is answered with one `rate_limited` error.
    flood_limit: int = 200
    bad_limit: int = 20  # bad messages within `window` before the socket is closed (1008)
    window: float = 10.0
    idle_timeout: float = 30.0
    max_sockets_per_player: int = 4  # match and lobby sockets together
    # A lobby socket's chat lines; dropped ones past chat_flood_limit within `window` close
    # the socket with 1008. A lobby socket may be silent for lobby_idle_factor × idle_timeout.
    chat_per_second: float = 1.0
    chat_burst: float = 5.0
    chat_flood_limit: int = 30
    lobby_idle_factor: float = 2.0

    @classmethod
    def from_settings(cls, settings: Any) -> SocketLimits:
        fastest = max((m.tick_rate for m in settings.modes.values()), default=settings.tick_rate)
        per_second = settings.ws_inputs_per_second or 2.0 * fastest
        return cls(
            inputs_per_second=per_second,
            input_burst=settings.ws_input_burst,
            pings_per_second=settings.ws_pings_per_second,
            ping_burst=settings.ws_ping_burst,
            flood_limit=settings.ws_flood_limit,
            bad_limit=settings.ws_bad_message_limit,
            idle_timeout=settings.ws_idle_timeout_seconds,
            max_sockets_per_player=settings.ws_max_sockets_per_player,
        )


class GuardedSocket(Protocol):
    """What the guard needs of a socket (a match or a lobby consumer)."""

    @property
    def match_id(self) -> str | None:
        """A player's sockets of one match replace each other; None: replaces none."""
        ...

    @property
    def live(self) -> bool: ...

    def check_idle(self, now: float, timeout: float) -> None: ...


class SocketGuard:
    """The pod's view of its sockets: how many each player holds, and which are idle."""

    def __init__(self, limits: SocketLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self.by_player: dict[str, list[GuardedSocket]] = {}
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def sweep_interval(self) -> float:
        return min(self.limits.idle_timeout / 4, 5.0)

    def admit(self, player_id: str, socket: GuardedSocket) -> bool:
        """Count the socket in, unless the player already holds the maximum on this pod.

        Sockets the server already closed (replaced, timed out) do not count, nor does the
        player's socket of this same match: the new one is about to replace it.
        """
        held = [s for s in self.by_player.get(player_id, ()) if s.live]
        match_id = socket.match_id
        others = sum(1 for s in held if match_id is None or s.match_id != match_id)
        if others >= self.limits.max_sockets_per_player:
            self._store(player_id, held)
            return False
        held.append(socket)
        self.by_player[player_id] = held
        return True

    def release(self, player_id: str, socket: GuardedSocket) -> None:
        held = self.by_player.get(player_id)
        if held is not None:
            self._store(player_id, [s for s in held if s is not socket and s.live])

    def _store(self, player_id: str, held: list[GuardedSocket]) -> None:
        if held:
            self.by_player[player_id] = held
        else:
            self.by_player.pop(player_id, None)

    @property
    def sockets(self) -> int:
        """Open sockets on this pod (those the server closed no longer count)."""
        return sum(1 for held in self.by_player.values() for s in held if s.live)

    def sweep(self, lag: float = 0.0) -> bool:
        """Close idle sockets; `lag`: how late this sweep itself runs.

        A sweep that runs late says the event loop is behind: frames the clients sent may
        still be waiting unread in the socket buffers, so their silence proves nothing.
        Such a sweep is skipped (False); an overloaded pod must not cut off players whom it
        has not read (seen at 2,000 players on one 2-core pod in the benchmark).
        """
        if lag > MAX_SWEEP_LAG:
            log.warning("idle sweep skipped: the event loop is %.1f s behind", lag)
            return False
        now = self.clock()
        timeout = self.limits.idle_timeout
        for held in list(self.by_player.values()):
            for socket in held:
                socket.check_idle(now, timeout)
        return True

    async def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def stop(self) -> None:
        await cancel_and_wait(self._sweeper)
        self._sweeper = None

    async def _sweep_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.sweep_interval
            await asyncio.sleep(self.sweep_interval)
            try:
                self.sweep(lag=loop.time() - due)
            except Exception:  # one bad socket must not end the sweeping for all
                log.exception("idle sweep failed")


class HandshakeTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request to arrive whole.

    uvicorn arms no timer on a fresh connection: a client that connects and then sends
    nothing, or dribbles its headers (slowloris), would hold the connection forever. Here a
    connection must deliver each request (headers and body; for a WebSocket, the upgrade
    request) within `handshake_timeout` seconds of connecting or of starting the request,
    or it is closed. Between requests uvicorn's keep-alive timeout applies as before.
    """

    handshake_timeout = 10.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.handshake_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            log.info("closing a connection that sent no whole request in time")
            self.transport.close()


def http_protocol(handshake_timeout: float) -> type[HandshakeTimeoutProtocol]:
    """For `uvicorn.run(..., http=http_protocol(seconds))`."""
    return type(
        "HandshakeTimeoutProtocol",
        (HandshakeTimeoutProtocol,),
        {"handshake_timeout": handshake_timeout},
    )
