"""The watching side of spectating across pods: this pod's spectators of matches another
pod owns.

Per watched match the pod tells the owner how many of its sockets watch, with
`["w", match_id, count]` entries in its per-tick batch (again every maintenance round, so an
owner that lost count learns it back; 0: none any more). The owner answers with
`["v", match_id, tick, body]` (a spectator snapshot), `["vf", match_id, frame]` (a frame for
all: the count, the result, `reconnect`) and `["vc", match_id, code, reason]` (close them
all): one entry per watched match, whatever the number of spectators, which this module
hands to each of them.
"""

from __future__ import annotations

import time

from realtime import messages
from realtime.close_codes import CloseCode
from realtime.fanout import Outlet
from realtime.ownership import Lease, MatchDirectory
from realtime.relay import Entry, PodLink, Relay

# A match's owner gives its lease back when the match ends, but goes on showing its
# spectators the end for the delay: views it sent this recently say it is still at it.
SHOWING_SECONDS = 5.0


class WatchedMatch:
    __slots__ = ("heard", "link", "local", "match_id", "owner")

    def __init__(self, match_id: str, owner: Lease, link: PodLink) -> None:
        self.match_id = match_id
        self.owner = owner
        self.link = link
        self.local: set[Outlet] = set()
        self.heard = time.monotonic()  # when the owner last sent it something

    def report(self) -> None:
        self.link.add(["w", self.match_id, len(self.local)])

    def close(self, code: int, reason: str) -> None:
        for outlet in self.local:
            outlet.close(code, reason)
        self.local.clear()


class WatchEdge:
    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.watched: dict[str, WatchedMatch] = {}

    def watch(self, match_id: str, owner: Lease, outlet: Outlet) -> None:
        watched = self.watched.get(match_id)
        if watched is not None and watched.owner != owner:  # the match moved meanwhile
            self._moved(watched)
            watched = None
        if watched is None:
            link = self.relay.link(owner.channel)
            watched = self.watched[match_id] = WatchedMatch(match_id, owner, link)
        watched.local.add(outlet)
        watched.report()

    def unwatch(self, match_id: str, outlet: Outlet) -> None:
        watched = self.watched.get(match_id)
        if watched is None or outlet not in watched.local:
            return
        watched.local.discard(outlet)
        watched.report()
        if not watched.local:
            del self.watched[match_id]

    def deliver(self, entry: Entry, link: PodLink) -> None:
        """Apply one owner→watcher entry (from `link`) to this pod's spectators of the
        match; a former owner's late entries are not theirs."""
        watched = self.watched.get(entry[1])
        if watched is None or watched.link is not link:
            return
        watched.heard = time.monotonic()
        kind = entry[0]
        if kind == "v":
            for outlet in watched.local:
                outlet.send_snapshot(0, entry[3])
        elif kind == "vf":
            for outlet in watched.local:
                outlet.send_frame(entry[2])
        elif kind == "vc":
            watched.close(entry[2], entry[3])
            del self.watched[watched.match_id]

    def links_in_use(self) -> set[PodLink]:
        return {watched.link for watched in self.watched.values()}

    async def check_owners(self, directory: MatchDirectory) -> None:
        """Spectators of a match whose owner died or moved reconnect (to find the new
        one); the others' counts are told again."""
        for match_id, watched in list(self.watched.items()):
            holder = await directory.holder(match_id)
            if self.watched.get(match_id) is not watched:
                continue  # replaced or gone while we asked
            if holder == watched.owner:
                watched.report()
            elif holder is not None or time.monotonic() - watched.heard > SHOWING_SECONDS:
                self._moved(watched)

    def restart_all(self) -> int:
        """The pod drains: every spectator reconnects elsewhere. Returns how many."""
        told = 0
        for watched in list(self.watched.values()):
            told += len(watched.local)
            self._moved(watched, "server_restarting")
        return told

    def _moved(self, watched: WatchedMatch, reason: str = "match_moved") -> None:
        frame = messages.encode({"type": "reconnect", "reason": reason})
        for outlet in watched.local:
            outlet.send_frame(frame)
        watched.close(CloseCode.RESTART, reason.replace("_", " "))
        watched.link.add(["w", watched.match_id, 0])
        del self.watched[watched.match_id]
