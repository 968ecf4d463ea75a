"""What a lobby room and a spectator share (the JS SDK's `SocketSession` is the same
idea): one server socket after another, kept by the policy of docs/protocol.md
("Reconnecting"), read through one iterator, kept alive by a ping every so often.

A subclass says what differs: the message each socket must start with (`_first_type`),
the URL and token of each attempt (`_target`), how a message is noted (`_keep`), how long
a socket may be silent (`_next`, by way of `_read`), which closes end it (`_ended`), when
it is over (`_over`, `_outcome`) and the error it raises (`_closed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from skirmish.sdk.client import SkirmishClient
from skirmish.sdk.connection import SingleReader, open_socket
from skirmish.sdk.reconnect import Backoff, Timing
from skirmish.sdk.records import MatchClosed, SkirmishError

Message = dict[str, Any]
R = TypeVar("R")


class SessionTiming(Protocol):
    """What the session reads of a subclass's timing."""

    @property
    def close_wait(self) -> float: ...  # after the last message: for the server's 1000

    @property
    def policy(self) -> Timing: ...  # the back-off, the give-up, the handshake's timeout


TimingT = TypeVar("TimingT", bound=SessionTiming)


class SessionClosed(SkirmishError):
    """A session ended without what was asked of it: `outcome` says why (`socket_closed`:
    the socket ended for good, `code` and `error` say how)."""

    _who = "session"  # the message's first words: "session ended: ..."

    def __init__(
        self, outcome: str, code: int | None = None, reason: str = "", *, error: Any = None
    ) -> None:
        super().__init__(f"{self._who} ended: {outcome} ({code} {reason})".rstrip())
        self.outcome = outcome
        self.code = code
        self.reason = reason
        self.error: Mapping[str, Any] | None = error


class SocketSession(SingleReader, Generic[TimingT]):
    """One server socket after another, until the session is over, closed, or refused."""

    _first_type: ClassVar[str]  # the `type` of the message each socket must start with
    _waited_for: ClassVar[str]  # what it is called when it does not come ("no snapshot...")
    _refusal_reason: ClassVar[bool] = True  # a refused socket's MatchClosed keeps its reason

    def __init__(
        self,
        client: SkirmishClient,
        timing: TimingT,
        rng: random.Random | None,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.client = client
        self.timing = timing
        self.clock = clock
        self.sleep = sleep
        self.backoff = Backoff(timing.policy, rng or random.Random())
        self.outcome: str | None = None  # the subclass's outcomes, or cancelled
        self.close_code: int | None = None
        self.rtt_ms: float | None = None
        self.sockets = 0  # sockets that got as far as their first message
        self.stale = 0  # messages older than what the session has, skipped
        self._ws: ClientConnection | None = None
        self._first: Message | None = None  # the message a new socket started with
        self._last: MatchClosed | None = None  # how the last socket ended
        self._pinger: asyncio.Task[None] | None = None
        self._closing = False

    # -- the session's life ------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def connect(self) -> object:
        """Open the first socket (retrying by the policy); what it started with."""
        raise NotImplementedError

    async def ping(self) -> bool:
        """Ask for a `pong` now (the keepalive does this every so often); False when no
        socket is open."""
        ws = self._ws
        return ws is not None and await _send_ping(ws)

    async def close(self) -> None:
        """Close the socket (1000) and reconnect no more."""
        self._closing = True
        if self.outcome is None:
            self.outcome = "cancelled"
        ws, self._ws = self._ws, None
        self._stop_pings()
        if ws is not None:
            await ws.close()

    async def _connect(self) -> None:
        """`connect`'s part: the first socket, unless one is open; `_closed` if none."""
        if self._ws is None and (self.outcome is not None or not await self._reconnect(None)):
            raise self._closed(self.outcome or "cancelled", self.close_code)

    async def _read_out(self, value: Callable[[], R | None]) -> R:
        """Read the session to its end: `value()`, or `_closed` when it is None."""
        async for _ in self:
            pass
        got = value()
        if got is None:
            raise self._closed(self.outcome or "socket_closed", self.close_code)
        return got

    async def _send(self, message: Message) -> bool:
        ws = self._ws
        return ws is not None and await _send_json(ws, message)

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
        """Attempts until a socket brings its first message: True; False when the session
        is over cleanly or closed; `_closed` raised when it ended otherwise."""
        since = self.clock()
        while not self._closing:
            if closed is not None:
                if await self._ended(closed):
                    return False
                delay = self.backoff.delay(closed.code)
                if self.clock() + delay - since > self.timing.policy.give_up:
                    raise self._socket_closed(closed, "gave up") from closed
                await self.sleep(delay)
                if self._closing:
                    break
            try:
                await self._open(since, closed)
                return True
            except MatchClosed as exc:
                closed = exc
        self.outcome = self.outcome or "cancelled"
        return False

    def _socket_closed(self, closed: MatchClosed, reason: str | None = None) -> SessionClosed:
        """The session ends for good (outcome `socket_closed`): the error to raise, with
        `reason` (None: the close's own, and its `error`)."""
        self.outcome = "socket_closed"
        if reason is not None:
            return self._closed("socket_closed", closed.code, reason)
        return self._closed("socket_closed", closed.code, closed.reason, closed.error)

    async def _open(self, since: float, closed: MatchClosed | None) -> None:
        url, token = await self._target(closed)
        left = self.timing.policy.give_up - (self.clock() - since)
        timeout = max(0.1, min(self.timing.policy.open_timeout, left))
        ws, first = await open_socket(url, token, timeout, self._waited_for, 1006)
        if first.get("type") != self._first_type:
            await ws.close()
            reason = (ws.close_reason or "") if self._refusal_reason else ""
            raise MatchClosed(ws.close_code, reason, error=first or None)
        self._ws, self.sockets = ws, self.sockets + 1
        self._started()
        self.backoff.reset()
        self._first = first if self._note(first) else None
        self._pinger = asyncio.create_task(self._keepalive(ws))

    def _drop(self, ws: ClientConnection) -> None:
        if self._ws is ws:
            self._ws = None
        self._stop_pings()

    async def _finish(self, ws: ClientConnection) -> None:
        """The session is over: the server's 1000 follows; wait a moment for it (a lost one
        is not waited for longer)."""
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

    async def _read(
        self, ws: ClientConnection, silence: float, ping_after: float | None = None
    ) -> Message:
        """The next frame. Quiet for `ping_after` (None: no such step): a ping; quiet for
        `silence` in all: the socket is dropped and MatchClosed(1006) raised, as if the
        network had cut it."""
        if ping_after is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(ping_after):
                    return await _recv(ws)
            await _send_ping(ws)  # a close is reported by the recv below
        try:
            async with asyncio.timeout(silence - (ping_after or 0.0)):
                return await _recv(ws)
        except TimeoutError:
            ws.transport.abort()
            raise MatchClosed(1006, f"no frame for {silence:g} s") from None

    async def _keepalive(self, ws: ClientConnection) -> None:
        """A ping every `_ping_every()` seconds, whatever comes in: the server counts what
        it gets."""
        while True:
            await asyncio.sleep(self._ping_every())
            if not await _send_ping(ws):
                return

    def _stop_pings(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            self._pinger = None

    def _note(self, message: Message) -> bool:
        """What a message means for the session (a pong: the round trip; else `_keep`);
        False for one the reader need not see."""
        if message.get("type") == "pong":
            t = message.get("t")
            if isinstance(t, int | float):
                self.rtt_ms = time.time() * 1000.0 - t
            return False
        return self._keep(message)

    # -- what a subclass says ----------------------------------------------------------

    def _closed(
        self, outcome: str, code: int | None, reason: str = "", error: Any = None
    ) -> SessionClosed:
        """The error the session raises when it ends without what was asked of it."""
        raise NotImplementedError

    async def _target(self, closed: MatchClosed | None) -> tuple[str, str]:
        """The URL and token of the next attempt (`closed`: how the last one ended)."""
        raise NotImplementedError

    async def _ended(self, closed: MatchClosed) -> bool:
        """After a socket's end: True when the session is over cleanly, False to try again;
        `_closed` raised when the policy says never again."""
        raise NotImplementedError

    async def _next(self, ws: ClientConnection) -> Message:
        """The next frame, by the subclass's silence rule (`_read`)."""
        raise NotImplementedError

    def _ping_every(self) -> float:
        raise NotImplementedError

    def _keep(self, message: Message) -> bool:
        """What a message (a pong aside) means; False for one the reader need not see."""
        raise NotImplementedError

    def _over(self) -> bool:
        """The session has what it was for: no more messages are read."""
        raise NotImplementedError

    def _outcome(self) -> str:
        raise NotImplementedError

    def _started(self) -> None:
        """A socket brought its first message (before it is noted)."""


async def _recv(ws: ClientConnection) -> Message:
    """The next message; MatchClosed when the socket closes (1006: without a close frame)."""
    try:
        message: Message = orjson.loads(await ws.recv())
    except ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd is not None else 1006
        reason = exc.rcvd.reason if exc.rcvd is not None else ""
        raise MatchClosed(code, reason) from exc
    return message


async def _send_ping(ws: ClientConnection) -> bool:
    """A ping stamped with the client's clock (ms); False once the socket is closed."""
    return await _send_json(ws, {"type": "ping", "t": time.time() * 1000.0})


async def _send_json(ws: ClientConnection, message: Message) -> bool:
    """`message` as a JSON text frame; False once the socket is closed."""
    try:
        await ws.send(orjson.dumps(message).decode())
    except ConnectionClosed:
        return False
    return True
