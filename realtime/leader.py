"""One leader across pods (for the matcher): a renewable Redis lease; memory twin always leads.

Redis key: `{prefix}:leader:{role}` → pod name (PX ttl). The holder renews every ttl/3; if
it dies, the key expires and another pod takes it within `ttl` seconds.
"""

from __future__ import annotations

from typing import Protocol

from redis.asyncio import Redis

from realtime.redis_leases import COMPARE_AND_DELETE


class Leadership(Protocol):
    async def acquire_or_renew(self) -> bool:
        """True while this pod leads."""
        ...

    async def resign(self) -> None: ...


class MemoryLeadership:
    async def acquire_or_renew(self) -> bool:
        return True

    async def resign(self) -> None:
        return None


ACQUIRE_OR_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


class RedisLeadership:
    def __init__(
        self, redis: Redis, role: str, pod: str, ttl: float, prefix: str = "skirmish"
    ) -> None:
        self.key = f"{prefix}:leader:{role}"
        self.pod = pod
        self.ttl_ms = int(ttl * 1000)
        self._acquire = redis.register_script(ACQUIRE_OR_RENEW)
        self._resign = redis.register_script(COMPARE_AND_DELETE)

    async def acquire_or_renew(self) -> bool:
        return bool(await self._acquire(keys=[self.key], args=[self.pod, self.ttl_ms]))

    async def resign(self) -> None:
        await self._resign(keys=[self.key], args=[self.pod])
