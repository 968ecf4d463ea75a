"""The channel layer between pods, from configuration.

Only pod-to-pod traffic rides the layer (one batch per tick per pod pair, see relay.py);
sockets of a match hosted in the same process never touch it. Several Redis hosts shard
channels by consistent hashing: every pod must list the same hosts in the same order.
"""

from __future__ import annotations

from typing import Any

from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer

LAYER_CLASSES = {"redis": RedisChannelLayer, "pubsub": RedisPubSubChannelLayer}


def build_layer(
    kind: str, hosts: list[str], *, capacity: int, expiry: int, prefix: str = "skirmish"
) -> Any:
    if kind == "redis":
        # capacity counts a whole channel's backlog: at 30 batches/s per peer, 1000 rides
        # out a 30 s stall; expiry drops batches nobody read (stale game state) quickly.
        return RedisChannelLayer(
            hosts=hosts, prefix=prefix, capacity=capacity, expiry=expiry, group_expiry=3600
        )
    if kind == "pubsub":
        return RedisPubSubChannelLayer(hosts=hosts, prefix=prefix)
    raise ValueError(f"unknown channel layer {kind!r}; use one of {sorted(LAYER_CLASSES)}")
