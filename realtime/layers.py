"""The channel layer between pods, from configuration.

Only pod-to-pod traffic rides the layer (one batch per tick per pod pair, see relay.py);
sockets of a match hosted in the same process never touch it. Several Redis hosts shard
channels by consistent hashing: every pod must list the same hosts in the same order.
"""

from __future__ import annotations

import time
from typing import Any

from channels.exceptions import ChannelFull
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer

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


class ShardSafeRedisChannelLayer(RedisChannelLayer):  # type: ignore[misc]
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

    async def _brpop_with_clean(self, index: int, channel: str, timeout: float) -> Any:
        if not channel.endswith("!"):  # a shared channel: keep the stock at-least-once path
            return await super()._brpop_with_clean(index, channel, timeout)
        result = await self.connection(index).bzpopmin(channel, timeout=timeout)
        return None if result is None else result[1]

    async def _clean_receive_backup(self, index: int, channel: str) -> None:
        if not channel.endswith("!"):
            await super()._clean_receive_backup(index, channel)


LAYER_CLASSES = {"redis": ShardSafeRedisChannelLayer, "pubsub": RedisPubSubChannelLayer}


def build_layer(
    kind: str, hosts: list[str], *, capacity: int, expiry: int, prefix: str = "skirmish"
) -> Any:
    if kind == "redis":
        # capacity counts a whole channel's backlog: at 30 batches/s per peer, 1000 rides
        # out a 30 s stall; expiry drops batches nobody read (stale game state) quickly.
        return ShardSafeRedisChannelLayer(
            hosts=hosts, prefix=prefix, capacity=capacity, expiry=expiry, group_expiry=3600
        )
    if kind == "pubsub":
        return RedisPubSubChannelLayer(hosts=hosts, prefix=prefix)
    raise ValueError(f"unknown channel layer {kind!r}; use one of {sorted(LAYER_CLASSES)}")
