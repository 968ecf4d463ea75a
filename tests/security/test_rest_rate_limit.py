"""REST rate limits: GCRA in memory and in Redis (one contract for both), the middleware's
429, and one budget shared by two real pods through a real, private redis-server."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from api.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter, Rule
from tests.api.conftest import Api, assert_error
from tests.support.processes import free_port, skirmish_server

RULE = Rule(rate=2.0, burst=3)


def test_memory_gcra_allows_the_burst_then_the_rate() -> None:
    clock = [10.0]
    limiter = MemoryRateLimiter(clock=lambda: clock[0])

    def hit(key: str = "k") -> float:
        return asyncio.run(limiter.hit(key, RULE))

    assert [hit() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert hit() == pytest.approx(0.5)  # the next slot opens in 1/rate
    assert hit("other") == 0.0  # keys are independent
    clock[0] += 0.5
    assert hit() == 0.0
    assert hit() == pytest.approx(0.5)
    clock[0] += 100.0  # a quiet spell gives the whole burst back, no more
    assert [hit() for _ in range(4)][-1] > 0


def test_memory_limiter_forgets_keys_whose_budget_is_full_again() -> None:
    clock = [0.0]
    limiter = MemoryRateLimiter(clock=lambda: clock[0])
    limiter.MAX_KEYS = 10
    for n in range(10):
        asyncio.run(limiter.hit(f"k{n}", RULE))
    clock[0] += 1.0
    asyncio.run(limiter.hit("new", RULE))
    assert set(limiter.tats) == {"new"}


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter()
        return
    redis = Redis.from_url(redis_url)
    prefix = f"test:{request.node.name}:{time.monotonic_ns()}:"
    yield RedisRateLimiter(redis, prefix=prefix)
    await redis.aclose()


async def test_contract_burst_then_rate_with_a_retry_hint(limiter: RateLimiter) -> None:
    results = [await limiter.hit("player:a", RULE) for _ in range(4)]
    assert results[:3] == [0.0, 0.0, 0.0]
    assert 0.3 < results[3] <= 0.5
    assert await limiter.hit("player:b", RULE) == 0.0  # another key has its own budget
    await asyncio.sleep(results[3] + 0.02)
    assert await limiter.hit("player:a", RULE) == 0.0  # the hint was right
    assert await limiter.hit("player:a", RULE) > 0


async def test_contract_a_denied_request_costs_nothing(limiter: RateLimiter) -> None:
    fast = Rule(rate=20.0, burst=2)
    assert [await limiter.hit("ip:x", fast) for _ in range(2)] == [0.0, 0.0]
    for _ in range(50):  # hammering while refused does not push the budget further out
        assert await limiter.hit("ip:x", fast) > 0
    await asyncio.sleep(0.06)
    assert await limiter.hit("ip:x", fast) == 0.0


async def test_redis_limiter_lets_requests_through_when_redis_is_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    limiter = RedisRateLimiter(redis)
    with caplog.at_level(logging.WARNING, "api.ratelimit"):
        assert await limiter.hit("player:a", RULE) == 0.0
    assert "rate limiter unavailable" in caplog.text
    await redis.aclose()


# -- the middleware, in process -----------------------------------------------------------


def test_over_the_limit_is_429_with_retry_after_and_the_error_body(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(rate_limit_player_per_second=1.0, rate_limit_player_burst=3)
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    assert [ada.get("/v1/lobbies").status_code for _ in range(3)] == [200] * 3
    refused = ada.get("/v1/lobbies")
    message = assert_error(refused, 429, "rate_limited")
    assert "1/s" in message
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-skirmish-pod"]  # the pod header still comes along
    assert bob.get("/v1/lobbies").status_code == 200  # per player
    # Probes, metrics and the web client are never limited.
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/"):
        assert api.client.get(path).status_code == 200, path


def test_anonymous_calls_count_against_the_address(make_api: Callable[..., Api]) -> None:
    api = make_api(rate_limit_ip_per_second=1.0, rate_limit_ip_burst=2)
    assert api.client.get("/v1/modes").status_code == 200
    assert api.client.get("/v1/modes").status_code == 200
    assert_error(api.client.get("/v1/modes"), 429, "rate_limited")
    # A forged or foreign token does not buy a budget of its own: it counts as the address.
    forged = {"Authorization": "Bearer not-a-token"}
    assert_error(api.client.get("/v1/lobbies", headers=forged), 429, "rate_limited")


def test_rate_limiting_can_be_switched_off(make_api: Callable[..., Api]) -> None:
    api = make_api(rate_limit_enabled=False, rate_limit_ip_per_second=1.0, rate_limit_ip_burst=1)
    assert {api.client.get("/v1/modes").status_code for _ in range(5)} == {200}


# -- two real pods, one real Redis --------------------------------------------------------


def test_the_budget_holds_across_pods_sharing_redis(tmp_path: Path, redis_url: str) -> None:
    env = {
        "REDIS_URL": redis_url,
        "SKIRMISH_RATE_LIMIT_PLAYER_PER_SECOND": "0.5",
        "SKIRMISH_RATE_LIMIT_PLAYER_BURST": "6",
        "SKIRMISH_RATE_LIMIT_IP_PER_SECOND": "0.5",
        "SKIRMISH_RATE_LIMIT_IP_BURST": "4",
    }
    with (
        skirmish_server(tmp_path, {**env, "POD_NAME": "pod-a"}) as a,
        skirmish_server(tmp_path, {**env, "POD_NAME": "pod-b"}) as b,
    ):
        guest = httpx.post(f"{a.url}/v1/auth/guest", json={"name": "ada"}, timeout=5)
        assert guest.status_code == 201, guest.text
        headers = {"Authorization": f"Bearer {guest.json()['token']}"}
        statuses = []
        for n in range(10):  # alternate pods: each alone would allow 6
            url = (a.url, b.url)[n % 2]
            resp = httpx.get(f"{url}/v1/lobbies", headers=headers, timeout=5)
            statuses.append((resp.headers["x-skirmish-pod"], resp.status_code))
            if resp.status_code == 429:
                assert resp.json()["error"]["code"] == "rate_limited"
                assert int(resp.headers["retry-after"]) >= 1
        assert [code for _, code in statuses] == [200] * 6 + [429] * 4, statuses
        assert {pod for pod, code in statuses if code == 429} == {"pod-a", "pod-b"}
        # Anonymous calls: one budget per address, across pods (the sign-in took one).
        anonymous = [
            httpx.get(f"{(a.url, b.url)[n % 2]}/v1/modes", timeout=5).status_code for n in range(4)
        ]
        assert anonymous == [200] * 3 + [429], anonymous
