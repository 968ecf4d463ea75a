"""The channel layer between pods, against real private Redis servers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio
from channels.exceptions import ChannelFull
from channels_redis.core import RedisChannelLayer
from prometheus_client import REGISTRY

from realtime.layers import build_layer
from realtime.relay import Relay
from tests.support.freezing_proxy import FreezingProxy
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
    await shut(layer)


def test_an_unknown_layer_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown channel layer"):
        build_layer("carrier-pigeon", ["redis://127.0.0.1:1"], capacity=1, expiry=1)


@pytest.fixture(scope="module")
def one_shard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("shard")) as url:
        yield url


async def shut(layer: RedisChannelLayer) -> None:
    """Close what a test opened: our layer's dedicated connections, its keys and pools."""
    close_dedicated = getattr(layer, "close_dedicated", None)
    if close_dedicated is not None:
        await close_dedicated()
    await layer.flush()
    await layer.close_pools()


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
    await shut(layer)


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
    await shut(layer)


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
        await shut(layer)


async def test_a_posted_batch_is_one_command_and_one_to_receive(one_shard: str) -> None:
    """The relay's path: `post` writes the send script without waiting for a reply (its
    connection runs with CLIENT REPLY OFF) and `receive_exclusive` reads with one BZPOPMIN
    on a connection of its own, skipping the stock receive's lock, tasks and buffer."""
    layer = build_layer("redis", [one_shard], capacity=100, expiry=10)
    channel = await layer.new_channel(prefix="skirmish.pod.d")
    await layer.post(channel, {"type": "relay.batch", "n": 0})  # connects both ends
    assert (await asyncio.wait_for(layer.receive_exclusive(channel), 2))["n"] == 0
    await command_calls(one_shard, reset=True)
    for n in range(1, 21):
        await layer.post(channel, {"type": "relay.batch", "n": n})
    received = [(await asyncio.wait_for(layer.receive_exclusive(channel), 2)) for _ in range(20)]
    assert [m["n"] for m in received] == list(range(1, 21))
    assert all("__asgi_channel__" not in m for m in received)
    calls = await command_calls(one_shard)
    assert calls["eval"] == 20 and calls["bzpopmin"] == 20
    assert calls["zadd"] == calls["expire"] == 20  # the same script as `send`
    await shut(layer)


async def test_posting_and_exclusive_receiving_speak_the_stock_format(one_shard: str) -> None:
    """What `post` writes, a stock `receive` reads, and `receive_exclusive` reads what a
    stock `send` wrote: pods of two versions still relay during a rolling deploy."""
    ours = build_layer("redis", [one_shard], capacity=100, expiry=10)
    stock = RedisChannelLayer(hosts=[one_shard], prefix="skirmish", capacity=100, expiry=10)
    to_stock = await stock.new_channel(prefix="skirmish.pod.s")
    await ours.post(to_stock, {"type": "relay.batch", "n": 1})
    assert (await asyncio.wait_for(stock.receive(to_stock), 2))["n"] == 1
    to_ours = await ours.new_channel(prefix="skirmish.pod.o")
    await stock.send(to_ours, {"type": "relay.batch", "n": 2})
    assert (await asyncio.wait_for(ours.receive_exclusive(to_ours), 2))["n"] == 2
    for layer in (ours, stock):
        await shut(layer)


async def test_a_group_send_reaches_the_exclusive_reader_on_every_shard(
    two_shards: list[str],
) -> None:
    """`group_send` names the list of the group's channels in a process where `send` names
    one channel: the relay's reader (`receive_exclusive`) takes both, wherever a pod's
    channel lands. The room bus (room_bus.py) joins groups with these channels."""
    layer = build_layer("redis", two_shards, capacity=100, expiry=10)
    channels = [await layer.new_channel(prefix=f"skirmish.pod.g{n}") for n in range(8)]
    assert {layer.consistent_hash(c) for c in channels} == {0, 1}
    for channel in channels:
        await layer.group_add("lobby.l_1", channel)
    await layer.group_send("lobby.l_1", {"type": "room.message", "n": 1})
    for channel in channels:
        received = await asyncio.wait_for(layer.receive_exclusive(channel), 2)
        assert received == {"type": "room.message", "n": 1}
    await shut(layer)


async def test_posted_batches_reach_channels_on_both_shards(two_shards: list[str]) -> None:
    layer = build_layer("redis", two_shards, capacity=100, expiry=10)
    channels = [await layer.new_channel(prefix=f"skirmish.pod.q{n}") for n in range(24)]
    assert {layer.consistent_hash(c) for c in channels} == {0, 1}
    for n, channel in enumerate(channels):
        await layer.post(channel, {"type": "relay.batch", "n": n})
    received = [await asyncio.wait_for(layer.receive_exclusive(c), 2) for c in channels]
    assert [m["n"] for m in received] == list(range(24))
    await shut(layer)


async def test_a_post_past_capacity_is_dropped_without_disturbing_the_channel(
    one_shard: str,
) -> None:
    layer = build_layer("redis", [one_shard], capacity=2, expiry=10)
    channel = await layer.new_channel(prefix="skirmish.pod.e")
    for n in range(5):
        await layer.post(channel, {"type": "relay.batch", "n": n})  # no reply: no error
    held = [(await asyncio.wait_for(layer.receive_exclusive(channel), 2))["n"] for _ in range(2)]
    assert held == [0, 1]
    with pytest.raises(TimeoutError):  # the three past capacity were never stored
        await asyncio.wait_for(layer.receive_exclusive(channel), 0.3)
    await layer.post(channel, {"type": "relay.batch", "n": 5})  # room again
    assert (await asyncio.wait_for(layer.receive_exclusive(channel), 2))["n"] == 5
    await shut(layer)


async def test_the_dedicated_connections_come_back_after_redis_drops_them(
    one_shard: str,
) -> None:
    layer = build_layer("redis", [one_shard], capacity=100, expiry=10)
    channel = await layer.new_channel(prefix="skirmish.pod.f")
    await layer.post(channel, {"type": "relay.batch", "n": 0})
    assert (await asyncio.wait_for(layer.receive_exclusive(channel), 2))["n"] == 0
    admin = redis.asyncio.Redis.from_url(one_shard)
    try:
        waiting = asyncio.create_task(layer.receive_exclusive(channel))
        await asyncio.sleep(0.1)  # blocked in BZPOPMIN
        assert await admin.client_kill_filter(_type="normal", skipme=True) >= 2
        with pytest.raises(redis.ConnectionError):
            await asyncio.wait_for(waiting, 2)  # the reader learns, and its caller retries
        delivered = None
        for n in range(1, 20):  # a write or two may still go into the dead socket
            with contextlib.suppress(redis.ConnectionError):
                await layer.post(channel, {"type": "relay.batch", "n": n})
            with contextlib.suppress(TimeoutError):
                delivered = await asyncio.wait_for(layer.receive_exclusive(channel), 0.2)
                break
        assert delivered is not None and delivered["n"] >= 1
    finally:
        await admin.aclose()
    with contextlib.suppress(redis.ConnectionError):  # the stock pool's killed connection
        await layer.flush()  # fails its next command once (stock redis-py behaviour)
    await shut(layer)


async def test_a_pod_counts_the_relayed_batches_it_never_received(one_shard: str) -> None:
    """Posting asks for no reply, so a batch refused by a full channel is lost silently
    on the sending side; the receiving pod sees the gap in the batch numbers instead."""
    layer = build_layer("redis", [one_shard], capacity=2, expiry=10)
    sender, receiver = Relay(layer, "a"), Relay(layer, "b")
    await sender.start(lambda message: None)
    receiver.channel = await layer.new_channel(prefix="skirmish.pod.b")  # not reading yet
    link = sender.link(receiver.channel)
    for n in range(5):  # five batches while nobody reads: two fit
        link.add(["f", "m1", 1, f"frame {n}".encode()])
        link.flush()
        await wait_for_condition(lambda n=n: link.messages_sent == n + 1)
    lost_before = metric_value("skirmish_relay_batches_lost_total")
    frames: list[bytes] = []
    await receiver.start(lambda message: frames.extend(e[3] for e in message["entries"]))
    await wait_for_condition(lambda: len(frames) == 2)
    link.add(["f", "m1", 1, b"frame 5"])
    link.flush()
    await wait_for_condition(lambda: len(frames) == 3)
    assert frames == [b"frame 0", b"frame 1", b"frame 5"]
    assert receiver.link(sender.channel).batches_lost == 3
    assert metric_value("skirmish_relay_batches_lost_total") == lost_before + 3
    for relay in (sender, receiver):
        await relay.stop()
    await shut(layer)


async def wait_for_condition(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def metric_value(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_posting_asks_redis_for_no_replies(one_shard: str) -> None:
    layer = build_layer("redis", [one_shard], capacity=100, expiry=10)
    channel = await layer.new_channel(prefix="skirmish.pod.g")
    for n in range(5):
        await layer.post(channel, {"type": "relay.batch", "n": n})
    received = [
        (await asyncio.wait_for(layer.receive_exclusive(channel), 2))["n"] for _ in range(5)
    ]
    assert received == list(range(5))
    posting = layer._dedicated[("post", 0)]  # type: ignore[index]
    await asyncio.sleep(0.05)  # time for any reply to arrive
    assert posting.is_connected and not await posting.can_read()  # not one byte came back
    await shut(layer)


async def test_a_reader_whose_connection_goes_silent_reconnects(one_shard: str) -> None:
    """A Redis host that vanishes without a reset leaves the reader's BZPOPMIN unanswered
    for ever; past BZPOPMIN's own timeout the reader replaces its connection."""
    sender = build_layer("redis", [one_shard], capacity=100, expiry=10)
    async with FreezingProxy(one_shard).running() as proxy:
        reader = build_layer("redis", [proxy.url], capacity=100, expiry=10)
        reader.brpop_timeout, reader.silence_margin = 0.2, 0.5
        channel = await reader.new_channel(prefix="skirmish.pod.h")
        await sender.post(channel, {"type": "relay.batch", "n": 1})
        assert (await asyncio.wait_for(reader.receive_exclusive(channel), 2))["n"] == 1
        proxy.freeze()  # the reader's connection: open, and silent from now on
        waiting = asyncio.create_task(reader.receive_exclusive(channel))
        await asyncio.sleep(0.3)
        await sender.post(channel, {"type": "relay.batch", "n": 2})
        assert (await asyncio.wait_for(waiting, 3))["n"] == 2
        await reader.close_dedicated()
        await reader.close_pools()
    await shut(sender)


async def test_what_redis_refuses_reaches_the_sender_within_a_second(one_shard: str) -> None:
    """CLIENT REPLY OFF hides errors too; once a second per shard a post goes by `send`,
    whose reply raises them (here: Redis turned replica, as after a failover)."""
    layer = build_layer("redis", [one_shard], capacity=100, expiry=10)
    channel = await layer.new_channel(prefix="skirmish.pod.i")
    await layer.post(channel, {"type": "relay.batch", "n": 0})
    admin = redis.asyncio.Redis.from_url(one_shard)
    await admin.replicaof("127.0.0.1", "1")  # read-only from now on; no client is killed
    try:
        deadline = asyncio.get_running_loop().time() + 3
        with pytest.raises(redis.ReadOnlyError):
            while asyncio.get_running_loop().time() < deadline:
                await layer.post(channel, {"type": "relay.batch", "n": 1})
                await asyncio.sleep(1 / 30)
    finally:
        await admin.replicaof("NO", "ONE")
        await admin.aclose()
    await shut(layer)
