"""The spectators of one match this pod owns: its delay buffer, and who gets what leaves it.

While anyone watches, the match's spectator view (`view(state, None)`) is encoded once
every `every` ticks into a snapshot body and kept (spectators.py looks at the end of each
pod-wide tick). A body leaves the buffer once it is `delay` seconds old and goes,
unchanged, to this pod's spectator sockets and, as ONE relay entry per pod, to every other
pod with spectators of the match (watch_edge.py hands it to theirs). Nobody watching:
nothing is kept, nothing encoded. The audience outlives the match by the delay: its end,
the `result`, comes when the delayed view reaches it.
"""

from __future__ import annotations

from collections import deque

import orjson

from realtime import messages
from realtime.fanout import Outlet
from realtime.hosted_match import HostedMatch
from realtime.relay import PodLink


class Audience:
    __slots__ = (
        "captured_tick", "ending", "every", "frames", "hosted", "local", "newcomers", "pods",
        "told", "told_at",
    )  # fmt: skip

    def __init__(self, hosted: HostedMatch, every: int) -> None:
        self.hosted = hosted
        self.every = every  # ticks between two views
        self.local: set[Outlet] = set()  # spectator sockets on this pod
        self.pods: dict[PodLink, int] = {}  # other pods watching: their spectators' count
        self.frames: deque[tuple[float, int, bytes]] = deque()  # (taken at, tick, body)
        self.captured_tick = 0
        # (when the match ended, the frame that ends the watching: `result`, or None when
        # the result could not be written): sent once the delayed view has caught up
        self.ending: tuple[float, bytes | None] | None = None
        self.told = 0  # the count last announced
        self.told_at = -1.0
        self.newcomers = False  # someone came since: they learn the count at the next notice

    @property
    def match_id(self) -> str:
        return self.hosted.id

    @property
    def count(self) -> int:
        return len(self.local) + sum(self.pods.values())

    @property
    def empty(self) -> bool:
        return not self.local and not self.pods

    # -- the buffer ----------------------------------------------------------------------

    def capture(self, now: float) -> None:
        """Keep the match's spectator view as of now, if it is due: every `every` ticks,
        and the last tick of the match."""
        hosted = self.hosted
        if hosted.tick < self.captured_tick + self.every and (
            hosted.status != "finished" or hosted.tick == self.captured_tick
        ):
            return
        if hosted.status == "finished" and hosted.outcome is None:
            return  # its mode failed (no contest): its last state shows nothing to trust
        online = hosted.connected_slots
        view = orjson.dumps(hosted.mode.view(hosted.state, None))
        self.frames.append((now, hosted.tick, messages.snapshot_body(hosted.tick, online, view)))
        self.captured_tick = hosted.tick

    def release(self, now: float, delay: float) -> None:
        """Send what is `delay` old, in order."""
        frames = self.frames
        while frames and frames[0][0] + delay <= now:
            _, tick, body = frames.popleft()
            self.send_snapshot(tick, body)

    def ended(self, now: float, delay: float) -> bool:
        """The match is over and the delayed view has shown all of it."""
        ending = self.ending
        return (
            ending is not None
            and ending[0] + delay <= now
            and not self.frames
            # its last tick shown (unless its mode failed: then nothing more is)
            and (self.captured_tick >= self.hosted.tick or self.hosted.outcome is None)
        )

    # -- sending -------------------------------------------------------------------------

    def send_snapshot(self, tick: int, body: bytes) -> None:
        for outlet in self.local:
            outlet.send_snapshot(0, body)
        for link in self.pods:
            link.add(["v", self.match_id, tick, body])

    def send_frame(self, frame: bytes) -> None:
        for outlet in self.local:
            outlet.send_frame(frame)
        for link in self.pods:
            link.add(["vf", self.match_id, frame])

    def close(self, code: int, reason: str) -> None:
        for outlet in self.local:
            outlet.close(code, reason)
        for link in self.pods:
            link.add(["vc", self.match_id, code, reason])
        self.local.clear()
        self.pods.clear()
        self.frames.clear()
