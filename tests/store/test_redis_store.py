"""RedisStore only: races with real concurrency (several clients, as several pods would be),
and the key lifetimes its docstring promises."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from skirmish.base.errors import AlreadyInLobby, Conflict
from skirmish.base.store.protocols import RatingChange
from skirmish.base.store.records import MatchRecord, PlayerRecord, new_id
from skirmish.base.store.redis import ACTIVE_MATCH_TTL, FINISHED_MATCH_TTL, PLAYER_TTL, RedisStore
from tests.store.factories import joiner, leaver, lobby, match, ticket

PODS = 5


@pytest.fixture
def prefix() -> str:
    return f"race-{secrets.token_hex(6)}"


@pytest.fixture
async def pods(redis_url: str, prefix: str) -> AsyncIterator[list[RedisStore]]:
    """Several stores on one Redis: each its own connection pool, like separate pods."""
    stores = [RedisStore(redis_url, prefix=prefix) for _ in range(PODS)]
    yield stores
    for store in stores:
        await store.close()


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_concurrent_joins_never_overfill_a_lobby(pods: list[RedisStore]) -> None:
    lb = lobby(max_players=8).model_copy(update={"members": ()})
    await pods[0].add_lobby(lb)

    results = await asyncio.gather(
        *(pods[i % PODS].update_lobby(lb.id, joiner(f"p{i}")) for i in range(50)),
        return_exceptions=True,
    )

    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 42
    assert all(isinstance(f, Conflict) and f.message == "lobby is full" for f in failures)
    final = await pods[0].get_lobby(lb.id)
    assert final is not None
    assert len(final.members) == 8
    assert len({m.player_id for m in final.members}) == 8


async def test_concurrent_tickets_for_one_player(pods: list[RedisStore]) -> None:
    results = await asyncio.gather(
        *(pods[i % PODS].add_ticket(ticket("p1")) for i in range(20)), return_exceptions=True
    )

    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if r is not None)
    assert len(await pods[0].searching_tickets()) == 1


async def test_overlapping_matches_never_share_a_ticket(pods: list[RedisStore]) -> None:
    tickets = [ticket() for _ in range(40)]
    for t in tickets:
        await pods[0].add_ticket(t)
    # Ten groups of eight, each overlapping its neighbours by half.
    groups = [[tickets[(4 * g + k) % 40].id for k in range(8)] for g in range(10)]
    matches = [match(group) for group in groups]

    won = await asyncio.gather(
        *(pods[g % PODS].match_tickets(groups[g], matches[g]) for g in range(10))
    )

    claimed = [t for g in range(10) if won[g] for t in groups[g]]
    assert won.count(True) >= 1
    assert len(claimed) == len(set(claimed))  # no ticket in two matches
    owner = {t: matches[g].id for g in range(10) if won[g] for t in groups[g]}
    for t in tickets:
        stored = await pods[0].get_ticket(t.id)
        assert stored is not None
        assert (stored.status, stored.match_id) == (
            ("matched", owner[t.id]) if t.id in owner else ("searching", None)
        )
    for g in range(10):
        assert (await pods[0].get_match(matches[g].id) is not None) is won[g]
    assert {t.id for t in await pods[0].searching_tickets()} == {
        t.id for t in tickets if t.id not in owner
    }


async def test_key_lifetimes(pods: list[RedisStore], raw: Redis, prefix: str) -> None:
    store = pods[0]
    t, lb, m = ticket("p1"), lobby(code="QW34ER"), match()
    await store.add_ticket(t)
    await store.add_lobby(lb)
    await store.add_match(m)
    await store.set_ratings("arena", {"p1": 1000.0})
    await store.add_player(guest := PlayerRecord(id=new_id("p"), name="Ada", created_at=0.0))

    assert PLAYER_TTL - 100 < await raw.ttl(f"{prefix}:player:{guest.id}") <= PLAYER_TTL
    assert 3500 < await raw.ttl(f"{prefix}:ticket:{t.id}") <= 3600
    assert 3500 < await raw.ttl(f"{prefix}:searching:p1") <= 3600
    assert 3500 < await raw.ttl(f"{prefix}:lobby:{lb.id}") <= 3600
    assert 3500 < await raw.ttl(f"{prefix}:lobby-code:QW34ER") <= 3600  # expires with it
    assert ACTIVE_MATCH_TTL - 100 < await raw.ttl(f"{prefix}:match:{m.id}") <= ACTIVE_MATCH_TTL
    assert await raw.ttl(f"{prefix}:ratings:arena") == -1

    def finish(current: MatchRecord) -> MatchRecord:
        return current.model_copy(update={"status": "finished"})

    await store.update_match(m.id, finish)
    assert await raw.ttl(f"{prefix}:match:{m.id}") > FINISHED_MATCH_TTL - 100


async def test_expired_records_drop_out_of_the_indexes(
    pods: list[RedisStore], raw: Redis, prefix: str
) -> None:
    store = pods[0]
    gone, kept = ticket(), ticket()
    old, fresh = lobby(), lobby()
    for t in (gone, kept):
        await store.add_ticket(t)
    for lb in (old, fresh):
        await store.add_lobby(lb)
    # What a TTL expiry does: the record vanishes, its index entry stays behind.
    await raw.delete(f"{prefix}:ticket:{gone.id}", f"{prefix}:lobby:{old.id}")

    assert await store.searching_tickets() == [kept]
    assert await store.open_lobbies() == [fresh]
    assert await raw.zrange(f"{prefix}:tickets:searching", 0, -1) == [kept.id.encode()]
    assert await raw.zrange(f"{prefix}:lobbies:open", 0, -1) == [fresh.id.encode()]


async def test_one_player_joining_two_lobbies_at_once_gets_one(pods: list[RedisStore]) -> None:
    lobbies = [lobby(), lobby()]
    for lb in lobbies:
        await pods[0].add_lobby(lb)
    for _ in range(10):  # races on two pods, again and again
        joins = [pods[n].update_lobby(lb.id, joiner("racer")) for n, lb in enumerate(lobbies)]
        results = await asyncio.gather(*joins, return_exceptions=True)
        won = [r for r in results if not isinstance(r, BaseException)]
        assert len(won) == 1, results
        assert all(isinstance(r, AlreadyInLobby) for r in results if r not in won)
        await pods[0].update_lobby(won[0].id, leaver("racer"))


async def test_a_finish_that_loses_the_race_to_another_end_moves_no_rating(
    pods: list[RedisStore], redis_url: str, prefix: str
) -> None:
    """The ratings ride in the match's own transaction: when another pod ends the match
    between this write's read and its EXEC, the retry sees that end and adds nothing."""
    import redis as sync_redis

    store, m = pods[0], match()
    await store.add_match(m)
    aborted = m.model_copy(update={"status": "finished", "finished_at": 1.0})
    calls = 0

    def end(current: MatchRecord) -> MatchRecord:
        nonlocal calls
        calls += 1
        if calls == 1:  # another pod's end lands right after our read
            with sync_redis.Redis.from_url(redis_url) as other:
                other.set(f"{prefix}:match:{m.id}", aborted.model_dump_json())
        if current.status == "finished":
            return current
        return current.model_copy(update={"status": "finished", "finished_at": 2.0})

    stored = await store.finish_match(m.id, end, RatingChange("arena", {"p0": 9.0}, 1000.0))

    assert calls == 2 and stored == aborted == await store.get_match(m.id)
    assert await store.get_ratings("arena", ["p0"]) == {}
