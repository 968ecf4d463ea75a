"""All configuration, from environment variables, in one typed object."""

from __future__ import annotations

import secrets
import socket
from functools import cached_property
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from game.modes import ArenaRules, build_modes
from game.modes.base import GameMode


class Settings(BaseSettings):
    """Environment variables are `SKIRMISH_<FIELD>` unless an alias says otherwise."""

    model_config = SettingsConfigDict(env_prefix="SKIRMISH_", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    redis_url: str | None = Field(None, validation_alias=AliasChoices("REDIS_URL"))
    pod_name: str = Field(
        default_factory=socket.gethostname, validation_alias=AliasChoices("POD_NAME")
    )
    # Tokens are signed with this. Unset (embedded mode) → a random per-process secret, so
    # tokens die with the process; several pods must share one.
    token_secret: str = Field(default_factory=lambda: secrets.token_urlsafe(32), min_length=32)
    player_token_ttl_seconds: int = Field(24 * 3600, gt=0)
    match_token_ttl_seconds: int = Field(600, gt=0)

    # Scale-out (only with REDIS_URL). The channel layer may use its own Redis servers:
    # SKIRMISH_CHANNEL_REDIS_URLS='["redis://a:6379","redis://b:6379"]' shards over both.
    channel_layer: Literal["redis", "pubsub"] = "redis"
    channel_redis_urls: list[str] = Field(default_factory=list)
    channel_capacity: int = Field(1000, ge=10)
    channel_expiry_seconds: int = Field(10, ge=1)
    lease_ttl_seconds: float = Field(10.0, gt=0.5)
    leader_ttl_seconds: float = Field(3.0, gt=0.5)
    heartbeat_seconds: float = Field(2.0, gt=0)

    tick_rate: int = Field(30, ge=1, le=120)
    arena_score_limit: int = Field(10, ge=1)
    arena_time_limit_seconds: float = Field(180.0, gt=0)

    match_target_size: int = Field(4, ge=2)  # matchmaking prefers this many players
    match_fill_seconds: float = Field(5.0, ge=0)  # then starts with the mode's minimum
    match_start_wait_seconds: float = Field(10.0, ge=0)  # a match waits this long for players
    ticket_ttl_seconds: float = Field(120.0, gt=0)
    matcher_interval_seconds: float = Field(0.25, gt=0)
    lobby_ttl_seconds: float = Field(3600.0, gt=0)
    # Keep every applied input so finished matches can be replayed (GET .../replay): for
    # debugging, anti-cheat review and determinism checks. Costs memory while a match runs.
    record_replays: bool = False

    @property
    def channel_hosts(self) -> list[str]:
        return self.channel_redis_urls or ([self.redis_url] if self.redis_url else [])

    @cached_property
    def modes(self) -> dict[str, GameMode]:  # type: ignore[type-arg]
        rules = ArenaRules(
            tick_rate=self.tick_rate,
            score_limit=self.arena_score_limit,
            time_limit_ticks=round(self.arena_time_limit_seconds * self.tick_rate),
        )
        return build_modes(rules)
