"""The channel layer between pods, from configuration.

Only pod-to-pod traffic rides the layer (one batch per tick per pod pair, see relay.py,
and the groups of lobby rooms, which each pod joins with its relay's channel: see
room_bus.py); sockets of a match hosted in the same process never touch it. Several Redis
hosts shard channels by consistent hashing: every pod must list the same hosts in the same
order.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

from channels.exceptions import ChannelFull
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from redis.asyncio.connection import AbstractConnection

log = logging.getLogger(__name__)

ACKNOWLEDGE_EVERY_SECONDS = 1.0

# channels_redis's send, as one atomic script: drop expired messages, refuse past capacity,
# add, refresh the key's expiry. Same keys, same data: stock receivers read what it writes.
SEND_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
    return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class ShardSafeRedisChannelLayer(RedisChannelLayer):
    """RedisChannelLayer whose process-local channels survive sharding, in fewer round trips.

    Sharding: channels_redis 4.3.0 picks the shard of a process-local channel (`name!uuid`)
    from its full name in `send` but from its `name!` prefix in `receive`: with several
    hosts, most messages land on a shard nobody reads (django/channels#1492, open since
    2020; measured here: 13 of 20 lost with two shards). Hashing the prefix on both sides
    fixes it.

    Round trips: the stock `send` makes four sequential Redis calls and the stock receive of
    a process-local channel four more (a cleanup script, BZPOPMIN, a copy into a backup set
    and, from a task, its removal), each a write and a read syscall, which cost ~0.1 ms on
    the benchmark's virtual machine. Here `send` is one script, and a process-local channel
    is read with one BZPOPMIN: its backup set protects a message popped by a receive that is
    cancelled before returning it, which for a process-local channel only happens when its
    one reader, the process, stops, and its channel dies with it (whatever the batch held:
    state, joins, leaves or closes, nobody is left to act on it). Eight round trips per
    relayed batch become two.
    """

    _send_script: Any = None
    # Connections of this process's own, outside the pools, made on the loop that uses them:
    # ("post", shard) for `post`, (channel, shard) for each `receive_exclusive` reader.
    _dedicated: dict[tuple[str, int], AbstractConnection] | None = None
    _dedicated_locks: dict[tuple[str, int], asyncio.Lock] | None = None
    _dedicated_loop: asyncio.AbstractEventLoop | None = None
    _acknowledged_at: dict[int, float] | None = None  # shard → last `post` sent by `send`
    silence_margin = 5.0  # seconds past BZPOPMIN's timeout before a reader gives up on it

    def consistent_hash(self, value: str) -> int:
        if "!" in value:
            value = value[: value.index("!") + 1]
        return int(super().consistent_hash(value))

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        assert "__asgi_channel__" not in message
        key = channel
        if "!" in channel:
            message = {**message, "__asgi_channel__": channel}
            key = self.non_local_name(channel)
            index = self.consistent_hash(channel)
        else:
            index = next(self._send_index_generator)
        connection = self.connection(index)
        if self._send_script is None:
            self._send_script = connection.register_script(SEND_SCRIPT)
        now = time.time()
        added = await self._send_script(
            keys=[self.prefix + key],
            args=[
                int(now) - int(self.expiry),
                self.get_capacity(channel),
                now,
                self.serialize(message),
                int(self.expiry),
            ],
            client=connection,
        )
        if not added:
            raise ChannelFull()

    async def post(self, channel: str, message: dict[str, Any]) -> None:
        """`send` without asking for Redis's reply: the same script and keys, written on a
        connection of its own that runs with CLIENT REPLY OFF.

        Waiting for a reply costs a process a wake-up per message (a reply lands ~0.1 ms
        after the tick's work, when the loop has gone back to sleep) plus redis-py's pool,
        retry and parse layers; a relay batch every tick to every peer pays that 30 times a
        second. What a reply would say comes back another way: a full channel shows as a
        gap in the receiver's batch numbers (relay.py), and once a second per shard the
        message goes by `send`, whose reply raises what the server refuses (a replica
        after a failover, an ACL change). Otherwise raises only when the write fails.
        """
        assert "!" in channel, "post is for process-local channels"
        index = self.consistent_hash(channel)
        if self._acknowledgement_due(index):
            await self.send(channel, message)
            return
        key = ("post", index)
        connection = await self._dedicated_connection(key, index)
        now = time.time()
        command = connection.pack_command(
            "EVAL",
            SEND_SCRIPT,
            1,
            self.prefix + self.non_local_name(channel),
            int(now) - int(self.expiry),
            self.get_capacity(channel),
            now,
            self.serialize({**message, "__asgi_channel__": channel}),
            int(self.expiry),
        )
        try:
            await connection.send_packed_command(command, check_health=False)
        except BaseException:
            await self._drop_dedicated(key, connection)
            raise

    async def receive_exclusive(self, channel: str) -> dict[str, Any]:
        """`receive` for a process-local channel that one task of this process alone reads:
        one BZPOPMIN on a connection of its own, where the stock path takes a lock, two
        tasks, an `asyncio.wait` and a buffer per message (each a hop of the event loop)."""
        real_channel = self.non_local_name(channel)
        index = self.consistent_hash(real_channel)
        key = (channel, index)
        while True:
            connection = await self._dedicated_connection(key, index)
            try:
                await connection.send_packed_command(
                    connection.pack_command(
                        "BZPOPMIN", self.prefix + real_channel, self.brpop_timeout
                    ),
                    check_health=False,
                )
                # BZPOPMIN answers within its own timeout; a connection silent for longer
                # is dead without a reset (a node gone, a partition) and is replaced.
                async with asyncio.timeout(self.brpop_timeout + self.silence_margin):
                    reply = await connection.read_response(timeout=math.inf)
            except TimeoutError:
                log.warning("Redis connection of %s went silent; reconnecting", channel)
                await self._drop_dedicated(key, connection)
                continue
            except BaseException:  # cancelled or broken mid-command: its state is unknown
                await self._drop_dedicated(key, connection)
                raise
            if reply is None:  # BZPOPMIN's own timeout: nothing came
                continue
            message: dict[str, Any] = self.deserialize(reply[1])
            if addressed_to(message.pop("__asgi_channel__", channel), channel):
                return message

    def _acknowledgement_due(self, index: int) -> bool:
        now = time.monotonic()
        if self._acknowledged_at is None:
            self._acknowledged_at = {}
        if now - self._acknowledged_at.get(index, -math.inf) < ACKNOWLEDGE_EVERY_SECONDS:
            return False
        self._acknowledged_at[index] = now
        return True

    async def _dedicated_connection(self, key: tuple[str, int], index: int) -> AbstractConnection:
        loop = asyncio.get_running_loop()
        if (
            self._dedicated is None
            or self._dedicated_locks is None
            or self._dedicated_loop is not loop
        ):
            # a connection belongs to the loop it was made on: a new loop starts afresh
            self._dedicated, self._dedicated_locks = {}, {}
            self._dedicated_loop = loop
        connection = self._dedicated.get(key)
        # Between commands neither kind of connection has anything to read: bytes or an
        # end of file there mean the server closed it (or, for a reply-off one, answers).
        if connection is not None and connection.is_connected and not await connection.can_read():
            return connection
        lock = self._dedicated_locks.setdefault(key, asyncio.Lock())  # one shard's wait
        async with lock:  # is not another's
            connection = self._dedicated.get(key)
            if connection is None or not connection.is_connected or await connection.can_read():
                if connection is not None:
                    await self._drop_dedicated(key, connection)
                pool = self.connection(index).connection_pool
                connection = pool.make_connection()
                try:
                    await connection.connect()
                    if key[0] == "post":
                        command = connection.pack_command("CLIENT", "REPLY", "OFF")
                        await connection.send_packed_command(command, check_health=False)
                except BaseException:
                    await connection.disconnect(nowait=True)
                    raise
                self._dedicated[key] = connection
        return connection

    async def _drop_dedicated(self, key: tuple[str, int], connection: AbstractConnection) -> None:
        if self._dedicated is not None and self._dedicated.get(key) is connection:
            del self._dedicated[key]  # (a newer connection under the same key stays)
        await connection.disconnect(nowait=True)

    async def close_dedicated(self) -> None:
        for key, connection in list((self._dedicated or {}).items()):
            await self._drop_dedicated(key, connection)

    async def _brpop_with_clean(self, index: int, channel: str, timeout: float) -> Any:
        if not channel.endswith("!"):  # a shared channel: keep the stock at-least-once path
            return await super()._brpop_with_clean(index, channel, timeout)
        result = await self.connection(index).bzpopmin(channel, timeout=timeout)
        return None if result is None else result[1]

    async def _clean_receive_backup(self, index: int, channel: str) -> None:
        if not channel.endswith("!"):
            await super()._clean_receive_backup(index, channel)


def addressed_to(target: Any, channel: str) -> bool:
    """Whether a message read from a process-local channel's key is for `channel`: `send`
    names one channel, `group_send` the list of the group's channels in this process."""
    return target == channel or (isinstance(target, list) and channel in target)


class StockLayerCalls:
    """Any channels layer as the relay's `RelayLayer` and the room bus's `GroupLayer`,
    through its stock calls: `send` waits for the layer's reply and `receive` goes through
    its own receive machinery."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        # A layer without one (RedisPubSubChannelLayer) keeps its groups until discarded.
        self.group_expiry: int = int(getattr(layer, "group_expiry", 86400))

    async def new_channel(self, prefix: str = "specific") -> str:
        return str(await self.layer.new_channel(prefix=prefix))

    async def post(self, channel: str, message: dict[str, Any]) -> None:
        await self.layer.send(channel, message)

    async def receive_exclusive(self, channel: str) -> dict[str, Any]:
        message: dict[str, Any] = await self.layer.receive(channel)
        return message

    async def close_dedicated(self) -> None:
        return None

    async def group_add(self, group: str, channel: str) -> None:
        await self.layer.group_add(group, channel)

    async def group_discard(self, group: str, channel: str) -> None:
        await self.layer.group_discard(group, channel)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        await self.layer.group_send(group, message)


LAYER_CLASSES = {"redis": ShardSafeRedisChannelLayer, "pubsub": RedisPubSubChannelLayer}


GROUP_EXPIRY_SECONDS = 3600


def build_layer(
    kind: str,
    hosts: list[str],
    *,
    capacity: int,
    expiry: int,
    prefix: str = "skirmish",
    group_expiry: int = GROUP_EXPIRY_SECONDS,
) -> ShardSafeRedisChannelLayer | StockLayerCalls:
    if kind == "redis":
        # capacity counts a whole channel's backlog: at 30 batches/s per peer, 1000 rides
        # out a 30 s stall; expiry drops batches nobody read (stale game state) quickly.
        # A group member not added again within group_expiry is dropped: the room bus
        # re-adds its pod's memberships every quarter of it (room_bus.py).
        return ShardSafeRedisChannelLayer(
            hosts=hosts,
            prefix=prefix,
            capacity=capacity,
            expiry=expiry,
            group_expiry=group_expiry,
        )
    if kind == "pubsub":
        return StockLayerCalls(RedisPubSubChannelLayer(hosts=hosts, prefix=prefix))
    raise ValueError(f"unknown channel layer {kind!r}; use one of {sorted(LAYER_CLASSES)}")
