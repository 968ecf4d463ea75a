"""The owner side of cross-pod play: seats of this pod's matches whose sockets live on
other pods (edges), and the entries those edges send: joins, leaves, inputs, chat lines."""

from __future__ import annotations

import logging
import time
from typing import Any

from realtime import messages
from realtime.close_codes import CloseCode
from realtime.fanout import Outlet
from realtime.hosted_match import HostedMatch, Seat
from realtime.owned_matches import OwnedMatches
from realtime.relay import Entry, PodLink, Relay

log = logging.getLogger(__name__)

SILENT_EDGE_SECONDS = 5.0  # edges send a keepalive every second


class RemoteConnection:
    """Owner side: a socket that lives on another pod, as the match loop sees it."""

    __slots__ = ("closed", "conn", "dropped", "link", "match", "slot")

    def __init__(self, link: PodLink, match: HostedMatch, slot: int, conn: int) -> None:
        self.link = link
        self.match = match
        self.slot = slot
        self.conn = conn
        self.closed = False
        self.dropped = 0

    def send_snapshot(self, ack: int, body: bytes) -> None:
        self.link.add_snapshot(self.match.id, self.match.tick, body, self.conn, ack)

    def send_frame(self, frame: bytes) -> None:
        if not self.closed:
            self.link.add(["f", self.match.id, self.conn, frame])

    def close(self, code: int, reason: str = "") -> None:
        if not self.closed:
            self.closed = True
            self.link.add(["c", self.match.id, self.conn, code, reason])


class OwnerSide:
    def __init__(self, relay: Relay, matches: OwnedMatches) -> None:
        self.relay = relay
        self.matches = matches

    def receive(self, link: PodLink, entry: Entry) -> None:
        """One edge→owner entry: a socket joined ("j"), left ("l") or sent an input ("i")."""
        kind = entry[0]
        hosted = self.matches.get(entry[1])
        if hosted is None:  # we no longer own it: tell the edge to reconnect its socket
            if kind == "j":
                link.add(["c", entry[1], entry[2], CloseCode.RESTART, "match moved"])
            return
        if kind == "i":
            self._input(hosted, link, entry[2], entry[3], entry[4])
        elif kind == "m":
            found = self._seat(hosted, link, entry[2])
            if found is not None:
                hosted.chat(found[0], entry[3], entry[4])
        elif kind == "j":
            self._join(hosted, link, entry[2], entry[3])
        elif kind == "l":
            self._leave(hosted, link, entry[2])

    def drop_silent_edges(self) -> None:
        """An edge pod that died leaves seats that look online and keep their last input:
        disconnect them once its link has been silent."""
        now = time.monotonic()
        for owned in self.matches:
            hosted = owned.hosted
            for seat in hosted.seats:
                outlet = seat.connection
                if isinstance(outlet, RemoteConnection) and (
                    now - outlet.link.last_heard > SILENT_EDGE_SECONDS
                ):
                    outlet.closed = True
                    hosted.disconnect(seat, outlet)

    def _seat(
        self, hosted: HostedMatch, link: PodLink, conn: int
    ) -> tuple[Seat, RemoteConnection] | None:
        """The seat of edge socket `conn` of that edge: conn ids are only unique per edge."""
        for seat in hosted.seats:
            outlet = seat.connection
            if isinstance(outlet, RemoteConnection) and outlet.link is link and outlet.conn == conn:
                return seat, outlet
        return None

    def _join(self, hosted: HostedMatch, link: PodLink, conn: int, player_id: str) -> None:
        seat = hosted.seat_of(player_id)
        if seat is None:
            return
        previous = hosted.connect(seat, RemoteConnection(link, hosted, seat.slot, conn))
        if previous is not None:
            replace(previous)

    def _leave(self, hosted: HostedMatch, link: PodLink, conn: int) -> None:
        found = self._seat(hosted, link, conn)
        if found is not None:
            found[1].closed = True
            hosted.disconnect(*found)

    def _input(self, hosted: HostedMatch, link: PodLink, conn: int, seq: int, message: Any) -> None:
        found = self._seat(hosted, link, conn)
        if found is None:
            return
        try:
            hosted.accept_input(found[0], seq, message)
        except ValueError:  # validated by the edge already; a mismatch is a bug, not a crash
            log.warning("relayed input refused for match %s", hosted.id)


def replace(previous: Outlet) -> None:
    """The socket a player's new one replaces: told why, then closed with 4009."""
    previous.send_frame(messages.error("replaced", "you connected again elsewhere"))
    previous.close(CloseCode.REPLACED, "replaced")
