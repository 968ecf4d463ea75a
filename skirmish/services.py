"""Everything a pod runs, built once from settings and started/stopped by the app lifespan.

No REDIS_URL: one process, everything in memory (the embedded default). With REDIS_URL:
the Redis store, match leases, matcher leadership, heartbeat and the channel layer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from api.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from game.modes import AnyMode
from realtime.heartbeat import PodHeartbeat
from realtime.layers import build_layer
from realtime.leader import Leadership, RedisLeadership
from realtime.limits import SocketGuard, SocketLimits
from realtime.match_host import MatchHost
from realtime.matcher import Matcher
from realtime.ownership import MatchDirectory, MemoryMatchDirectory, RedisMatchDirectory
from realtime.relay import Relay
from skirmish.settings import Settings
from skirmish.store import MemoryStore, Store
from skirmish.store.redis import RedisStore
from skirmish.tokens import TokenService


@dataclass
class Services:
    settings: Settings
    store: Store
    tokens: TokenService
    modes: dict[str, AnyMode]
    host: MatchHost
    matcher: Matcher
    redis: Redis | None = None
    heartbeat: PodHeartbeat | None = None
    clock: Callable[[], float] = field(default=time.time)
    ready: bool = False
    guard: SocketGuard | None = None  # match sockets: per-player cap, idle sweep
    limiter: RateLimiter | None = None  # REST rate limits (Redis-backed with REDIS_URL)

    async def start(self) -> None:
        await self.host.start()
        await self.matcher.start()
        if self.guard is not None:
            await self.guard.start()
        if self.heartbeat is not None:
            await self.heartbeat.start()
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        if self.guard is not None:
            await self.guard.stop()
        if self.heartbeat is not None:
            await self.heartbeat.stop()
        await self.matcher.stop()
        await self.host.stop()
        await self.store.close()
        if self.redis is not None:
            await self.redis.aclose()

    def load(self) -> dict[str, Any]:
        """What this pod carries, for the heartbeat."""
        host = self.host
        return {
            "matches": len(host.matches),
            "remote_matches": len(host.relay.remote),
            "players": sum(len(m.connected_slots) for m in host.matches.values()),
            "tick_lateness_ms": round(max(host.recent_lateness, default=0.0) * 1000, 2),
            "channel": host.relay.channel,
        }


def build_services(settings: Settings) -> Services:
    modes = settings.modes
    redis: Redis | None = None
    directory: MatchDirectory | None = None
    leadership: Leadership | None = None
    relay = Relay(None, settings.pod_name)
    store: Store
    ttls = {
        # A ticket's record outlives its search (the client reads its final status): 10× it.
        "ticket_ttl": settings.ticket_ttl_seconds * 10,
        "lobby_ttl": settings.lobby_ttl_seconds,
        # A guest is only ever reached through its player token: it lives as long as that,
        # and a search begun just before it expired may still be matched (and named).
        "player_ttl": settings.player_token_ttl_seconds + settings.ticket_ttl_seconds,
    }
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url)
        store = RedisStore(settings.redis_url, **ttls)
        directory = RedisMatchDirectory(redis, settings.lease_ttl_seconds)
        leadership = RedisLeadership(
            redis, "matcher", settings.pod_name, settings.leader_ttl_seconds
        )
        layer = build_layer(
            settings.channel_layer,
            settings.channel_hosts,
            capacity=settings.channel_capacity,
            expiry=settings.channel_expiry_seconds,
        )
        relay = Relay(layer, settings.pod_name)
    else:
        store = MemoryStore(**ttls)
        directory = MemoryMatchDirectory(settings.lease_ttl_seconds)  # host's and matcher's
    services = Services(
        settings=settings,
        store=store,
        tokens=TokenService(
            settings.token_secret,
            previous_secrets=settings.token_previous_secrets,
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
            directory=directory,
            relay=relay,
            lease_ttl=settings.lease_ttl_seconds,
            record_replays=settings.record_replays,
        ),
        matcher=Matcher(
            store,
            modes,
            target_size=settings.match_target_size,
            fill_timeout=settings.match_fill_seconds,
            ticket_ttl=settings.ticket_ttl_seconds,
            interval=settings.matcher_interval_seconds,
            leadership=leadership,
            directory=directory,
            join_timeout=settings.match_join_timeout_seconds,
        ),
        redis=redis,
        guard=SocketGuard(SocketLimits.from_settings(settings)),
        limiter=RedisRateLimiter(redis) if redis is not None else MemoryRateLimiter(),
    )
    if redis is not None:
        services.heartbeat = PodHeartbeat(
            redis, settings.pod_name, services.load, settings.heartbeat_seconds
        )
    return services
