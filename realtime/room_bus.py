"""Rooms across pods: what one pod publishes to a room reaches every pod that joined it.

A room is a name (`lobby.<id>`, `announcements`); a pod joins the rooms it has sockets for
and hands each message it receives to its own sockets. The cost scales with pods, never
with sockets: one membership per pod and room, one copy of each message per pod.

- `LayerRoomBus`: the channel layer's groups. A pod joins a room's group with its relay's
  process channel (relay.py), so nothing else on the pod reads from Redis: a message
  published to a room is one `group_send`, which puts one copy into each member pod's
  channel, and the relay's reader hands it over (`Relay.on`). channels-redis drops a
  member that was not re-added within the layer's `group_expiry`: the bus re-adds its
  memberships every quarter of it, and the memberships of a pod that died lapse.
- `LocalRoomBus`: the in-process twin, for an embedded pod (no layer, one pod).

tests/realtime/test_room_bus.py runs one contract suite against both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol, runtime_checkable

import orjson

from realtime.relay import Relay, RelayLayer
from realtime.tasks import cancel_and_wait

log = logging.getLogger(__name__)

ROOM_MESSAGE = "room.message"  # the layer message that carries a room's message
ROOM_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,90}$")  # a valid channels group name
RETRY_SECONDS = 5.0  # a membership that could not be written is tried again this soon

Message = dict[str, Any]
Deliver = Callable[[str, Message], None]


def check_room(room: str) -> None:
    if not ROOM_NAME.fullmatch(room):
        raise ValueError(f"not a room name: {room!r}")


class RoomBus(Protocol):
    """Rooms that span the pods. Messages are JSON values; each pod that joined a room
    receives each message published to it once, in the order its publisher sent them."""

    async def start(self, deliver: Deliver) -> None:
        """From now on, `deliver(room, message)` gets the joined rooms' messages (on the
        event loop; it must not block)."""
        ...

    async def stop(self) -> None:
        """Leave every room; deliver nothing more."""
        ...

    async def join(self, room: str) -> None:
        """This pod receives the room's messages once this returns; joining twice is
        joining once. Raises if the membership could not be written (it is retried)."""
        ...

    async def leave(self, room: str) -> None: ...

    async def publish(self, room: str, message: Message) -> None:
        """To every pod that joined the room, this one included."""
        ...

    @property
    def rooms(self) -> frozenset[str]:
        """The rooms this pod joined."""
        ...


@runtime_checkable
class GroupLayer(Protocol):
    """What the room bus needs of a channel layer: its groups (channels' groups extension),
    and how long a member stays without being added again."""

    group_expiry: int

    async def group_add(self, group: str, channel: str) -> None: ...
    async def group_discard(self, group: str, channel: str) -> None: ...
    async def group_send(self, group: str, message: Message) -> None: ...


class PodLayer(RelayLayer, GroupLayer, Protocol):
    """The pod's channel layer: the relay's channel, and the groups of the room bus."""


class LocalRoomBus:
    """The in-process twin: one pod, so a room's messages go to this pod's sockets, a turn
    of the event loop later, as a copy (as a layer would hand them over)."""

    def __init__(self) -> None:
        self._rooms: set[str] = set()
        self._deliver: Deliver | None = None

    @property
    def rooms(self) -> frozenset[str]:
        return frozenset(self._rooms)

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def stop(self) -> None:
        self._rooms.clear()
        self._deliver = None

    async def join(self, room: str) -> None:
        check_room(room)
        self._rooms.add(room)

    async def leave(self, room: str) -> None:
        self._rooms.discard(room)

    async def publish(self, room: str, message: Message) -> None:
        check_room(room)
        copy = orjson.loads(orjson.dumps(message))  # JSON values only, as over a layer
        if room in self._rooms:  # the members when it was sent, as a group_send sees them
            asyncio.get_running_loop().call_soon(self._hand_over, room, copy)

    def _hand_over(self, room: str, message: Message) -> None:
        if room in self._rooms and self._deliver is not None:  # (not left meanwhile)
            try:
                self._deliver(room, message)
            except Exception:
                log.exception("delivering a message of room %s failed", room)


class LayerRoomBus:
    """Rooms as the layer's groups, joined with the relay's channel (started first)."""

    def __init__(self, layer: GroupLayer, relay: Relay, *, refresh: float | None = None) -> None:
        self.layer = layer
        self.relay = relay
        # Well within group_expiry: a membership is re-added every quarter of it.
        self.refresh_every = refresh if refresh is not None else layer.group_expiry / 4
        self.check_every = min(self.refresh_every / 2, RETRY_SECONDS)
        self._wanted: set[str] = set()
        self._joined: dict[str, float] = {}  # room → when its membership was last written
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}  # room → its lock, users
        self._deliver: Deliver | None = None
        self._keeper: asyncio.Task[None] | None = None

    @property
    def rooms(self) -> frozenset[str]:
        return frozenset(self._wanted)

    async def start(self, deliver: Deliver) -> None:
        if not self.relay.channel:
            raise RuntimeError("start the relay first: its channel joins the groups")
        self._deliver = deliver
        self.relay.on(ROOM_MESSAGE, self._received)
        if self._keeper is None:
            self._keeper = asyncio.get_running_loop().create_task(self._keep())

    async def stop(self) -> None:
        await cancel_and_wait(self._keeper)
        self._keeper = None
        self.relay.off(ROOM_MESSAGE)
        self._deliver = None
        rooms, self._wanted = list(self._wanted), set()
        for room in rooms:  # what fails to go lapses with group_expiry
            with contextlib.suppress(Exception):
                await self._sync(room)

    async def join(self, room: str) -> None:
        check_room(room)
        self._wanted.add(room)
        await self._sync(room)

    async def leave(self, room: str) -> None:
        self._wanted.discard(room)
        await self._sync(room)

    async def publish(self, room: str, message: Message) -> None:
        check_room(room)
        await self.layer.group_send(room, {"type": ROOM_MESSAGE, "room": room, "body": message})

    def _received(self, message: Message) -> None:
        room = message.get("room")
        if room in self._wanted and self._deliver is not None:  # not a room left meanwhile
            self._deliver(room, message["body"])

    @contextlib.asynccontextmanager
    async def _exclusive(self, room: str) -> AsyncIterator[None]:
        """One membership write of a room at a time, in the order they were asked for."""
        lock, users = self._locks.get(room) or (asyncio.Lock(), 0)
        self._locks[room] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[room]
            if users == 1:
                del self._locks[room]
            else:
                self._locks[room] = (lock, users - 1)

    async def _sync(self, room: str, refresh: bool = False) -> None:
        """Make the room's membership in Redis what this pod wants now: added (again, to
        refresh it, when `refresh`), or discarded."""
        async with self._exclusive(room):
            channel = self.relay.channel
            if room in self._wanted:
                if refresh or room not in self._joined:
                    await self.layer.group_add(room, channel)
                    self._joined[room] = time.monotonic()
            elif self._joined.pop(room, None) is not None:
                await self.layer.group_discard(room, channel)

    async def _keep(self) -> None:
        """Re-add each membership before group_expiry drops it; retry the ones that failed."""
        while True:
            await asyncio.sleep(self.check_every)
            now, failed = time.monotonic(), 0
            for room in list(self._wanted):
                written = self._joined.get(room)
                if written is not None and now - written < self.refresh_every:
                    continue
                try:
                    await self._sync(room, refresh=True)
                except Exception:
                    failed += 1
            if failed:
                log.warning("%d room memberships could not be written; retrying", failed)
