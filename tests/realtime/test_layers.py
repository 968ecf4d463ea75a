"""The channel layer between pods, against real private Redis servers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio
from channels.exceptions import ChannelFull
from channels_redis.core import RedisChannelLayer

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


@pytest.fixture(scope="module")
def one_shard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("shard")) as url:
        yield url


async def command_calls(url: str, reset: bool = False) -> dict[str, int]:
    """Calls per command since the last reset (scripts' own calls included)."""
    client = redis.asyncio.Redis.from_url(url)
    try:
        if reset:
            await client.config_resetstat()
            return {}
        stats = await client.info("commandstats")
        return {name.removeprefix("cmdstat_"): int(s["calls"]) for name, s in stats.items()}
    finally:
        await client.aclose()


async def test_a_relayed_batch_costs_two_redis_round_trips(one_shard: str) -> None:
    """One command to send (a script), one to receive (BZPOPMIN): the stock layer makes
    eight, each a syscall pair on both ends, 30 times a second per pod pair."""
    layer = build_layer("redis", [one_shard], capacity=100, expiry=10)
    channel = await layer.new_channel(prefix="skirmish.pod.a")
    await layer.send(channel, {"type": "relay.batch", "n": 0})  # loads the script
    await asyncio.wait_for(layer.receive(channel), 2)
    await command_calls(one_shard, reset=True)
    for n in range(1, 21):
        await layer.send(channel, {"type": "relay.batch", "n": n})
        assert (await asyncio.wait_for(layer.receive(channel), 2))["n"] == n
    calls = await command_calls(one_shard)
    assert calls["evalsha"] == 20 and calls["bzpopmin"] == 20
    # None of the stock path's extra round trips: its cleanup script, capacity count,
    # separate expire, and the backup set's copy and removal.
    assert not {"eval", "zcount", "zpopmin"} & calls.keys(), calls
    assert calls["zadd"] == calls["expire"] == 20  # inside the script only
    await layer.flush()
    await layer.close_pools()


async def test_a_full_channel_refuses_and_keeps_what_it_holds(one_shard: str) -> None:
    layer = build_layer("redis", [one_shard], capacity=3, expiry=10)
    channel = await layer.new_channel(prefix="skirmish.pod.b")
    for n in range(3):
        await layer.send(channel, {"type": "relay.batch", "n": n})
    with pytest.raises(ChannelFull):
        await layer.send(channel, {"type": "relay.batch", "n": 3})
    received = [(await asyncio.wait_for(layer.receive(channel), 2))["n"] for _ in range(3)]
    assert received == [0, 1, 2]
    await layer.send(channel, {"type": "relay.batch", "n": 4})  # room again
    assert (await asyncio.wait_for(layer.receive(channel), 2))["n"] == 4
    await layer.flush()
    await layer.close_pools()


async def test_stock_layers_read_what_it_sends_and_the_other_way(one_shard: str) -> None:
    """Same keys, same data as channels_redis: a pod on the stock layer can still talk."""
    ours = build_layer("redis", [one_shard], capacity=100, expiry=10)
    stock = RedisChannelLayer(hosts=[one_shard], prefix="skirmish", capacity=100, expiry=10)
    for sender, receiver in ((ours, stock), (stock, ours)):
        local = await receiver.new_channel(prefix="skirmish.pod.c")
        await sender.send(local, {"type": "relay.batch", "via": "local"})
        await sender.send("skirmish.shared", {"type": "relay.batch", "via": "shared"})
        assert (await asyncio.wait_for(receiver.receive(local), 2))["via"] == "local"
        assert (await asyncio.wait_for(receiver.receive("skirmish.shared"), 2))["via"] == "shared"
    for layer in (ours, stock):
        await layer.flush()
        await layer.close_pools()
