"""One contract, every room bus: the in-process twin of an embedded pod, and the channel
layer's groups (our Redis layer, and the stock pub/sub layer) on a private redis-server.
Then what only a bus of several pods can show: each member pod receives once, and a dead
pod's memberships lapse."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio

from realtime.layers import build_layer
from realtime.relay import Relay
from realtime.room_bus import LayerRoomBus, LocalRoomBus, RoomBus
from tests.support.redis_server import redis_url as redis_url

Message = dict[str, Any]
QUIET = 0.15  # how long "nothing arrives" is watched for


@dataclass
class Pod:
    """A bus as one pod has it, with what it delivered."""

    bus: RoomBus
    inbox: asyncio.Queue[tuple[str, Message]] = field(default_factory=asyncio.Queue)
    expiry: float = 0.0  # the layer's group_expiry (0: memberships never lapse)
    stop: Callable[[], Awaitable[None]] | None = None

    def deliver(self, room: str, message: Message) -> None:
        self.inbox.put_nowait((room, message))

    async def next(self, timeout: float = 2.0) -> tuple[str, Message]:
        return await asyncio.wait_for(self.inbox.get(), timeout)

    async def nothing(self) -> None:
        await asyncio.sleep(QUIET)
        assert self.inbox.empty(), self.inbox.get_nowait()


PodFactory = Callable[[], Awaitable[Pod]]


async def layer_pod(url: str, kind: str, prefix: str, group_expiry: int) -> Pod:
    """A pod's bus on its own layer instance (its own process channel), as a pod has it."""
    layer = build_layer(
        kind, [url], capacity=100, expiry=10, prefix=prefix, group_expiry=group_expiry
    )
    relay = Relay(layer, f"pod-{secrets.token_hex(3)}")
    await relay.start(lambda batch: None)
    bus = LayerRoomBus(layer, relay)  # type: ignore[arg-type]  # (both layer kinds have groups)
    pod = Pod(bus, expiry=bus.layer.group_expiry if kind == "redis" else 0.0)

    async def stop() -> None:
        await relay.stop()
        inner = getattr(layer, "layer", layer)  # StockLayerCalls wraps the pub/sub layer
        if kind == "redis":
            await inner.close_pools()
        else:
            await inner.flush()

    pod.stop = stop
    await bus.start(pod.deliver)
    return pod


@pytest.fixture(params=["memory", "redis", "pubsub"])
async def pods(request: pytest.FixtureRequest) -> AsyncIterator[PodFactory]:
    """`await pods()` starts one pod's bus (the in-process twin has one pod only)."""
    started: list[Pod] = []
    prefix = f"test{secrets.token_hex(4)}"

    async def make() -> Pod:
        if request.param == "memory":
            assert not started, "an embedded pod is alone"
            pod = Pod(LocalRoomBus())
            await pod.bus.start(pod.deliver)
        else:
            url = request.getfixturevalue("redis_url")
            pod = await layer_pod(url, request.param, prefix, group_expiry=1)
        started.append(pod)
        return pod

    yield make
    for pod in started:
        await pod.bus.stop()
        if pod.stop is not None:
            await pod.stop()


# -- the contract -----------------------------------------------------------------------------


async def test_a_joined_room_gets_each_message_once_in_order(pods: PodFactory) -> None:
    pod = await pods()
    await pod.bus.join("lobby.l_1")
    await pod.bus.join("lobby.l_1")  # twice is once
    assert pod.bus.rooms == {"lobby.l_1"}
    for n in range(5):
        await pod.bus.publish("lobby.l_1", {"kind": "chat", "n": n, "text": "hé ☃"})
    await pod.bus.publish("lobby.l_2", {"kind": "chat", "n": 99})  # a room nobody joined
    received = [await pod.next() for _ in range(5)]
    assert received == [("lobby.l_1", {"kind": "chat", "n": n, "text": "hé ☃"}) for n in range(5)]
    await pod.nothing()


async def test_a_room_left_gets_nothing_more(pods: PodFactory) -> None:
    pod = await pods()
    await pod.bus.join("lobby.l_1")
    await pod.bus.join("announcements")
    await pod.bus.leave("lobby.l_1")
    await pod.bus.leave("lobby.l_9")  # never joined: nothing to do
    assert pod.bus.rooms == {"announcements"}
    await pod.bus.publish("lobby.l_1", {"n": 1})
    await pod.bus.publish("announcements", {"n": 2})
    assert await pod.next() == ("announcements", {"n": 2})
    await pod.nothing()


async def test_a_message_arrives_as_a_copy(pods: PodFactory) -> None:
    pod = await pods()
    await pod.bus.join("lobby.l_1")
    message: Message = {"lobby": {"members": [{"id": "p1"}]}, "at": 1.5, "none": None}
    await pod.bus.publish("lobby.l_1", message)
    message["lobby"]["members"].clear()  # the publisher's object is its own
    _, received = await pod.next()
    assert received == {"lobby": {"members": [{"id": "p1"}]}, "at": 1.5, "none": None}


async def test_a_membership_outlives_the_layers_group_expiry(pods: PodFactory) -> None:
    """channels-redis drops members not re-added within group_expiry (1 s here): the bus
    re-adds its own in time."""
    pod = await pods()
    await pod.bus.join("lobby.l_1")
    await asyncio.sleep(pod.expiry * 2.2)
    await pod.bus.publish("lobby.l_1", {"n": 1})
    assert await pod.next() == ("lobby.l_1", {"n": 1})


async def test_a_stopped_bus_delivers_nothing(pods: PodFactory) -> None:
    pod = await pods()
    await pod.bus.join("lobby.l_1")
    await pod.bus.stop()
    assert pod.bus.rooms == frozenset()
    await pod.bus.publish("lobby.l_1", {"n": 1})
    await pod.nothing()


async def test_room_names_are_group_names(pods: PodFactory) -> None:
    pod = await pods()
    for bad in ("", "lobby l_1", "lobby/1", "x" * 91, "lobby.é"):
        with pytest.raises(ValueError, match="room name"):
            await pod.bus.join(bad)
        with pytest.raises(ValueError, match="room name"):
            await pod.bus.publish(bad, {})


# -- several pods -----------------------------------------------------------------------------


@pytest.fixture
async def redis_pods(redis_url: str) -> AsyncIterator[Callable[..., Awaitable[Pod]]]:
    started: list[Pod] = []
    prefix = f"test{secrets.token_hex(4)}"

    async def make(group_expiry: int = 3600) -> Pod:
        pod = await layer_pod(redis_url, "redis", prefix, group_expiry)
        started.append(pod)
        return pod

    yield make
    for pod in started:
        await pod.bus.stop()
        if pod.stop is not None:
            await pod.stop()


async def test_each_pod_that_joined_receives_once(
    redis_pods: Callable[..., Awaitable[Pod]],
) -> None:
    a, b, c = [await redis_pods() for _ in range(3)]
    await a.bus.join("lobby.l_1")
    await b.bus.join("lobby.l_1")
    await c.bus.publish("lobby.l_1", {"from": "c"})  # a pod need not be in a room to publish
    await a.bus.publish("lobby.l_1", {"from": "a"})
    for pod in (a, b):
        assert [await pod.next(), await pod.next()] == [
            ("lobby.l_1", {"from": "c"}),
            ("lobby.l_1", {"from": "a"}),
        ]
    for pod in (a, b, c):
        await pod.nothing()


async def test_a_dead_pods_memberships_lapse(
    redis_pods: Callable[..., Awaitable[Pod]], redis_url: str
) -> None:
    """A pod killed without leaving stops re-adding its memberships: within group_expiry
    the layer drops it from the group, and the live pod, which re-adds its own, stays."""
    alive, dead = await redis_pods(group_expiry=1), await redis_pods(group_expiry=1)
    await alive.bus.join("lobby.l_1")
    await dead.bus.join("lobby.l_1")
    keeper = dead.bus._keeper  # type: ignore[attr-defined]
    keeper.cancel()  # it froze: no more refreshes, no leaving
    prefix = alive.bus.layer.prefix  # type: ignore[attr-defined]
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        assert await client.zcard(f"{prefix}:group:lobby.l_1") == 2
        await asyncio.sleep(2.2)  # past the whole second it was last added in, and one more
        await alive.bus.publish("lobby.l_1", {"n": 1})  # group_send prunes the lapsed
        assert await alive.next() == ("lobby.l_1", {"n": 1})
        assert await client.zcard(f"{prefix}:group:lobby.l_1") == 1
    finally:
        await client.aclose()
