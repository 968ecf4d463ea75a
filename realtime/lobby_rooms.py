"""Lobby rooms: this pod's lobby sockets, and what reaches them through the room bus.

Each lobby is a room (`lobby.<id>`) that a pod joins while it holds a socket of it. What
changes a lobby (a REST call on any pod) is one message to that room, carrying the lobby
record; every pod in the room gets one copy and renders the lobby for each of its own
sockets as that member sees it (`view`: REST's own `lobby_out`, so that `started` carries
each member's own match access, made on the pod that holds the socket: tokens never cross
the layer). Chat lines go the same way. Announcements go to a room every pod joins, and
reach its lobby sockets and, through the match host, its match sockets.

Lobby records carry a `revision` (bumped by the store on every change): a socket is only
ever sent a newer lobby than the last it was sent, so changes that cross on their way
from two pods never show an older lobby after a newer one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from realtime import lobby_messages, metrics
from realtime.close_codes import CloseCode
from realtime.fanout import Outlet
from realtime.match_claims import Draining
from realtime.room_bus import RoomBus
from realtime.tasks import cancel_and_wait
from skirmish.base.errors import Forbidden, NotFound
from skirmish.base.store import Store
from skirmish.base.store.records import LobbyRecord, id_pattern

log = logging.getLogger(__name__)

ANNOUNCEMENTS = "announcements"  # the room every pod joins
CHECK_SECONDS = 30.0  # each lobby with sockets here is read again this often
OUTBOX_LIMIT = 1000  # chat lines and room leaves waiting for the bus

LobbyView = Callable[[LobbyRecord, str], dict[str, Any]]  # (lobby, viewer) → its JSON body
LocalFrames = Callable[[bytes], int]  # a frame for every match socket here (the match host)
Message = dict[str, Any]


LOBBY_ID = re.compile(id_pattern("l"))


def room_of(lobby_id: str) -> str:
    return f"lobby.{lobby_id}"


@dataclass(eq=False, slots=True)
class LobbySocket:
    """One member's socket of a lobby, as the room sees it."""

    lobby_id: str
    player_id: str
    name: str
    outlet: Outlet
    revision: int = -1  # of the last lobby it was sent
    ready: bool = False  # its snapshot went out: changes flow from now on
    held: tuple[str, LobbyRecord] | None = None  # the newest change that came before that


class LobbyRooms:
    """The pod's lobby rooms. It is also what the API pushes lobby changes and
    announcements through (api/services.py, `LobbyPush`)."""

    def __init__(
        self,
        bus: RoomBus,
        store: Store,
        view: LobbyView,
        *,
        match_frames: LocalFrames | None = None,
        clock: Callable[[], float] = time.time,
        check_every: float = CHECK_SECONDS,
    ) -> None:
        self.bus = bus
        self.store = store
        self.view = view
        self.match_frames = match_frames
        self.clock = clock
        self.check_every = check_every
        self.sockets: dict[str, set[LobbySocket]] = {}  # lobby id → its sockets here
        self.draining = False  # a drained pod takes no more lobby sockets
        self._outbox: asyncio.Queue[tuple[str, str, Message | None]] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._tasks:
            return
        await self.bus.start(self._deliver)
        try:
            await self.bus.join(ANNOUNCEMENTS)
        except Exception:  # the bus tries again; a pod starts without Redis for a moment
            log.warning("joining the announcements room failed; retrying", exc_info=True)
        self._outbox = asyncio.Queue(OUTBOX_LIMIT)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._send_out()), loop.create_task(self._check())]

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks)
        self._tasks = []
        self.sockets.clear()
        metrics.LOBBY_SOCKETS.set(0)
        await self.bus.stop()

    def drain(self) -> int:
        """Tell every lobby socket to reconnect (to another pod), and close it; take no new
        one from now on. Returns how many were told."""
        self.draining = True
        told = 0
        for sockets in list(self.sockets.values()):
            for socket in list(sockets):
                socket.outlet.send_frame(lobby_messages.RECONNECT)
                self._close(socket, CloseCode.RESTART, "server restarting")
                told += 1
        return told

    # -- sockets -------------------------------------------------------------------------

    async def enter(self, socket: LobbySocket) -> None:
        """Seat a member's socket and send it the lobby (`snapshot`). NotFound: no such
        lobby (or a private one of others); Forbidden: not a member; Draining: this pod is
        going away (the client reconnects, to another one)."""
        if self.draining:
            raise Draining("server restarting: reconnect")
        if not LOBBY_ID.fullmatch(socket.lobby_id):  # no room is joined for what cannot be
            raise NotFound("lobby not found")
        self.sockets.setdefault(socket.lobby_id, set()).add(socket)
        try:
            # In the room first: a change made while the lobby is read is not missed.
            await self.bus.join(room_of(socket.lobby_id))
            lobby = await self.store.get_lobby(socket.lobby_id)
            admit(lobby, socket.player_id)
        except BaseException:
            self.exit(socket)
            raise
        assert lobby is not None
        if socket not in self.sockets.get(socket.lobby_id, ()):
            return  # closed while the lobby was read (a drain): its outlet says so
        metrics.LOBBY_SOCKETS.inc()
        socket.ready = True
        self._send_lobby(socket, "snapshot", lobby)
        held, socket.held = socket.held, None
        if held is not None and socket in self.sockets.get(socket.lobby_id, ()):
            self._send_lobby(socket, *held)

    def exit(self, socket: LobbySocket) -> None:
        """The socket is gone (or closed): the room is left once its last socket is."""
        sockets = self.sockets.get(socket.lobby_id)
        if sockets is None or socket not in sockets:
            return
        sockets.discard(socket)
        if socket.ready:
            metrics.LOBBY_SOCKETS.dec()
        if not sockets:
            del self.sockets[socket.lobby_id]
            self._queue("leave", socket.lobby_id, None)

    def post_chat(self, socket: LobbySocket, text: str) -> bool:
        """Send a member's chat line to the lobby's room; False if it had to be dropped."""
        line = {
            "kind": "chat",
            "lobby_id": socket.lobby_id,
            "player_id": socket.player_id,
            "name": socket.name,
            "text": text,
            "at": lobby_messages.timestamp(self.clock()),
        }
        return self._queue("publish", room_of(socket.lobby_id), line)

    # -- what the API pushes -------------------------------------------------------------

    async def lobby_changed(self, event: str, lobby: LobbyRecord) -> None:
        """A REST call changed the lobby: to every pod with sockets of it. Best effort:
        the change is made already; a socket that misses it is sent it at the next check."""
        message = {"kind": "lobby", "event": event, "lobby": lobby.model_dump(mode="json")}
        try:
            await self.bus.publish(room_of(lobby.id), message)
        except Exception:
            log.warning("pushing lobby %s (%s) failed", lobby.id, event, exc_info=True)

    async def announce(self, text: str) -> str:
        """To every lobby and match socket on every pod; returns its `at`."""
        at = lobby_messages.timestamp(self.clock())
        await self.bus.publish(ANNOUNCEMENTS, {"kind": "announcement", "text": text, "at": at})
        return at

    # -- what the bus brings -------------------------------------------------------------

    def _deliver(self, room: str, message: Message) -> None:
        kind = message.get("kind")
        metrics.ROOM_MESSAGES.labels(str(kind)).inc()
        if kind == "lobby":
            self._lobby_changed(message["event"], LobbyRecord.model_validate(message["lobby"]))
        elif kind == "chat":
            frame = lobby_messages.chat_frame(message)
            for socket in self._ready(message["lobby_id"]):
                socket.outlet.send_frame(frame)
        elif kind == "announcement":
            frame = lobby_messages.announcement_frame(message)
            for sockets in list(self.sockets.values()):
                for socket in [s for s in sockets if s.ready]:
                    socket.outlet.send_frame(frame)
            if self.match_frames is not None:
                self.match_frames(frame)
        else:
            log.debug("room %s: a message of unknown kind %r", room, kind)

    def _ready(self, lobby_id: str) -> list[LobbySocket]:
        return [s for s in self.sockets.get(lobby_id, ()) if s.ready]

    def _lobby_changed(self, event: str, lobby: LobbyRecord) -> None:
        frames: dict[str, bytes] = {}  # one rendering per member, however many sockets
        for socket in list(self.sockets.get(lobby.id, ())):
            if socket.ready:
                self._send_lobby(socket, event, lobby, frames)
            elif socket.held is None or socket.held[1].revision < lobby.revision:
                socket.held = (event, lobby)  # its snapshot is being read: after that

    def _send_lobby(
        self,
        socket: LobbySocket,
        event: str,
        lobby: LobbyRecord,
        frames: dict[str, bytes] | None = None,
    ) -> None:
        """Send the lobby as this member sees it, if newer than what the socket has; then
        close the socket if it has no more business there (left, started, closed)."""
        if lobby.revision <= socket.revision:
            return
        socket.revision = lobby.revision
        frame = None if frames is None else frames.get(socket.player_id)
        if frame is None:
            frame = lobby_messages.lobby_frame(event, self.view(lobby, socket.player_id))
            if frames is not None:
                frames[socket.player_id] = frame
        socket.outlet.send_frame(frame)
        if lobby.member(socket.player_id) is None:
            self._close(socket, CloseCode.NORMAL, "not in the lobby")
        elif lobby.status != "open":
            self._close(socket, CloseCode.NORMAL, f"lobby {lobby.status}")

    def _close(self, socket: LobbySocket, code: int, reason: str) -> None:
        metrics.WS_CLOSES.labels(str(code)).inc()
        socket.outlet.close(code, reason)
        self.exit(socket)

    # -- background ----------------------------------------------------------------------

    def _queue(self, what: str, target: str, message: Message | None) -> bool:
        if self._outbox is None:
            return False
        try:
            self._outbox.put_nowait((what, target, message))
        except asyncio.QueueFull:
            log.warning("lobby rooms outbox full: a %s for %s dropped", what, target)
            return False
        return True

    async def _send_out(self) -> None:
        """Chat lines and room leaves, one at a time: a pod's lines keep their order."""
        assert self._outbox is not None
        while True:
            what, target, message = await self._outbox.get()
            try:
                if what == "publish" and message is not None:
                    await self.bus.publish(target, message)
                elif what == "leave" and not self.sockets.get(target):  # (nobody came back)
                    await self.bus.leave(room_of(target))
            except Exception:
                log.warning("lobby rooms: a %s for %s failed", what, target, exc_info=True)

    async def _check(self) -> None:
        """Now and then read each lobby this pod has sockets of: a change a socket missed
        (the layer lost it) is sent as a `snapshot`; sockets of a lobby gone are closed."""
        while True:
            await asyncio.sleep(self.check_every)
            for lobby_id in list(self.sockets):
                with contextlib.suppress(Exception):
                    self.resync(lobby_id, await self.store.get_lobby(lobby_id))
            await self.leave_empty_rooms()

    async def leave_empty_rooms(self) -> None:
        """Leave the rooms no socket here needs any more: a leave the outbox could not take
        (it was full) must not keep this pod in a lobby's group for good."""
        needed = {room_of(lobby_id) for lobby_id in self.sockets} | {ANNOUNCEMENTS}
        for room in self.bus.rooms - needed:
            with contextlib.suppress(Exception):
                await self.bus.leave(room)

    def resync(self, lobby_id: str, lobby: LobbyRecord | None) -> None:
        for socket in self._ready(lobby_id):
            if lobby is None:
                self._close(socket, CloseCode.NORMAL, "lobby gone")
            else:
                self._send_lobby(socket, "snapshot", lobby)


def admit(lobby: LobbyRecord | None, player_id: str) -> None:
    """A lobby's socket is for its members; a private lobby does not exist for others."""
    if lobby is None or (lobby.private and lobby.member(player_id) is None):
        raise NotFound("lobby not found")
    if lobby.member(player_id) is None:
        raise Forbidden("you are not in this lobby")
