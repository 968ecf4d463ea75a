"""Each pod publishes its load in Redis, for operators, autoscaling and routing fallbacks.

Redis keys: `{prefix}:pod:{name}` hash {matches, players, remote_matches, tick_lateness_ms,
channel, updated_at}, expiring after three missed beats; `{prefix}:pods` sorted set of
names by last beat (stale names are pruned by whoever reads it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from realtime.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class PodHeartbeat:
    def __init__(
        self,
        redis: Redis,
        pod: str,
        load: Callable[[], dict[str, Any]],
        interval: float = 2.0,
        prefix: str = "skirmish",
    ) -> None:
        self.redis = redis
        self.pod = pod
        self.load = load
        self.interval = interval
        self.prefix = prefix
        self._task: asyncio.Task[None] | None = None

    async def beat(self) -> None:
        now = time.time()
        key = f"{self.prefix}:pod:{self.pod}"
        fields = {**self.load(), "updated_at": now}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={k: str(v) for k, v in fields.items()})
            pipe.expire(key, max(int(self.interval * 3), 1))
            pipe.zadd(f"{self.prefix}:pods", {self.pod: now})
            await pipe.execute()

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        with contextlib.suppress(Exception):
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(f"{self.prefix}:pod:{self.pod}")
                pipe.zrem(f"{self.prefix}:pods", self.pod)
                await pipe.execute()

    async def _run(self) -> None:
        while True:
            try:
                await self.beat()
            except Exception:
                log.warning("heartbeat failed", exc_info=True)
            await asyncio.sleep(self.interval)


async def live_pods(redis: Redis, max_age: float, prefix: str = "skirmish") -> list[dict[str, str]]:
    """The pods that beat within `max_age` seconds, with their published load."""
    names = await redis.zrangebyscore(f"{prefix}:pods", time.time() - max_age, "+inf")
    pods = []
    for raw in names:
        name = _text(raw)
        fields = await redis.hgetall(f"{prefix}:pod:{name}")
        if fields:
            pods.append({_text(k): _text(v) for k, v in fields.items()} | {"name": name})
    return pods


def _text(value: object) -> str:
    """A Redis reply as text (the client answers bytes unless told to decode)."""
    return value.decode() if isinstance(value, bytes) else str(value)
