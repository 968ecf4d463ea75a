"""The spectator socket (`/ws/matches/{match_id}/spectate`): a match watched live, behind a
delay, or played again from its recording once it is over.

The rules of match sockets (docs/protocol.md, "Spectators"): the spectate token travels as
a subprotocol, the origin allow-list applies, frames over 4 KiB close with 1009, the socket
counts against the player's sockets on the pod (4029), bad messages get an `error` each and
20 within 10 s close with 1008, pings pass a token bucket. A spectator sends nothing but
pings: an `input` is answered with `input_refused` (a bad message). Silence is allowed for
twice the idle timeout, as on a lobby socket. 1013 when the live match has no pod yet, or
this pod plays as many recordings as it may.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from game.modes import AnyMode
from realtime import messages, metrics
from realtime.close_codes import CloseCode
from realtime.consumers import CLOSE_FOR_ERROR as MATCH_CLOSES
from realtime.guarded_consumer import GuardedConsumer, monotonic
from realtime.limits import SocketGuard
from realtime.match_claims import MatchOver, TryLater
from realtime.match_host import MatchHost
from realtime.messages import ProtocolError
from realtime.replay_view import SPEEDS, Playback, Theatre
from skirmish.base.errors import Forbidden, NotFound, SkirmishError
from skirmish.base.store.records import MatchRecord

# As a match socket's, and 1013 for "try again later".
CLOSE_FOR_ERROR: Mapping[type[SkirmishError], int] = {
    **MATCH_CLOSES,
    TryLater: CloseCode.TRY_LATER,
}

log = logging.getLogger(__name__)


class SpectatorConsumer(GuardedConsumer):
    close_for_error = CLOSE_FOR_ERROR
    no_inputs = "spectators cannot send inputs"

    def __init__(self, host: MatchHost, theatre: Theatre, guard: SocketGuard | None = None) -> None:
        super().__init__(guard)
        self.host = host
        self.theatre = theatre
        self.flood_limit = self.limits.flood_limit  # pings dropped past it: 1008
        self.stop_watching: Callable[[], None] | None = None
        self.playing: asyncio.Task[None] | None = None

    @property
    def place(self) -> object | None:
        """Watching, or playing a recording, until either side closes the socket."""
        held = self.stop_watching or self.playing
        return held if self.live else None

    # -- the handshake -------------------------------------------------------------------

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        claims = await self._open(self.host.pod)  # a spectate token's claims
        match_id = self.scope["url_route"]["kwargs"]["match_id"]
        if claims.match_id != match_id:
            await self._refuse(CloseCode.FORBIDDEN, "forbidden", "token is for another match")
        await self._admit(claims.player_id, "sockets")
        try:
            await self._take_seat(match_id)
        except SkirmishError as exc:
            await self._refuse_for(exc)
        except ProtocolError as exc:  # a bad query: asking again the same way cannot help
            self._release()
            await self._refuse(CloseCode.POLICY, exc.code, exc.message)
        except BaseException:
            self._release()
            raise
        self.last_seen = monotonic()
        self.take_frames_directly()

    async def _take_seat(self, match_id: str) -> None:
        record = await self.host.store.get_match(match_id)
        if record is None:
            raise NotFound(f"match {match_id} not found")
        mode = self.host.claims.mode_of(record)
        if record.status == "finished":
            await self._play_recording(record, mode)
            return
        if mode.hides_information and record.slot_of(self.player_id) is not None:
            # Its own player would see through the fog; the recording is theirs once over.
            raise Forbidden("you play this match: watch it once it is over")
        assert self.connection is not None
        spectators = self.host.spectators
        welcome = spectating(record, mode, live=True, delay=spectators.delay)
        welcome["rate_hz"] = mode.tick_rate / spectators.every(mode.tick_rate)
        stop = await self.host.watch(match_id, self.connection)
        self.connection.send_frame(messages.encode(welcome))  # before the first snapshot
        self.stop_watching = stop
        metrics.SPECTATORS.labels("live").inc()

    async def _play_recording(self, record: MatchRecord, mode: AnyMode) -> None:
        recording = await self.host.store.get_replay(record.id)
        if recording is None:
            raise MatchOver(f"the match is over and no recording of it was kept: {record.id}")
        if recording.get("mode_version", 1) != mode.version:
            raise NotFound("the recording was made by another version of its mode")
        speed = self._speed()
        if not self.theatre.admit():
            raise TryLater("this server plays as many recordings as it may; try again")
        every = self.host.spectators.every(mode.tick_rate)
        playback = Playback(record, mode, recording, every, speed)
        welcome = spectating(record, mode, live=False, delay=0.0)
        welcome.update(rate_hz=mode.tick_rate / every, speed=speed)
        assert self.connection is not None
        self.connection.send_frame(messages.encode(welcome))
        self.playing = asyncio.get_running_loop().create_task(self._play(playback))
        metrics.SPECTATORS.labels("recording").inc()
        # (not a `finally` in the task: a task cancelled before it ran never runs one)
        self.playing.add_done_callback(self._left_theatre)

    def _left_theatre(self, _: object) -> None:
        self.theatre.leave()
        metrics.SPECTATORS.labels("recording").dec()

    def _speed(self) -> float:
        raw = self.scope.get("query_string", b"").decode("latin-1")
        query = dict(parse_qsl(raw))
        try:
            speed = float(query.get("speed", "1"))
        except ValueError:
            speed = -1.0
        if not SPEEDS[0] <= speed <= SPEEDS[1]:
            raise ProtocolError("invalid_message", f"speed: {SPEEDS[0]:g} to {SPEEDS[1]:g}")
        return speed

    async def _play(self, playback: Playback) -> None:
        connection = self.connection
        assert connection is not None
        try:
            await playback.play(connection)
            self._close(CloseCode.NORMAL, "replay over")
        except Exception:
            log.exception("playing the recording of match %s failed", playback.record.id)
            self._close(CloseCode.INTERNAL, "internal error")

    # -- client frames (frame_received, then this) ---------------------------------------

    def _rate_notice(self) -> str:
        per_second = self.limits.pings_per_second
        return f"slow down: at most {per_second:g} pings a second; extra ones are dropped"

    def _handle(self, msg: dict[str, Any], now: float) -> None:
        kind = msg.get("type")
        if kind == "ping":
            if not self.pings.take(now):
                self._throttled(now)
                return
            assert self.connection is not None
            self.connection.send_frame(messages.pong(messages.ping_time(msg), 0))
        elif kind == "input":
            raise ProtocolError("input_refused", self.no_inputs)
        else:
            raise ProtocolError("unknown_type", f"unknown message type: {str(kind)[:40]!r}")

    # -- leaving -------------------------------------------------------------------------

    def _allowed_silence(self, now: float, timeout: float) -> float:
        return timeout * self.limits.lobby_idle_factor

    def _vacate(self) -> None:
        stop, self.stop_watching = self.stop_watching, None
        if stop is not None:
            stop()
            metrics.SPECTATORS.labels("live").dec()
        playing, self.playing = self.playing, None
        if playing is not None and playing is not asyncio.current_task():
            playing.cancel()  # when it is done, its seat in the theatre is free


def spectating(record: MatchRecord, mode: AnyMode, *, live: bool, delay: float) -> dict[str, Any]:
    """The spectator socket's welcome (its `rate_hz` and `speed` are the caller's to set)."""
    return {
        "type": "spectating",
        "match_id": record.id,
        "mode": mode.name,
        "tick_rate": mode.tick_rate,
        "teams": mode.teams,
        "players": [
            {"slot": p.slot, "player_id": p.player_id, "name": p.name} for p in record.players
        ],
        "config": mode.client_config(),
        "live": live,
        "status": record.status,
        "delay_ms": round(delay * 1000),
        "rate_hz": 0,
        "speed": 1,
    }
