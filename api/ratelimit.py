"""REST rate limits that hold across pods: one protocol, a memory and a Redis implementation.

Both implement GCRA (the generic cell rate algorithm, a token bucket kept as one number):
a key stores the theoretical arrival time `tat` of its next request; a request is allowed
when `tat - now <= (burst - 1) / rate`, and then pushes `tat` on by `1 / rate`. One key,
one number, no background refill. The Redis twin runs the same arithmetic in a Lua script
on Redis' own clock, so every pod counts against the same budget and pod clocks may
disagree. Which key and which rule apply is the middleware's business (api/middleware.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rule:
    """`rate` requests a second on average, `burst` at once after a quiet spell."""

    rate: float
    burst: int

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    @property
    def tolerance(self) -> float:
        """How far ahead of now a key's `tat` may run and still be allowed."""
        return (self.burst - 1) * self.interval


class RateLimiter(Protocol):
    async def hit(self, key: str, rule: Rule) -> float:
        """Count one request of `key`: 0.0 if allowed, else the seconds until one would be."""
        ...

    async def close(self) -> None: ...


class MemoryRateLimiter:
    """One process (embedded mode, tests): a dict of `tat` per key."""

    MAX_KEYS = 100_000  # beyond this, keys whose budget is full again are forgotten

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.tats: dict[str, float] = {}

    async def hit(self, key: str, rule: Rule) -> float:
        now = self.clock()
        tat = max(self.tats.get(key, now), now)
        wait = tat - now - rule.tolerance
        if wait > 0:
            return wait
        if len(self.tats) >= self.MAX_KEYS:
            self._forget(now)
        self.tats[key] = tat + rule.interval
        return 0.0

    def _forget(self, now: float) -> None:
        """A key whose `tat` has passed has its whole burst again: it is as if unseen."""
        self.tats = {k: t for k, t in self.tats.items() if t > now}

    async def close(self) -> None:
        self.tats.clear()


# KEYS[1] the key; ARGV[1] interval, ARGV[2] tolerance, both in microseconds.
# Returns 0 when allowed, else the microseconds to wait. TIME is Redis' clock: all pods
# share it (scripts replicate their effects, so reading the clock is allowed).
GCRA_SCRIPT = """
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - now - tolerance
if wait > 0 then return math.max(1, math.ceil(wait)) end
local new_tat = tat + interval
local ttl = math.ceil((new_tat - now) / 1000) + 1
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', ttl)
return 0
"""


class RedisRateLimiter:
    """Every pod of the service: one Redis key per client, updated atomically by a script.

    If Redis fails, requests are let through (and logged): the limiter protects the
    service, it must not take it down with it.
    """

    def __init__(self, redis: Redis, prefix: str = "skirmish:ratelimit:") -> None:
        self.redis = redis
        self.prefix = prefix
        self.script = redis.register_script(GCRA_SCRIPT)

    async def hit(self, key: str, rule: Rule) -> float:
        args = [round(rule.interval * 1e6), round(rule.tolerance * 1e6)]
        try:
            wait = await self.script(keys=[self.prefix + key], args=args)
        except Exception:
            log.warning("rate limiter unavailable; letting the request through", exc_info=True)
            return 0.0
        return int(wait) / 1e6

    async def close(self) -> None:
        """The Redis client belongs to the services; nothing of ours to close."""
