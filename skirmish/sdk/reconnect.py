"""A match played to its end across dropped sockets: docs/protocol.md, "Reconnecting".

`Reconnector` is what a client plays a match through: it opens the socket, reads it,
and when the socket closes it decides by the close code whether to reconnect (with
backoff and jitter, refreshing an expired token first), notices a frozen server by its
silence, and resumes with the same token. It keeps every input sent until a snapshot
acknowledges it, and after each `welcome` resends, in order and before anything new,
those the server does not hold; an input the server reports as dropped is forgotten.

    async with Reconnector(client, access) as session:
        async for message in session:  # every socket's messages, each `welcome` included
            if message["type"] == "snapshot":
                await session.send_input(dx=1.0, dy=0.0, aim=0.0, fire=False)
    print(session.result)

The policy's parts are plain functions and classes (`after_close`, `Backoff`,
`PendingInputs`, `Timing`) that a test can drive on their own; the session takes its
clock, sleep and random numbers as arguments.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from skirmish.sdk.client import SkirmishClient
from skirmish.sdk.connection import MatchConnection, SingleReader, chat_message, input_message
from skirmish.sdk.records import MatchAccess, MatchClosed, SkirmishError

Message = dict[str, Any]
Action = Literal["reconnect", "refresh", "stop"]

# The server went away, the connection broke, the server failed, the pod is draining,
# "try again later", or the client was idle: reconnect with the same token.
RECONNECT_CLOSE_CODES = frozenset({1001, 1006, 1011, 1012, 1013, 4008})
# The match token expired: get a fresh one, then reconnect.
REFRESH_CLOSE_CODES = frozenset({4001})
RESTART = 1012  # the pod is draining: its players come back at once, spread by jitter
MATCH_OVER_CODES = frozenset({1000, 4010})  # the result came, or the server has it


def after_close(code: int | None, status: int | None = None) -> Action:
    """What to do after a socket closed with `code`; code None: the handshake got HTTP
    `status` instead of a socket, or (status None too) no answer at all. After any code
    the protocol does not name for reconnecting (1000, 1008, 1009, 4003, 4004, 4009,
    4010, 4029, or one it does not know) the client stops."""
    if code is None:
        return "reconnect" if status is None or status >= 500 else "stop"
    if code in RECONNECT_CLOSE_CODES:
        return "reconnect"
    if code in REFRESH_CLOSE_CODES:
        return "refresh"
    return "stop"


@dataclass(frozen=True, slots=True)
class Timing:
    """The policy's durations, in seconds."""

    first_delay: float = 0.25  # attempt n waits up to min(max_delay, first_delay * 2**n)
    max_delay: float = 4.0
    after_restart: float = 0.25  # the most the first attempt after a 1012 waits
    give_up: float = 30.0  # without a welcome
    ping_after: float = 0.5  # without a frame: send a ping
    silence: float = 1.0  # without a frame: the server or the network froze
    silent_ticks: int = 3  # ...or this many ticks, for a mode slower than 3 Hz
    open_timeout: float = 5.0  # for the handshake, and again for the welcome

    def silence_for(self, tick_rate: float | None) -> float:
        """How long a socket of a mode ticking `tick_rate` times a second may be silent."""
        if not tick_rate or tick_rate <= 0:
            return self.silence
        return max(self.silence, self.silent_ticks / tick_rate)


class Backoff:
    """Attempt n (from 0) waits uniform(0.5, 1.0) * min(max_delay, first_delay * 2**n)."""

    def __init__(self, timing: Timing, rng: random.Random) -> None:
        self.timing = timing
        self.rng = rng
        self.attempt = 0

    def delay(self, code: int | None) -> float:
        """The wait before the next attempt, after a close with `code`."""
        timing = self.timing
        limit = min(timing.max_delay, timing.first_delay * 2.0 ** min(self.attempt, 32))
        self.attempt += 1
        wait = self.rng.uniform(0.5, 1.0) * limit
        return min(wait, timing.after_restart) if code == RESTART else wait

    def reset(self) -> None:
        """A welcome: the next close starts from attempt 0 again."""
        self.attempt = 0


class PendingInputs:
    """The inputs sent and not yet acknowledged, in seq order: what a resend needs."""

    def __init__(self) -> None:
        self._inputs: dict[int, Message] = {}  # insertion order is seq order

    def __len__(self) -> int:
        return len(self._inputs)

    @property
    def seqs(self) -> list[int]:
        return list(self._inputs)

    def add(self, message: Message) -> None:
        seq = int(message["seq"])
        if self._inputs and seq <= next(reversed(self._inputs)):
            raise ValueError(f"input {seq} is not above the last one sent")
        self._inputs[seq] = message

    def acked(self, ack: int) -> None:
        """A snapshot's `ack`: every input up to it was applied."""
        inputs = self._inputs
        while inputs:
            seq = next(iter(inputs))
            if seq > ack:
                return
            del inputs[seq]

    def dropped(self, seq: int) -> bool:
        """The server pushed input `seq` out of its buffer: it is never applied."""
        return self._inputs.pop(seq, None) is not None

    def above(self, seq: int) -> list[Message]:
        """What to resend after a welcome whose `last_seq` is `seq`, in order."""
        return [message for s, message in self._inputs.items() if s > seq]


class ReconnectFailed(SkirmishError):
    """No welcome within the policy's `give_up` seconds of trying."""

    def __init__(self, match_id: str, seconds: float, last: MatchClosed) -> None:
        super().__init__(f"gave up reconnecting to {match_id} after {seconds:g} s: {last}")
        self.last = last


class Reconnector(SingleReader):
    """One player's match, from the first `welcome` to the `result`, over as many sockets
    as it takes. Iterate it for the server's messages (each socket's `welcome` first; one
    match, one reader); send inputs through it."""

    def __init__(
        self,
        client: SkirmishClient,
        access: MatchAccess,
        *,
        timing: Timing | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.access = access
        self.timing = timing or Timing()
        self.clock = clock
        self.sleep = sleep
        self.pending = PendingInputs()
        self.backoff = Backoff(self.timing, rng or random.Random())
        self.connection: MatchConnection | None = None  # None while (re)connecting
        self.welcome: Message | None = None  # the latest
        self.result: Message | None = None
        self.welcomes = 0  # sockets that got as far as their welcome
        self.resent = 0  # inputs sent again after a welcome
        self.dropped: list[int] = []  # the seqs the server reported as `input_dropped`
        self._seq = 0  # the last seq given to an input
        self._sending = asyncio.Lock()
        self._closing = False

    # -- what the player does ----------------------------------------------------------

    async def send_input(self, **fields: Any) -> int | None:
        """Send the next input (the mode's fields); returns its seq. While no socket is up
        it returns None and keeps nothing: a player who is away stands still."""
        async with self._sending:
            conn = self.connection
            if conn is None:
                return None
            message = input_message(self._seq + 1, fields)
            self._seq += 1
            self.pending.add(message)
            with contextlib.suppress(MatchClosed):  # kept: resent after the next welcome
                await conn.send(message)
            return self._seq

    async def chat(self, text: str, team: bool = False) -> bool:
        """Say `text` to the match's players (`team`: your team only; ValueError for a line
        not 1..200 characters once trimmed). False while no socket is up: a line is not
        kept for the next one."""
        message = chat_message(text, team)
        conn = self.connection
        if conn is None:
            return False
        try:
            await conn.send(message)
        except MatchClosed:
            return False
        return True

    async def ping(self) -> None:
        """Ask for a `pong` (it comes through the iteration), if a socket is up."""
        conn = self.connection
        if conn is not None:
            with contextlib.suppress(MatchClosed):
                await conn.ping()

    async def close(self) -> None:
        """Leave the match: close the socket (1000) and reconnect no more."""
        self._closing = True
        conn, self.connection = self.connection, None
        if conn is not None:
            await conn.close()

    # -- the sockets, one after another ------------------------------------------------

    async def _run(self) -> AsyncIterator[Message]:
        closed: MatchClosed | None = None
        while not self._closing:
            conn = await self._reconnect(closed)
            if conn is None:
                return
            try:
                async for message in self._play(conn):
                    yield message
            except MatchClosed as exc:
                closed = exc
            finally:
                if self.connection is conn:
                    self.connection = None
            if self.result is not None:  # the close that follows it (1000) is the end
                return

    async def _reconnect(self, closed: MatchClosed | None) -> MatchConnection | None:
        """Attempts until one gets its welcome; None when the match is over. `closed` is
        how the last socket (None: none yet) ended."""
        since = self.clock()
        while not self._closing:
            if closed is not None:
                if after_close(closed.code, closed.status) == "stop":
                    await self._ended(closed)
                    return None
                await self._wait(closed, since)
                if self._closing:
                    return None
            try:
                if closed is not None and closed.code in REFRESH_CLOSE_CODES:
                    self.access = await self._fresh_access()
                return await self._open(since)
            except MatchClosed as exc:
                closed = exc
        return None

    async def _wait(self, closed: MatchClosed, since: float) -> None:
        delay = self.backoff.delay(closed.code)
        if self.clock() + delay - since > self.timing.give_up:
            raise ReconnectFailed(self.access.match_id, self.timing.give_up, closed) from closed
        await self.sleep(delay)

    async def _fresh_access(self) -> MatchAccess:
        """A fresh match token; an answer that refuses it (ApiError) ends the attempts."""
        try:
            return await self.client.match_token(self.access.match_id)
        except httpx.TransportError as exc:  # no answer: the next attempt asks again
            raise MatchClosed(4001, f"token refresh failed: {exc!r}") from exc

    async def _open(self, since: float) -> MatchConnection:
        left = self.timing.give_up - (self.clock() - since)
        timeout = max(0.1, min(self.timing.open_timeout, left))
        return await self.client.connect(self.access, open_timeout=timeout)

    async def _ended(self, closed: MatchClosed) -> None:
        """A close after which nothing is tried again: the match is over (its result, from
        the API if it did not come through the socket), or `closed` is raised."""
        if closed.code not in MATCH_OVER_CODES:
            raise closed
        if self.result is None and not self._closing:
            self.result = (await self.client.get_match(self.access.match_id)).result

    # -- one socket ----------------------------------------------------------------------

    async def _play(self, conn: MatchConnection) -> AsyncIterator[Message]:
        """One socket's messages, from its welcome until it closes (MatchClosed)."""
        welcome = conn.welcome
        self.welcome, self.welcomes = welcome, self.welcomes + 1
        self.backoff.reset()
        last_seq = int(welcome.get("last_seq", 0))
        self._seq = max(self._seq, last_seq)
        for message in self.pending.above(last_seq):  # before anything new
            await conn.send(message)
            self.resent += 1
        self.connection = conn
        yield welcome
        silence = self.timing.silence_for(welcome.get("tick_rate"))
        while True:
            message = await self._next(conn, silence)
            self._note(message)
            yield message

    async def _next(self, conn: MatchConnection, silence: float) -> Message:
        """The next frame. Quiet for `ping_after`: a ping; for `silence`: the socket is
        dropped and MatchClosed(1006) raised, as if the network had cut it."""
        ping_after = min(self.timing.ping_after, silence)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(ping_after):
                return await conn.recv()
        with contextlib.suppress(MatchClosed):  # the recv below reports the close
            await conn.ping()
        try:
            async with asyncio.timeout(silence - ping_after):
                return await conn.recv()
        except TimeoutError:
            conn.abort()
            raise MatchClosed(1006, f"no frame for {silence:g} s") from None

    def _note(self, message: Message) -> None:
        """What a server message means for the inputs kept, and for the end."""
        kind = message.get("type")
        if kind == "snapshot":
            self.pending.acked(int(message.get("ack", 0)))
        elif kind == "error" and message.get("code") == "input_dropped":
            seq = message.get("seq")
            if isinstance(seq, int):
                self.pending.dropped(seq)
                self.dropped.append(seq)
        elif kind == "result":
            self.result = message
