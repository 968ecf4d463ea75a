"""Matches nobody joins end as "abandoned" instead of waiting forever: the matcher's sweep,
against the in-memory and the Redis store and lease directory."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from game.modes import build_modes
from realtime.matcher import Matcher
from realtime.ownership import MatchDirectory, MemoryMatchDirectory, RedisMatchDirectory
from skirmish.base.store import MemoryStore, Store
from skirmish.base.store.records import MatchRecord
from skirmish.base.store.redis import RedisStore
from tests.store.factories import NOW, match
from tests.support.redis_server import redis_url as redis_url

TIMEOUT = 120.0


@dataclass
class Clock:
    now: float = NOW

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    store: Store
    directory: MatchDirectory
    clock: Clock
    matcher: Matcher


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    store: Store
    directory: MatchDirectory
    redis: Redis | None = None
    if request.param == "memory":
        store, directory = MemoryStore(), MemoryMatchDirectory(10.0)
    else:
        url = request.getfixturevalue("redis_url")
        prefix = f"test-{secrets.token_hex(6)}"
        redis = Redis.from_url(url)
        store, directory = RedisStore(url, prefix=prefix), RedisMatchDirectory(redis, 10.0, prefix)
    clock = Clock()
    matcher = Matcher(
        store, build_modes(), target_size=2, fill_timeout=5.0, ticket_ttl=120.0, interval=0.25,
        directory=directory, join_timeout=TIMEOUT, clock=clock,
    )  # fmt: skip
    yield Backend(store, directory, clock, matcher)
    await store.close()
    if redis is not None:
        await redis.aclose()


async def test_a_match_nobody_joined_ends_as_abandoned_after_the_timeout(
    backend: Backend,
) -> None:
    m = match()
    await backend.store.add_match(m)

    backend.clock.now = NOW + TIMEOUT - 1
    assert await backend.matcher.abandon_unjoined() == []
    assert (await backend.store.get_match(m.id)) == m

    backend.clock.now = NOW + TIMEOUT + 1
    assert await backend.matcher.abandon_unjoined() == [m.id]
    ended = await backend.store.get_match(m.id)
    assert ended is not None and ended.status == "finished"
    assert ended.finished_at == NOW + TIMEOUT + 1
    assert ended.result == {
        "match_id": m.id, "winner": None, "reason": "abandoned", "tick": 0, "players": [],
    }  # fmt: skip
    assert await backend.matcher.abandon_unjoined() == []  # once
    assert await backend.store.waiting_matches(backend.clock.now, 10) == []


async def test_held_running_and_finished_matches_are_left_alone(backend: Backend) -> None:
    held, running, finished = match(), match(), match()
    for m in (held, running, finished):
        await backend.store.add_match(m)
    await backend.directory.claim(held.id, "pod-a", "chan!a")  # a socket reached pod-a

    await backend.store.update_match(running.id, status_to("running"))
    await backend.store.update_match(finished.id, status_to("finished"))

    backend.clock.now = NOW + 10 * TIMEOUT
    assert await backend.matcher.abandon_unjoined() == []
    statuses = []
    for m in (held, running, finished):
        record = await backend.store.get_match(m.id)
        statuses.append(record.status if record else None)
    assert statuses == ["waiting", "running", "finished"]


def status_to(status: str) -> Callable[[MatchRecord], MatchRecord]:
    def change(current: MatchRecord) -> MatchRecord:
        return current.model_copy(update={"status": status})

    return change
