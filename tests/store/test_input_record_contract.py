"""One input record per match, both backends: the checkpoints append to it as the match
goes, a fenced checkpoint appends nothing, and the replay is its header with the record."""

from __future__ import annotations

import secrets
from typing import Any

from redis.asyncio import Redis

from skirmish.base.store import MemoryStore, Store
from skirmish.base.store.redis import RedisStore
from tests.store.test_store_contract import store

__all__ = ["store"]

ENTRY = [7, 1, {"type": "input", "seq": 3, "dx": 0.5, "dy": -1.0, "aim": 1.25, "fire": True}]


def entries(first_tick: int, count: int) -> list[list[Any]]:
    return [
        [tick, tick % 2, {**ENTRY[2], "seq": tick}]
        for tick in range(first_tick, first_tick + count)
    ]


async def test_checkpoints_append_to_one_record_that_the_replay_returns(store: Store) -> None:
    first, second, tail = entries(1, 3), entries(4, 2), [[6, 0, None], ENTRY]
    assert await store.save_checkpoint("m1", {"tick": 3, "inputs_at": 3}, 1, first)
    assert await store.save_checkpoint("m1", {"tick": 5, "inputs_at": 5}, 1, second)
    assert await store.save_checkpoint("m1", {"tick": 5, "inputs_at": 5}, 1)  # none new
    await store.save_replay("m1", {"match_id": "m1", "seed": 2**62 + 1, "ticks": 7}, tail)
    replay = await store.get_replay("m1")
    assert replay == {
        "match_id": "m1", "seed": 2**62 + 1, "ticks": 7, "inputs": first + second + tail,
    }  # fmt: skip


async def test_a_fenced_checkpoint_adds_nothing_to_the_record(store: Store) -> None:
    assert await store.save_checkpoint("m1", {"tick": 3}, 2, entries(1, 3))
    assert not await store.save_checkpoint("m1", {"tick": 9}, 1, entries(4, 6))  # stale owner
    await store.save_replay("m1", {"match_id": "m1"}, [])
    replay = await store.get_replay("m1")
    assert replay is not None and replay["inputs"] == entries(1, 3)


async def test_a_match_without_a_replay_leaves_no_record(store: Store) -> None:
    assert await store.save_checkpoint("m1", {"tick": 3}, 1, entries(1, 3))
    await store.drop_inputs("m1")
    await store.save_replay("m1", {"match_id": "m1"}, [ENTRY])
    replay = await store.get_replay("m1")
    assert replay is not None and replay["inputs"] == [ENTRY]
    assert await store.get_replay("m2") is None
    assert await store.has_replay("m1") and not await store.has_replay("m2")


async def test_the_embedded_store_forgets_replays_after_the_retention() -> None:
    now = [1000.0]
    store = MemoryStore(replay_ttl=60.0, clock=lambda: now[0])
    assert await store.save_checkpoint("m1", {"tick": 3}, 1, entries(1, 3))
    await store.save_replay("m1", {"match_id": "m1"}, [])
    now[0] += 59
    assert await store.get_replay("m1") is not None and await store.has_replay("m1")
    now[0] += 2
    assert await store.get_replay("m1") is None and not await store.has_replay("m1")


async def test_redis_keeps_the_replay_and_its_record_for_the_retention(redis_url: str) -> None:
    prefix = f"test-{secrets.token_hex(6)}"
    store = RedisStore(redis_url, prefix=prefix, replay_ttl=600.0)
    client = Redis.from_url(redis_url)
    try:
        assert await store.save_checkpoint("m1", {"tick": 3}, 1, entries(1, 3))
        assert await client.ttl(f"{prefix}:inputs:m1") > 3600  # a running match's: a day
        await store.save_replay("m1", {"match_id": "m1"}, [ENTRY])
        for key in (f"{prefix}:inputs:m1", f"{prefix}:replay:m1"):
            assert 590 <= await client.ttl(key) <= 600
    finally:
        await client.aclose()
        await store.close()
