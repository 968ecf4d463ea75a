"""Everything a pod runs, built once from settings and started/stopped by the app lifespan."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from game.modes import AnyMode
from realtime.match_host import MatchHost
from realtime.matcher import Matcher
from skirmish.settings import Settings
from skirmish.store import MemoryStore, Store
from skirmish.tokens import TokenService


@dataclass
class Services:
    settings: Settings
    store: Store
    tokens: TokenService
    modes: dict[str, AnyMode]
    host: MatchHost
    matcher: Matcher
    clock: Callable[[], float] = field(default=time.time)
    ready: bool = False

    async def start(self) -> None:
        await self.host.start()
        await self.matcher.start()
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        await self.matcher.stop()
        await self.host.stop()
        await self.store.close()


def build_services(settings: Settings) -> Services:
    if settings.redis_url:
        raise NotImplementedError("REDIS_URL: the Redis backends arrive with scale-out")
    store: Store = MemoryStore()
    modes = settings.modes
    return Services(
        settings=settings,
        store=store,
        tokens=TokenService(
            settings.token_secret,
            player_ttl=settings.player_token_ttl_seconds,
            match_ttl=settings.match_token_ttl_seconds,
        ),
        modes=modes,
        host=MatchHost(
            store,
            modes,
            tick_rate=settings.tick_rate,
            start_wait=settings.match_start_wait_seconds,
            pod=settings.pod_name,
        ),
        matcher=Matcher(
            store,
            modes,
            target_size=settings.match_target_size,
            fill_timeout=settings.match_fill_seconds,
            ticket_ttl=settings.ticket_ttl_seconds,
            interval=settings.matcher_interval_seconds,
        ),
    )
