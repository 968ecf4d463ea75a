"""Who owns which match: a lease per match, fenced by an epoch number.

A pod claims a match when the match's first socket reaches it; the lease lives `ttl`
seconds and the owner renews it well inside that. Every claim increments the match's
epoch, so a pod that lost its lease (paused, partitioned) holds a stale epoch and every
fenced write it attempts is refused. The in-memory twin serves the embedded single pod.

Redis keys: `{prefix}:lease:{match_id}` → "pod|epoch|channel" (PX ttl);
`{prefix}:epoch:{match_id}` → int (expires a day after the last claim).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from realtime.redis_leases import COMPARE_AND_DELETE
from skirmish.base.store.memory import Expiring

EPOCH_TTL_SECONDS = 24 * 3600
SWEEP_EVERY_CLAIMS = 1000  # the embedded directory drops what expired unread this often


@dataclass(frozen=True, slots=True)
class Lease:
    match_id: str
    pod: str
    epoch: int
    channel: str  # the owner's channel-layer channel, for pods relaying to it

    def encode(self) -> str:
        return f"{self.pod}|{self.epoch}|{self.channel}"

    @classmethod
    def decode(cls, match_id: str, raw: bytes | str) -> Lease:
        text = raw.decode() if isinstance(raw, bytes) else raw
        pod, epoch, channel = text.split("|", 2)
        return cls(match_id, pod, int(epoch), channel)


class MatchDirectory(Protocol):
    async def claim(self, match_id: str, pod: str, channel: str) -> Lease:
        """Take the match if nobody holds it; return the lease in force (ours or theirs)."""
        ...

    async def renew(self, leases: Sequence[Lease]) -> list[Lease]:
        """Extend our leases; returns those we no longer hold."""
        ...

    async def release(self, lease: Lease) -> None: ...

    async def holder(self, match_id: str) -> Lease | None: ...


class MemoryMatchDirectory:
    """In one process. Leases and epochs expire as their Redis keys do, so a long-running
    embedded server does not keep one of each for every match it ever hosted."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._leases: Expiring[str, Lease] = Expiring(clock)
        self._epochs: Expiring[str, int] = Expiring(clock)
        self._claims = 0

    async def claim(self, match_id: str, pod: str, channel: str) -> Lease:
        current = await self.holder(match_id)
        if current is not None:
            return current
        epoch = (self._epochs.get(match_id) or 0) + 1
        self._epochs.put(match_id, epoch, EPOCH_TTL_SECONDS)
        self._claims += 1
        if self._claims % SWEEP_EVERY_CLAIMS == 0:  # drop what expired unread
            self._leases.sweep()
            self._epochs.sweep()
        lease = Lease(match_id, pod, epoch, channel)
        self._leases.put(match_id, lease, self.ttl)
        return lease

    async def renew(self, leases: Sequence[Lease]) -> list[Lease]:
        lost = []
        for lease in leases:
            if await self.holder(lease.match_id) == lease:
                self._leases.put(lease.match_id, lease, self.ttl)
            else:
                lost.append(lease)
        return lost

    async def release(self, lease: Lease) -> None:
        if await self.holder(lease.match_id) == lease:
            self._leases.pop(lease.match_id)

    def sizes(self) -> tuple[int, int]:
        """(leases, epochs) held in memory, expired ones not yet swept included."""
        return len(self._leases), len(self._epochs)

    async def holder(self, match_id: str) -> Lease | None:
        return self._leases.get(match_id)


CLAIM = """
local current = redis.call('GET', KEYS[1])
if current then return current end
local epoch = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
local value = ARGV[1] .. '|' .. epoch .. '|' .. ARGV[2]
redis.call('SET', KEYS[1], value, 'PX', ARGV[3])
return value
"""

# Renew or release only if the lease is still exactly ours (same pod and epoch).
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class RedisMatchDirectory:
    def __init__(self, redis: Redis, ttl: float, prefix: str = "skirmish") -> None:
        self.redis = redis
        self.ttl_ms = int(ttl * 1000)
        self.prefix = prefix
        self._claim = redis.register_script(CLAIM)
        self._renew = redis.register_script(RENEW)
        self._release = redis.register_script(COMPARE_AND_DELETE)

    def lease_key(self, match_id: str) -> str:
        return f"{self.prefix}:lease:{match_id}"

    async def claim(self, match_id: str, pod: str, channel: str) -> Lease:
        keys = [self.lease_key(match_id), f"{self.prefix}:epoch:{match_id}"]
        raw = await self._claim(keys=keys, args=[pod, channel, self.ttl_ms, EPOCH_TTL_SECONDS])
        return Lease.decode(match_id, raw)

    async def renew(self, leases: Sequence[Lease]) -> list[Lease]:
        if not leases:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for lease in leases:
                await self._renew(
                    keys=[self.lease_key(lease.match_id)],
                    args=[lease.encode(), self.ttl_ms],
                    client=pipe,
                )
            results = await pipe.execute()
        return [lease for lease, ok in zip(leases, results, strict=True) if not ok]

    async def release(self, lease: Lease) -> None:
        await self._release(keys=[self.lease_key(lease.match_id)], args=[lease.encode()])

    async def holder(self, match_id: str) -> Lease | None:
        raw = await self.redis.get(self.lease_key(match_id))
        return None if raw is None else Lease.decode(match_id, raw)
