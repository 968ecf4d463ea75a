"""The channel layer between pods, against real private Redis servers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from realtime.layers import build_layer
from tests.support.redis_server import redis_server


@pytest.fixture(scope="module")
def two_shards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    base = tmp_path_factory.mktemp("shards")
    with redis_server(base / "a") as a, redis_server(base / "b") as b:
        yield [a, b]


async def test_process_local_channels_deliver_across_two_shards(two_shards: list[str]) -> None:
    layer = build_layer("redis", two_shards, capacity=100, expiry=10)
    channels = [await layer.new_channel(prefix=f"skirmish.pod.p{n}") for n in range(24)]
    shards = {layer.consistent_hash(c) for c in channels}
    assert shards == {0, 1}  # the channels really are spread over both servers
    for n, channel in enumerate(channels):
        await layer.send(channel, {"type": "relay.batch", "n": n})
    received = [await asyncio.wait_for(layer.receive(c), 2) for c in channels]
    assert [m["n"] for m in received] == list(range(24))
    await layer.flush()
    await layer.close_pools()


def test_an_unknown_layer_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown channel layer"):
        build_layer("carrier-pigeon", ["redis://127.0.0.1:1"], capacity=1, expiry=1)
