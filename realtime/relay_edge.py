"""The edge side of cross-pod play: this pod's sockets of matches another pod owns.

A `RemoteMatch` stands in for the owner's match: it forwards joins, leaves and validated
inputs to the owner's link (relay.py) and applies what the owner sends back — snapshot
bodies, frames, closes — to the local sockets.
"""

from __future__ import annotations

from typing import Any

import orjson

from game.modes import AnyMode
from realtime.close_codes import CloseCode
from realtime.fanout import Outlet
from realtime.hosted_match import Seat
from realtime.ownership import Lease, MatchDirectory
from realtime.relay import Entry, PodLink, Relay
from skirmish.base.store.records import MatchRecord


class RemoteMatch:
    """Edge side: a match owned by another pod, with this pod's sockets of it."""

    def __init__(self, record: MatchRecord, mode: AnyMode, owner: Lease, link: PodLink) -> None:
        self.id = record.id
        self.record = record
        self.mode = mode
        self.owner = owner  # the owner's lease
        self.link = link
        self.tick = 0
        self.status = "running"
        self.seats = [Seat(p.player_id, p.name, p.slot) for p in record.players]
        self.conns: dict[int, Seat] = {}

    def seat_of(self, player_id: str) -> Seat | None:
        return next((s for s in self.seats if s.player_id == player_id), None)

    def connect(self, seat: Seat, connection: Outlet, conn: int) -> Outlet | None:
        previous, seat.connection = seat.connection, connection
        # The owner says in its welcome which inputs it holds, and refuses duplicates: a
        # new socket's resend of what the owner forgot must not stop here.
        seat.last_seq = 0
        self.conns = {c: s for c, s in self.conns.items() if s is not seat}
        self.conns[conn] = seat
        seat.conn = conn
        self.link.add(["j", self.id, conn, seat.player_id])
        return previous

    def disconnect(self, seat: Seat, connection: Outlet) -> None:
        if seat.connection is connection:
            seat.connection = None
            self.conns.pop(seat.conn, None)
            self.link.add(["l", self.id, seat.conn])

    def accept_input(self, seat: Seat, seq: int, message: dict[str, Any]) -> None:
        self.mode.parse_input(message)  # refuse bad input here, before it crosses pods
        if seq > seat.last_seq:
            seat.last_seq = seq
            self.link.add(["i", self.id, seat.conn, seq, message])

    def chat(self, seat: Seat, text: str, team: bool) -> None:
        """A player's line (checked here): the owner says it."""
        self.link.add(["m", self.id, seat.conn, text, team])

    @property
    def empty(self) -> bool:
        return not self.conns

    def broadcast(self, message: dict[str, Any]) -> None:
        frame = orjson.dumps(message)
        for seat in self.conns.values():
            if seat.connection is not None:
                seat.connection.send_frame(frame)

    def close_all(self, code: int, reason: str = "") -> None:
        for conn, seat in self.conns.items():
            if seat.connection is not None:
                seat.connection.close(code, reason)
                seat.connection = None
            self.link.add(["l", self.id, conn])  # the owner frees the seat at once
        self.conns.clear()

    # -- entries from the owner ----------------------------------------------------------

    def on_snapshot(self, tick: int, body: bytes, acks: list[list[int]]) -> None:
        self.tick = tick
        for conn, ack in acks:
            seat = self.conns.get(conn)
            if seat is not None and seat.connection is not None:
                seat.connection.send_snapshot(ack, body)

    def on_frame(self, conn: int, frame: bytes) -> None:
        seat = self.conns.get(conn)
        if seat is not None and seat.connection is not None:
            seat.connection.send_frame(frame)

    def on_close(self, conn: int, code: int, reason: str) -> None:
        seat = self.conns.pop(conn, None)
        if seat is not None and seat.connection is not None:
            seat.connection.close(code, reason)
            seat.connection = None


class EdgeSide:
    """This pod's remote matches, by id: the sockets it relays to their owners."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.remote: dict[str, RemoteMatch] = {}

    def follow(self, record: MatchRecord, mode: AnyMode, owner: Lease) -> RemoteMatch:
        remote = RemoteMatch(record, mode, owner, self.relay.link(owner.channel))
        self.remote[record.id] = remote
        return remote

    def connect(self, remote: RemoteMatch, seat: Seat, connection: Outlet) -> Outlet | None:
        return remote.connect(seat, connection, self.relay.next_conn_id())

    def deliver(self, entry: Entry) -> None:
        """Apply one owner→edge entry to this pod's sockets."""
        kind, match_id = entry[0], entry[1]
        remote = self.remote.get(match_id)
        if remote is None:
            return
        if kind == "s":
            remote.on_snapshot(entry[2], entry[3], entry[4])
        elif kind == "f":
            remote.on_frame(entry[2], entry[3])
        elif kind == "c":
            remote.on_close(entry[2], entry[3], entry[4])
            if remote.empty:
                del self.remote[match_id]

    def links_in_use(self) -> set[PodLink]:
        return {remote.link for remote in self.remote.values()}

    def restart_all(self) -> int:
        """Tell every relayed socket to reconnect, and close it (a drain). Returns how many."""
        told = 0
        for remote in self.remote.values():
            told += len(remote.conns)
            remote.broadcast({"type": "reconnect", "reason": "server_restarting"})
            remote.close_all(CloseCode.RESTART, "server restarting")
        self.remote.clear()
        return told

    async def check_owners(self, directory: MatchDirectory) -> None:
        """Empty remote matches go; so do those whose owner died or moved: their players
        reconnect, to the new owner."""
        for match_id, remote in list(self.remote.items()):
            if not remote.empty and await directory.holder(match_id) == remote.owner:
                continue
            remote.close_all(CloseCode.RESTART, "match moved")
            if self.remote.get(match_id) is remote:  # not a newer one made meanwhile
                del self.remote[match_id]
