"""The match socket: authenticate, validate, rate-check, forward. Never game rules.

Limits (docs/security.md), held by the socket rules it shares with the lobby socket
(realtime/guarded_consumer.py): frames over 4 KiB close with 1009; inputs, chat lines
(realtime/match_chat.py) and pings each pass a token bucket, and what the buckets drop is
answered once per window with `rate_limited` and closes the socket with 1008 if it
persists; bad messages get an `error` each and close with 1008 past `bad_limit` per
window; a socket idle while its match runs is closed with 4008 by the pod's sweep
(realtime/limits.py), and a player holds at most `max_sockets_per_player` match sockets on
a pod (4029).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from realtime import match_chat, messages, metrics
from realtime.close_codes import CloseCode
from realtime.guarded_consumer import MAX_FRAME_BYTES, GuardedConsumer, monotonic
from realtime.hosted_match import Seat
from realtime.limits import SocketGuard, TokenBucket
from realtime.match_claims import Draining, Match, MatchOver
from realtime.match_host import MatchHost
from realtime.messages import ProtocolError
from realtime.metrics import RECEIVED
from skirmish.base.errors import Forbidden, NotFound, SkirmishError

__all__ = ["CLOSE_FOR_ERROR", "MAX_FRAME_BYTES", "MatchConsumer"]

CLOSE_FOR_ERROR: Mapping[type[SkirmishError], int] = {
    NotFound: CloseCode.NOT_FOUND,
    Forbidden: CloseCode.FORBIDDEN,
    MatchOver: CloseCode.MATCH_OVER,
    Draining: CloseCode.RESTART,
}

log = logging.getLogger(__name__)


class MatchConsumer(GuardedConsumer):
    # Its seat in the match while it serves: a plain attribute, read twice per frame (this
    # class attribute hides the base's `place` property, so instances can set their own).
    place: Seat | None = None
    match_id: str  # (for the guard) the player's other socket of this match is replaced
    close_for_error = CLOSE_FOR_ERROR

    def __init__(self, host: MatchHost, guard: SocketGuard | None = None) -> None:
        super().__init__(guard)
        self.host = host
        limits = self.limits
        self.hosted: Match | None = None
        self.place = None
        self.match_id = ""
        self.inputs = self._rate_limit(
            "inputs", limits.inputs_per_second, limits.input_burst, limits.flood_limit
        )
        self.chats = TokenBucket(limits.chat_per_second, limits.chat_burst, self.last_seen)

    # -- the handshake -------------------------------------------------------------------

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        claims = await self._open(self.host.pod)  # a match token's claims
        self.match_id = self.scope["url_route"]["kwargs"]["match_id"]
        if claims.match_id != self.match_id:
            await self._refuse(CloseCode.FORBIDDEN, "forbidden", "token is for another match")
        await self._admit(claims.player_id, "match sockets")
        await self._attach()
        self.last_seen = monotonic()
        metrics.PLAYERS_CONNECTED.inc()
        self.take_frames_directly()  # seated: frames may now skip the receive queue

    async def _attach(self) -> None:
        assert self.connection is not None
        try:
            self.hosted, self.place = await self.host.attach(
                self.match_id, self.player_id, self.connection
            )
        except SkirmishError as exc:
            await self._refuse_for(exc)
        except BaseException:
            self._release()  # the player's socket count must not leak
            raise

    # -- the hot path: one call per client frame (frame_received, then this) -------------

    def _handle(self, msg: dict[str, Any], now: float) -> None:
        hosted, seat = self.hosted, self.place
        assert hosted is not None and seat is not None
        kind = msg.get("type")
        if kind == "input":
            RECEIVED.input += 1
            if not self.inputs.take(now):
                self._throttled(now)
            elif hosted.status == "finished":
                pass  # it crossed the final tick: the result is on its way, then the close
            else:
                hosted.accept_input(seat, messages.input_seq(msg), msg)
        elif kind == "chat":
            text, team = match_chat.parse(msg, hosted.mode.teams)
            if not self.chats.take(now):
                self._throttled(now)
                return
            hosted.chat(seat, text, team)
        elif kind == "ping":
            RECEIVED.ping += 1
            if not self.pings.take(now):
                self._throttled(now)
                return
            assert self.connection is not None
            self.connection.send_frame(messages.pong(messages.ping_time(msg), hosted.tick))
        else:
            raise ProtocolError("unknown_type", f"unknown message type: {str(kind)[:40]!r}")

    # -- leaving -------------------------------------------------------------------------

    def _allowed_silence(self, now: float, timeout: float) -> float:
        """Before the start nobody needs to send anything: silence counts from the start."""
        hosted = self.hosted
        assert hosted is not None
        if hosted.status != "running" or hosted.tick == 0:
            self.last_seen = now
            return math.inf
        return timeout

    def _vacate(self) -> None:
        if self.hosted is not None and self.place is not None and self.connection is not None:
            self.host.detach(self.hosted, self.place, self.connection)
            self.place = None
            metrics.PLAYERS_CONNECTED.dec()
