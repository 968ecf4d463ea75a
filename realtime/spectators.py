"""The spectators of the matches this pod owns: one `Audience` per watched match.

At the end of every pod-wide tick (before the relay's flush, so that what it adds to a
pod's link rides that tick's one batch), each audience takes the match's view if one is
due (`rate` a second of match time: every `tick_rate / rate` ticks), sends what is `delay`
old, and tells players and spectators how many watch (at most once a second, when it
changed). Other pods report their spectators of a match with `["w", match_id, count]`
entries (watch_edge.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from realtime import messages
from realtime.audience import Audience
from realtime.close_codes import CloseCode
from realtime.fanout import Outlet
from realtime.hosted_match import HostedMatch
from realtime.relay import PodLink
from skirmish.base.settings import spectator_every

log = logging.getLogger(__name__)

NOTICE_SECONDS = 1.0  # a `spectators` count is told at most this often
SILENT_POD_SECONDS = 5.0  # pods relaying to us send a keepalive every second


class Spectators:
    def __init__(self, delay: float, rate: float, clock: Callable[[], float]) -> None:
        self.delay = delay
        self.rate = rate
        self.clock = clock
        self.audiences: dict[str, Audience] = {}

    def every(self, tick_rate: int) -> int:
        """Ticks between two spectator views of a match at `tick_rate`."""
        return spectator_every(tick_rate, self.rate)

    def watch(self, hosted: HostedMatch, outlet: Outlet) -> None:
        """A spectator socket of this pod, of a match this pod owns."""
        audience = self._audience(hosted)
        audience.local.add(outlet)
        audience.newcomers = True

    def unwatch(self, match_id: str, outlet: Outlet) -> None:
        audience = self.audiences.get(match_id)
        if audience is not None:
            audience.local.discard(outlet)
            self._forget_if_empty(audience)

    def pod_watches(self, link: PodLink, hosted: HostedMatch, count: int) -> None:
        """Another pod has `count` spectators of one of our matches (0: none any more)."""
        if count > 0:
            audience = self._audience(hosted)
            if count > audience.pods.get(link, 0):
                audience.newcomers = True
            audience.pods[link] = count
            return
        watched = self.audiences.get(hosted.id)
        if watched is not None:
            watched.pods.pop(link, None)
            self._forget_if_empty(watched)

    # -- at the end of each pod-wide tick ------------------------------------------------

    def beat(self, now: float | None = None) -> None:
        if not self.audiences:
            return
        now = self.clock() if now is None else now
        for audience in list(self.audiences.values()):
            try:
                self._beat_one(audience, now)
            except Exception:  # the mode's spectator view failed: this audience only
                log.exception("match %s: its spectator view failed", audience.match_id)
                self._end(audience, None)

    def _beat_one(self, audience: Audience, now: float) -> None:
        audience.capture(now)
        audience.release(now, self.delay)
        if audience.ended(now, self.delay):
            assert audience.ending is not None
            self._end(audience, audience.ending[1])
            return
        count = audience.count
        changed = count != audience.told or audience.newcomers
        if changed and now - audience.told_at >= NOTICE_SECONDS:
            audience.told, audience.told_at, audience.newcomers = count, now, False
            notice = messages.encode({"type": "spectators", "count": count})
            audience.hosted.broadcast_frame(notice)
            audience.send_frame(notice)

    # -- the match's end, or its move ----------------------------------------------------

    def concluded(self, hosted: HostedMatch, result: bytes | None) -> None:
        """The match is over (`result`: its frame; None: it failed): the audience sees the
        rest of it, delayed, then the result."""
        audience = self.audiences.get(hosted.id)
        if audience is not None and audience.hosted is hosted:
            audience.ending = (self.clock(), result)

    def moved(self, hosted: HostedMatch, reason: str = "match_moved") -> None:
        """Another pod plays the match now (a drain: `server_restarting`; a lost lease):
        its spectators reconnect, and find it there."""
        audience = self.audiences.get(hosted.id)
        if audience is not None and audience.hosted is hosted:
            audience.send_frame(messages.encode({"type": "reconnect", "reason": reason}))
            audience.close(CloseCode.RESTART, reason.replace("_", " "))
            del self.audiences[hosted.id]

    def restart_all(self) -> int:
        """The pod drains: every audience left (a finished match's end still on show)
        reconnects, to watch the recording. Returns how many sockets were told."""
        told = 0
        for audience in list(self.audiences.values()):
            told += len(audience.local)
            self.moved(audience.hosted, "server_restarting")
        return told

    def drop_silent_pods(self, now: float | None = None) -> None:
        """A pod that died leaves its count behind: forget pods silent too long."""
        now = time.monotonic() if now is None else now
        for audience in list(self.audiences.values()):
            for link in [k for k in audience.pods if now - k.last_heard > SILENT_POD_SECONDS]:
                del audience.pods[link]
            self._forget_if_empty(audience)

    def _end(self, audience: Audience, result: bytes | None) -> None:
        if result is None:
            audience.close(CloseCode.INTERNAL, "internal error")
        else:
            audience.send_frame(result)
            audience.close(CloseCode.NORMAL, "match over")
        self.audiences.pop(audience.match_id, None)

    def _audience(self, hosted: HostedMatch) -> Audience:
        audience = self.audiences.get(hosted.id)
        if audience is None or audience.hosted is not hosted:  # none, or of a former hosting
            every = self.every(hosted.mode.tick_rate)
            audience = self.audiences[hosted.id] = Audience(hosted, every)
        return audience

    def _forget_if_empty(self, audience: Audience) -> None:
        if audience.empty and self.audiences.get(audience.match_id) is audience:
            del self.audiences[audience.match_id]
            if audience.told > 0 and audience.ending is None:  # the players saw some
                notice = messages.encode({"type": "spectators", "count": 0})
                audience.hosted.broadcast_frame(notice)
