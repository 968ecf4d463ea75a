"""Everything a pod runs, built once from settings and started/stopped by the app lifespan.

No REDIS_URL: one process, everything in memory (the embedded default). With REDIS_URL:
the Redis store, match leases, matcher leadership, heartbeat and the channel layer (the
relay's batches, and the groups of the lobby rooms).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from api.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from api.services import LobbyPush
from api.views import lobby_out
from game.modes import AnyMode
from realtime.heartbeat import PodHeartbeat
from realtime.layers import build_layer
from realtime.leader import Leadership, RedisLeadership
from realtime.limits import SocketGuard, SocketLimits
from realtime.lobby_rooms import LobbyRooms
from realtime.match_host import MatchHost
from realtime.matcher import Matcher
from realtime.ownership import MatchDirectory, MemoryMatchDirectory, RedisMatchDirectory
from realtime.relay import Relay, RelayLayer
from realtime.replay_view import Theatre
from realtime.room_bus import GroupLayer, LayerRoomBus, LocalRoomBus, PodLayer, RoomBus
from skirmish.base.settings import Settings
from skirmish.base.store import MemoryStore, Store
from skirmish.base.store.records import LobbyRecord
from skirmish.base.store.redis import RedisStore
from skirmish.base.tokens import TokenService

log = logging.getLogger(__name__)


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
    guard: SocketGuard | None = None  # match and lobby sockets: per-player cap, idle sweep
    limiter: RateLimiter | None = None  # REST rate limits (Redis-backed with REDIS_URL)
    rooms: LobbyRooms = field(init=False)  # the lobby sockets (build_services sets it)
    theatre: Theatre = field(init=False)  # the recordings its spectators watch

    @property
    def push(self) -> LobbyPush:
        """What the API pushes lobby changes and announcements through."""
        return self.rooms

    def lobby_view(self, lobby: LobbyRecord, viewer: str) -> dict[str, Any]:
        """A lobby as `viewer` sees it, as REST gives it: what a lobby socket is sent."""
        return lobby_out(self, lobby, viewer).model_dump(mode="json")

    async def start(self) -> None:
        await self.host.start()
        await self.rooms.start()  # after the host: its relay's channel joins the rooms
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
        await self.rooms.stop()
        await self.host.stop()
        await self.store.close()
        if self.redis is not None:
            await self.redis.aclose()

    async def drain(self) -> int:
        """Not ready from now on (/readyz 503); every match handed over, every lobby socket
        sent on to another pod. Sockets told."""
        self.ready = False
        return await self.host.drain() + self.rooms.drain()

    def stats(self) -> dict[str, Any]:
        """What this pod carries right now (GET /admin/stats)."""
        return {
            "pod": self.settings.pod_name,
            "ready": self.ready,
            "draining": self.host.draining,
            **self.load(),
            "sockets": self.guard.sockets if self.guard is not None else None,
            "lobby_sockets": sum(len(s) for s in self.rooms.sockets.values()),
            "tick_rate": self.settings.tick_rate,
        }

    def load(self) -> dict[str, Any]:
        """What this pod carries, for the heartbeat."""
        host = self.host
        return {
            "matches": len(host.owned),
            "remote_matches": len(host.edge.remote),
            "players": sum(len(o.hosted.connected_slots) for o in host.owned),
            "tick_lateness_ms": round(host.scheduler.worst_recent_lateness() * 1000, 2),
            "channel": host.relay.channel,
        }


# The channel layer between pods: the relay's channel, and groups for the lobby rooms (a
# layer without groups, such as a benchmark's, keeps the lobby rooms within each pod).
LayerFactory = Callable[[Settings], RelayLayer]


def settings_layer(settings: Settings) -> PodLayer:
    """The channel layer between pods that the settings name (SKIRMISH_CHANNEL_LAYER)."""
    return build_layer(
        settings.channel_layer,
        settings.channel_hosts,
        capacity=settings.channel_capacity,
        expiry=settings.channel_expiry_seconds,
    )


@dataclass
class Backends:
    """Where a pod keeps what it shares: all in memory (embedded), or in Redis."""

    store: Store
    directory: MatchDirectory
    relay: Relay
    bus: RoomBus
    redis: Redis | None = None
    leadership: Leadership | None = None


def build_backends(settings: Settings, layer_factory: LayerFactory) -> Backends:
    ttls: dict[str, Any] = {
        # A ticket's record outlives its search (the client reads its final status): 10× it.
        "ticket_ttl": settings.ticket_ttl_seconds * 10,
        "lobby_ttl": settings.lobby_ttl_seconds,
        # A guest is only ever reached through its player token: it lives as long as that,
        # and a search begun just before it expired may still be matched (and named).
        "player_ttl": settings.player_token_ttl_seconds + settings.ticket_ttl_seconds,
        "replay_ttl": settings.replay_retention_seconds,
    }
    pod = settings.pod_name
    if not settings.redis_url:  # the host's and the matcher's directory: one, in memory
        directory = MemoryMatchDirectory(settings.lease_ttl_seconds)
        return Backends(MemoryStore(**ttls), directory, Relay(None, pod), LocalRoomBus())
    redis = Redis.from_url(settings.redis_url)
    layer = layer_factory(settings)
    relay = Relay(layer, pod)
    return Backends(
        store=RedisStore(settings.redis_url, **ttls),
        directory=RedisMatchDirectory(redis, settings.lease_ttl_seconds),
        relay=relay,
        bus=room_bus(layer, relay),
        redis=redis,
        leadership=RedisLeadership(redis, "matcher", pod, settings.leader_ttl_seconds),
    )


def room_bus(layer: RelayLayer, relay: Relay) -> RoomBus:
    """The lobby rooms across pods: the layer's groups, joined with the relay's channel."""
    if isinstance(layer, GroupLayer):
        return LayerRoomBus(layer, relay)
    log.warning("the channel layer has no groups: lobby rooms reach this pod's sockets only")
    return LocalRoomBus()


def build_services(
    settings: Settings,
    *,
    layer_factory: LayerFactory = settings_layer,
    on_tick: Callable[[], None] | None = None,
) -> Services:
    """The pod's services. `layer_factory` builds the channel layer between pods (with
    REDIS_URL); `on_tick` is called as each pod-wide tick starts (a benchmark's probe)."""
    backends = build_backends(settings, layer_factory)
    services = Services(
        settings=settings,
        store=backends.store,
        tokens=TokenService(
            settings.token_secret,
            previous_secrets=settings.token_previous_secrets,
            player_ttl=settings.player_token_ttl_seconds,
            match_ttl=settings.match_token_ttl_seconds,
        ),
        modes=settings.modes,
        host=build_host(settings, backends, on_tick),
        matcher=build_matcher(settings, backends),
        redis=backends.redis,
        guard=SocketGuard(SocketLimits.from_settings(settings)),
        limiter=MemoryRateLimiter() if backends.redis is None else RedisRateLimiter(backends.redis),
    )
    services.rooms = LobbyRooms(
        backends.bus,
        backends.store,
        services.lobby_view,
        match_frames=services.host.send_to_local_sockets,
    )
    services.theatre = Theatre(settings.max_replay_viewers)
    if backends.redis is not None:
        services.heartbeat = PodHeartbeat(
            backends.redis, settings.pod_name, services.load, settings.heartbeat_seconds
        )
    return services


def build_host(
    settings: Settings, backends: Backends, on_tick: Callable[[], None] | None
) -> MatchHost:
    return MatchHost(
        backends.store,
        settings.modes,
        tick_rate=settings.tick_rate,
        start_wait=settings.match_start_wait_seconds,
        pod=settings.pod_name,
        directory=backends.directory,
        relay=backends.relay,
        lease_ttl=settings.lease_ttl_seconds,
        record_replays=settings.record_replays,
        on_tick=on_tick,
        spectator_delay=settings.spectator_delay_seconds,
        spectator_rate=settings.spectator_rate_hz,
        step_budget=None if settings.step_budget_ms is None else settings.step_budget_ms / 1000,
    )


def build_matcher(settings: Settings, backends: Backends) -> Matcher:
    return Matcher(
        backends.store,
        settings.modes,
        target_size=settings.match_target_size,
        fill_timeout=settings.match_fill_seconds,
        ticket_ttl=settings.ticket_ttl_seconds,
        interval=settings.matcher_interval_seconds,
        spectators=settings.spectators,
        leadership=backends.leadership,
        directory=backends.directory,
        join_timeout=settings.match_join_timeout_seconds,
    )
