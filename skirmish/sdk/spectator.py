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
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection

from skirmish.sdk.client import SkirmishClient
from skirmish.sdk.reconnect import MATCH_OVER_CODES, Timing, after_close
from skirmish.sdk.records import ApiError, MatchClosed, SpectateAccess
from skirmish.sdk.session import SessionClosed, SocketSession

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


class SpectatorClosed(SessionClosed):
    """The watch ended without its `result`: `outcome` says why (`socket_closed`: the
    socket ended for good, `code` and `error` say how); `result` is None."""

    _who = "spectator"


class Spectator(SocketSession[SpectatorTiming]):
    """One spectator of one match, over as many sockets as it takes. Iterate it for the
    server's messages (pongs aside, and snapshots not past the last tick yielded): each
    socket's `spectating` first; one iterator per watch. `outcome`: result, cancelled,
    refused or socket_closed."""

    _first_type = "spectating"
    _waited_for = "spectating"

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
        self.speed = check_speed(speed)
        super().__init__(client, timing or SpectatorTiming(), rng, clock, sleep)
        self.match_id = match_id
        self.code = code
        self.access = access  # None until asked for (on entering)
        self.spectating: Message | None = None  # the latest socket's welcome
        self.tick: int | None = None  # the tick of the last snapshot yielded
        self.spectators: int | None = None  # how many watch the match, as last told
        self.result: Message | None = None
        self._fresh = True  # the socket has brought no snapshot yet

    @property
    def live(self) -> bool | None:
        """True: the match is watched as it runs; False: from its recording."""
        if self.spectating is not None:
            return bool(self.spectating.get("live"))
        return None if self.access is None else self.access.live

    # -- the watch's life ----------------------------------------------------------------

    async def connect(self) -> Message:
        """Ask for a spectate access (unless given one) and open the first socket (retrying
        by the policy); returns its `spectating`. ApiError if the server will not let this
        player watch; `SpectatorClosed` if the socket is refused (or the match is over:
        outcome `result`, and `result` holds it)."""
        await self._connect()
        assert self.spectating is not None
        return self.spectating

    async def wait_result(self) -> Message:
        """Read the watch to its end: the match's `result`, or `SpectatorClosed`."""
        return await self._read_out(lambda: self.result)

    # -- what the watch says of its sockets --------------------------------------------

    def _closed(
        self, outcome: str, code: int | None, reason: str = "", error: Any = None
    ) -> SpectatorClosed:
        return SpectatorClosed(outcome, code, reason, error=error)

    async def _target(self, closed: MatchClosed | None) -> tuple[str, str]:
        """The spectate socket of the access (a fresh one first when there is none yet, or
        after 4001), at the watch's speed."""
        if self.access is None or (closed is not None and closed.code == 4001):
            self.access = await self._fresh_access()
        url = self.client.ws_url(self.access.ws_path)
        if self.speed is not None:
            url += f"?speed={self.speed:g}"
        return url, self.access.token

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
        raise self._socket_closed(closed) from closed

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

    async def _next(self, ws: ClientConnection) -> Message:
        """The next frame. Quiet past the first limit: a ping; past the second: the socket
        is dropped and MatchClosed(1006) raised, as if the network had cut it."""
        ping_after, silence = quiet_limits(self.timing, self.spectating or {}, self._fresh)
        return await self._read(ws, silence, ping_after)

    def _ping_every(self) -> float:
        """A spectator sends nothing but pings: every `keepalive` seconds."""
        return self.timing.keepalive

    def _started(self) -> None:
        self._fresh = True

    def _keep(self, message: Message) -> bool:
        """What a message means for the watch; False for a snapshot not past the last tick
        yielded."""
        kind = message.get("type")
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

    def _over(self) -> bool:
        return self.result is not None

    def _outcome(self) -> str:
        return "result"


def _count(value: Any, default: int | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
