"""The channel layer between pods, from configuration.

Only pod-to-pod traffic rides the layer (one batch per tick per pod pair, see relay.py);
sockets of a match hosted in the same process never touch it. Several Redis hosts shard
channels by consistent hashing: every pod must list the same hosts in the same order.
"""

from __future__ import annotations

from typing import Any

from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer


class ShardSafeRedisChannelLayer(RedisChannelLayer):  # type: ignore[misc]
    """RedisChannelLayer whose process-local channels survive sharding.

    channels_redis 4.3.0 picks the shard of a process-local channel (`name!uuid`) from its
    full name in `send` but from its `name!` prefix in `receive`: with several hosts, most
    messages land on a shard nobody reads (django/channels#1492, open since 2020; measured
    here: 13 of 20 lost with two shards). Hashing the prefix on both sides fixes it.
    """

    def consistent_hash(self, value: str) -> int:
        if "!" in value:
            value = value[: value.index("!") + 1]
        return int(super().consistent_hash(value))


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
