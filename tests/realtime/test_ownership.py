"""Match leases and matcher leadership: one contract, memory and Redis side by side."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from realtime.leader import MemoryLeadership, RedisLeadership
from realtime.ownership import (
    EPOCH_TTL_SECONDS,
    SWEEP_EVERY_CLAIMS,
    MemoryMatchDirectory,
    RedisMatchDirectory,
)
from tests.support.redis_server import redis_server

TTL = 0.5


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("ownership")) as url:
        yield url


@pytest.fixture(params=["memory", "redis"])
async def directory(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield MemoryMatchDirectory(TTL)
        return
    client = Redis.from_url(redis_url)
    await client.flushdb()
    yield RedisMatchDirectory(client, TTL)
    await client.aclose()


async def test_the_first_claim_wins_and_others_see_the_owner(directory: Any) -> None:
    mine = await directory.claim("m1", "pod-a", "chan-a")
    theirs = await directory.claim("m1", "pod-b", "chan-b")
    assert mine.pod == "pod-a" and theirs == mine
    assert await directory.holder("m1") == mine


async def test_renewal_keeps_the_lease_and_expiry_moves_it_with_a_new_epoch(
    directory: Any,
) -> None:
    first = await directory.claim("m1", "pod-a", "chan-a")
    for _ in range(3):  # renewed inside its ttl: nobody else can take it
        await asyncio.sleep(TTL / 3)
        assert await directory.renew([first]) == []
    assert (await directory.claim("m1", "pod-b", "chan-b")).pod == "pod-a"
    await asyncio.sleep(TTL * 1.5)  # pod-a stalls past its ttl
    second = await directory.claim("m1", "pod-b", "chan-b")
    assert second.pod == "pod-b" and second.epoch == first.epoch + 1
    # Fenced: the stale owner can neither renew nor release what is no longer its lease.
    assert await directory.renew([first]) == [first]
    await directory.release(first)
    assert await directory.holder("m1") == second


async def test_release_frees_the_match_for_the_next_claim(directory: Any) -> None:
    lease = await directory.claim("m1", "pod-a", "chan-a")
    await directory.release(lease)
    assert await directory.holder("m1") is None
    assert (await directory.claim("m1", "pod-b", "chan-b")).pod == "pod-b"


async def test_one_matcher_leads_until_it_resigns_or_dies(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    await client.flushdb()
    a = RedisLeadership(client, "matcher", "pod-a", TTL)
    b = RedisLeadership(client, "matcher", "pod-b", TTL)
    assert await a.acquire_or_renew() and not await b.acquire_or_renew()
    assert await a.acquire_or_renew()  # renewing is leading still
    await a.resign()
    assert await b.acquire_or_renew() and not await a.acquire_or_renew()
    await asyncio.sleep(TTL * 1.5)  # b dies without resigning: its lease runs out
    assert await a.acquire_or_renew()
    await client.aclose()


async def test_the_embedded_pod_always_leads() -> None:
    assert await MemoryLeadership().acquire_or_renew()


async def test_the_embedded_directory_forgets_old_leases_and_epochs() -> None:
    """A long-running embedded server claims a match after another; what expired unread
    (leases let go unrenewed, epochs a day old) does not stay in memory for ever."""
    now = [0.0]
    directory = MemoryMatchDirectory(TTL, clock=lambda: now[0])
    for n in range(SWEEP_EVERY_CLAIMS - 1):
        await directory.claim(f"m{n}", "pod", "chan")  # never renewed nor released
    assert directory.sizes() == (SWEEP_EVERY_CLAIMS - 1, SWEEP_EVERY_CLAIMS - 1)
    now[0] += EPOCH_TTL_SECONDS + 1
    fresh = await directory.claim("new", "pod", "chan")  # the claim that sweeps
    assert directory.sizes() == (1, 1) and fresh.epoch == 1
    assert await directory.holder("new") == fresh
