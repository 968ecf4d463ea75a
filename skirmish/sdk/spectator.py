"""A spectator: the spectate socket of docs/protocol.md ("Spectators"), kept connected by
the policy of "Reconnecting" as it applies to spectators.

    async with client.spectate(match_id, code=None, speed=None) as watch:
        async for message in watch:  # each socket's `spectating`, snapshots, `spectators`...
            if message["type"] == "snapshot":
                draw(message)        # the whole field, `ack` 0
    print(watch.result, watch.spectators)  # the `result` (`replayed` for a recording)

Entering asks for a spectate access (`POST /v1/matches/{id}/spectate`; an ApiError 403,
404 or 409 is the server's refusal) and opens its socket. The iteration ends after the
`result` (and the server's 1000) or `close()`; it raises `SpectatorClosed` when the watch
ends for good otherwise: a refusal (4003, 4004, 4010, 4029), 1008 or 1009, or no
`spectating` within the policy's 30 s. After 1001, 1006, 1011, 1012, 1013 and 4008 it
reconnects with the same token, after the back-off and jitter of `Backoff`; after 4001 it
asks for a fresh spectate access first (a refusal of that call ends the watch).

The silence rule (the JS SDK's `Spectator` keeps the same): snapshots come `rate_hz` times
a second of match time (times `speed` for a recording). A socket that brings no frame for
a second, or for three snapshots' spacing if longer, is pinged, and dropped and replaced
if nothing (its pong included) comes in the next 2 s: the server answers a ping at once,
so a match that waits or pauses is not a dead socket. Before a socket's first snapshot
the view is catching up with its delay: the ping waits `delay_ms` + 1 s. A ping also goes
out every 20 s whatever comes in: the server closes a spectator silent for 60 s.

A new socket starts over (a recording from its first tick): snapshots at or before the
last tick yielded are skipped, so the ticks seen only ever go forward. When the server
closes with 1000 or 4010 (the match is over) before a `result` came, the result is read
from `GET /v1/matches/{id}` instead (without `replayed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import httpx
import orjson
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from skirmish.sdk.client import SkirmishClient
from skirmish.sdk.connection import open_socket
from skirmish.sdk.reconnect import MATCH_OVER_CODES, Backoff, Timing, after_close
from skirmish.sdk.records import ApiError, MatchClosed, SkirmishError, SpectateAccess

Message = dict[str, Any]
MIN_SPEED, MAX_SPEED = 0.25, 16.0  # a recording's playback speeds


@dataclass(frozen=True, slots=True)
class SpectatorTiming:
    """The spectator's durations, in seconds; `policy` has the back-off, the 30 s give-up,
    the handshake's timeout, and the quiet time before a ping (`silence`, or
    `silent_ticks` snapshots' spacing if longer)."""

    keepalive: float = 20.0  # a ping this often (the server's idle close is at 60 s)
    pong_timeout: float = 2.0  # after a ping for a quiet socket: nothing, and it is dead
    close_wait: float = 2.0  # after the `result`: for the server's 1000
    policy: Timing = field(default_factory=Timing)


def quiet_limits(
    timing: SpectatorTiming, spectating: Mapping[str, Any], fresh: bool
) -> tuple[float, float]:
    """How long a spectate socket may bring nothing: (send a ping after, drop it after).
    Snapshots come `rate_hz` × `speed` a second; `fresh`: this socket has brought none yet,
    and its first comes up to `delay_ms` after its `spectating`."""
    policy = timing.policy
    per_second = float(spectating.get("rate_hz") or 0) * float(spectating.get("speed") or 1)
    ping_after = policy.silence_for(per_second)  # a second, or 3 snapshots' spacing
    if fresh:
        delay = max(0.0, float(spectating.get("delay_ms") or 0) / 1000.0)
        ping_after = max(ping_after, delay + policy.silence)
    return ping_after, ping_after + timing.pong_timeout


def check_speed(speed: float | None) -> float | None:
    """A recording's playback speed, 0.25 to 16 (None: the server's, 1); ValueError else."""
    if speed is not None and not (math.isfinite(speed) and MIN_SPEED <= speed <= MAX_SPEED):
        raise ValueError(f"speed is {MIN_SPEED:g} to {MAX_SPEED:g}, not {speed!r}")
    return speed


class SpectatorClosed(SkirmishError):
    """The watch ended without its `result`: `outcome` says why (`socket_closed`: the
    socket ended for good, `code` and `error` say how); `result` is None."""

    def __init__(
        self, outcome: str, code: int | None = None, reason: str = "", *, error: Any = None
    ) -> None:
        super().__init__(f"spectator ended: {outcome} ({code} {reason})".rstrip())
        self.outcome = outcome
        self.code = code
        self.reason = reason
        self.error: Mapping[str, Any] | None = error


class Spectator:
    """One spectator of one match, over as many sockets as it takes. Iterate it for the
    server's messages (pongs aside, and snapshots not past the last tick yielded)."""

    def __init__(
        self,
        client: SkirmishClient,
        match_id: str,
        *,
        code: str | None = None,
        speed: float | None = None,
        access: SpectateAccess | None = None,
        timing: SpectatorTiming | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.match_id = match_id
        self.code = code
        self.speed = check_speed(speed)
        self.access = access  # None until asked for (on entering)
        self.timing = timing or SpectatorTiming()
        self.clock = clock
        self.sleep = sleep
        self.backoff = Backoff(self.timing.policy, rng or random.Random())
        self.spectating: Message | None = None  # the latest socket's welcome
        self.tick: int | None = None  # the tick of the last snapshot yielded
        self.spectators: int | None = None  # how many watch the match, as last told
        self.result: Message | None = None
        self.outcome: str | None = None  # result, cancelled, refused, socket_closed
        self.close_code: int | None = None
        self.rtt_ms: float | None = None
        self.sockets = 0  # sockets that got as far as their `spectating`
        self.stale = 0  # snapshots not past the last tick yielded, skipped
        self._ws: ClientConnection | None = None
        self._first: Message | None = None  # the `spectating` a new socket started with
        self._fresh = True  # the socket has brought no snapshot yet
        self._last: MatchClosed | None = None  # how the last socket ended
        self._pinger: asyncio.Task[None] | None = None
        self._closing = False
        self._messages: AsyncIterator[Message] | None = None

    @property
    def live(self) -> bool | None:
        """True: the match is watched as it runs; False: from its recording."""
        if self.spectating is not None:
            return bool(self.spectating.get("live"))
        return None if self.access is None else self.access.live

    # -- the watch's life ----------------------------------------------------------------

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

    async def connect(self) -> Message:
        """Ask for a spectate access (unless given one) and open the first socket (retrying
        by the policy); returns its `spectating`. ApiError if the server will not let this
        player watch; `SpectatorClosed` if the socket is refused (or the match is over:
        outcome `result`, and `result` holds it)."""
        if self._ws is None and (self.outcome is not None or not await self._reconnect(None)):
            raise SpectatorClosed(self.outcome or "cancelled", self.close_code)
        assert self.spectating is not None
        return self.spectating

    def __aiter__(self) -> AsyncIterator[Message]:
        """The server's messages, each socket's `spectating` first; one iterator per watch."""
        if self._messages is None:
            self._messages = self._run()
        return self._messages

    async def wait_result(self) -> Message:
        """Read the watch to its end: the match's `result`, or `SpectatorClosed`."""
        async for _ in self:
            pass
        if self.result is None:
            raise SpectatorClosed(self.outcome or "socket_closed", self.close_code)
        return self.result

    async def ping(self) -> bool:
        """Ask for a `pong` now; False when no socket is open."""
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
                    if self.result is not None:
                        await self._finish(ws)
                        return
            except MatchClosed as exc:
                self._drop(ws)
                self._last = exc

    async def _reconnect(self, closed: MatchClosed | None) -> bool:
        """Attempts until a socket brings its `spectating`: True; False when the watch was
        closed; SpectatorClosed when it ends otherwise."""
        since = self.clock()
        while not self._closing:
            if closed is not None:
                if await self._ended(closed):
                    return False
                delay = self.backoff.delay(closed.code)
                if self.clock() + delay - since > self.timing.policy.give_up:
                    self.outcome = "socket_closed"
                    raise SpectatorClosed("socket_closed", closed.code, "gave up") from closed
                await self.sleep(delay)
                if self._closing:
                    break
            try:
                if self.access is None or (closed is not None and closed.code == 4001):
                    self.access = await self._fresh_access()
                await self._open(since)
                return True
            except MatchClosed as exc:
                closed = exc
        self.outcome = self.outcome or "cancelled"
        return False

    async def _ended(self, closed: MatchClosed) -> bool:
        """After a socket's end: False to try again; True when the match is over and its
        result was read from the API instead (1000 or 4010 before a `result` came);
        SpectatorClosed when the policy says never again."""
        self.close_code = closed.code
        if after_close(closed.code, closed.status) != "stop":
            return False
        if closed.code in MATCH_OVER_CODES and await self._stored_result():
            self.outcome = "result"
            return True
        self.outcome = "socket_closed"
        raise SpectatorClosed(
            "socket_closed", closed.code, closed.reason, error=closed.error
        ) from closed

    async def _stored_result(self) -> bool:
        """The match's result from `GET /v1/matches/{id}`, if it has one."""
        try:
            stored = (await self.client.get_match(self.match_id)).result
        except (ApiError, httpx.HTTPError):
            return False
        if stored is None:
            return False
        self.result = {"type": "result", **stored}
        return True

    async def _fresh_access(self) -> SpectateAccess:
        """A spectate access; the server's refusal (ApiError) ends the watch, no answer is
        one more failed attempt."""
        try:
            return await self.client.spectate_access(self.match_id, self.code)
        except ApiError:
            self.outcome = "refused"
            raise
        except httpx.TransportError as exc:
            raise MatchClosed(4001, f"spectate access failed: {exc!r}") from exc

    async def _open(self, since: float) -> None:
        access = self.access
        assert access is not None
        left = self.timing.policy.give_up - (self.clock() - since)
        timeout = max(0.1, min(self.timing.policy.open_timeout, left))
        url = self.client.ws_url(access.ws_path)
        if self.speed is not None:
            url += f"?speed={self.speed:g}"
        ws, first = await open_socket(url, access.token, timeout, "spectating", 1006)
        if first.get("type") != "spectating":
            await ws.close()
            raise MatchClosed(ws.close_code, ws.close_reason or "", error=first or None)
        self._ws, self.sockets, self._fresh = ws, self.sockets + 1, True
        self.backoff.reset()
        self._note(first)
        self._first = first
        self._pinger = asyncio.create_task(self._keepalive(ws))

    def _drop(self, ws: ClientConnection) -> None:
        if self._ws is ws:
            self._ws = None
        self._stop_pings()

    async def _finish(self, ws: ClientConnection) -> None:
        """The `result` came: the server's 1000 follows; wait a moment for it (a lost one
        is not waited for longer)."""
        self._stop_pings()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.timing.close_wait):
                await ws.wait_closed()
        if ws.close_code is None:
            ws.transport.abort()
        self._drop(ws)
        self.close_code = ws.close_code
        self.outcome = "result"

    # -- one socket ----------------------------------------------------------------------

    async def _next(self, ws: ClientConnection) -> Message:
        """The next frame. Quiet past the first limit: a ping; past the second: the socket
        is dropped and MatchClosed(1006) raised, as if the network had cut it."""
        ping_after, silence = quiet_limits(self.timing, self.spectating or {}, self._fresh)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(ping_after):
                return await _recv(ws)
        await _send_ping(ws)  # a close is reported by the recv below
        try:
            async with asyncio.timeout(silence - ping_after):
                return await _recv(ws)
        except TimeoutError:
            ws.transport.abort()
            raise MatchClosed(1006, f"no frame for {silence:g} s") from None

    async def _keepalive(self, ws: ClientConnection) -> None:
        """A ping every `keepalive` seconds, whatever comes in: the server counts what it
        gets, and a spectator sends nothing else."""
        while await _send_ping(ws, delay=self.timing.keepalive):
            pass

    def _stop_pings(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            self._pinger = None

    def _note(self, message: Message) -> bool:
        """What a message means for the watch; False for one the caller need not see (a
        pong, a snapshot not past the last tick yielded)."""
        kind = message.get("type")
        if kind == "pong":
            t = message.get("t")
            if isinstance(t, int | float):
                self.rtt_ms = time.time() * 1000.0 - t
            return False
        if kind == "snapshot":
            self._fresh = False
            tick = int(message.get("tick", 0))
            if self.tick is not None and tick <= self.tick:
                self.stale += 1
                return False
            self.tick = tick
        elif kind == "spectating":
            self.spectating = message
            self.spectators = _count(message.get("spectators"), self.spectators)
        elif kind == "spectators":
            self.spectators = _count(message.get("count"), self.spectators)
        elif kind == "result":
            self.result = message
        return True


def _count(value: Any, default: int | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


async def _recv(ws: ClientConnection) -> Message:
    """The next message; MatchClosed when the socket closes (1006: without a close frame)."""
    try:
        message: Message = orjson.loads(await ws.recv())
    except ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd is not None else 1006
        reason = exc.rcvd.reason if exc.rcvd is not None else ""
        raise MatchClosed(code, reason) from exc
    return message


async def _send_ping(ws: ClientConnection, delay: float = 0.0) -> bool:
    """A ping stamped with the client's clock (ms), after `delay` s; False once closed."""
    if delay > 0:
        await asyncio.sleep(delay)
    try:
        await ws.send(orjson.dumps({"type": "ping", "t": time.time() * 1000.0}).decode())
    except ConnectionClosed:
        return False
    return True
