"""All configuration, from environment variables, in one typed object."""

from __future__ import annotations

import json
import secrets
import socket
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from game.modes import AnyMode, ArenaRules, build_modes
from skirmish.base.mode_loader import load_modes
from skirmish.base.store.records import SpectatorPolicy


def spectator_every(tick_rate: int, rate: float) -> int:
    """Ticks between two spectator views of a mode at `tick_rate`, for about `rate` views
    a second: so spectators get `tick_rate / spectator_every(…)` a second exactly."""
    return max(1, round(tick_rate / rate))


class Settings(BaseSettings):
    """Environment variables are `SKIRMISH_<FIELD>` unless an alias says otherwise."""

    model_config = SettingsConfigDict(env_prefix="SKIRMISH_", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    # "json": one JSON object per line (time, level, logger, message and, for requests,
    # method, path, status, client), for a log pipeline; "text" for a terminal.
    log_format: Literal["text", "json"] = "text"
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

    tick_rate: int = Field(30, ge=1, le=60)
    # The game modes this server offers, comma-separated (docs/modes.md): `arena`, names
    # that installed packages register in the `skirmish.modes` entry-point group, or
    # `package.module:Name`.
    mode_specs: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["arena", "ctf"],
        validation_alias=AliasChoices("SKIRMISH_MODES", "mode_specs"),
    )
    # A mode's step may take this long (default: a quarter of its tick); a match whose step
    # overruns it on more than 10 ticks within a second ends as no contest.
    step_budget_ms: float | None = Field(None, gt=0)
    arena_score_limit: int = Field(10, ge=1)
    arena_time_limit_seconds: float = Field(180.0, gt=0)

    match_target_size: int = Field(4, ge=2)  # matchmaking prefers this many players
    match_fill_seconds: float = Field(5.0, ge=0)  # then starts with the mode's minimum
    match_start_wait_seconds: float = Field(10.0, ge=0)  # a match waits this long for players
    ticket_ttl_seconds: float = Field(120.0, gt=0)
    # a match nobody connected to this long after it was made ends as "abandoned"
    match_join_timeout_seconds: float = Field(120.0, gt=0)
    matcher_interval_seconds: float = Field(0.25, gt=0)
    lobby_ttl_seconds: float = Field(3600.0, gt=0)
    # Record every applied input so finished matches can be replayed (GET .../replay,
    # `skirmish replay`): the checkpoints write the record as the match goes, so a pod holds
    # only the last few seconds of it. A match past 200,000 inputs keeps no replay.
    record_replays: bool = True
    replay_retention_seconds: float = Field(7 * 24 * 3600.0, gt=0)
    # Spectators (docs/protocol.md): who may watch a matchmade match (a lobby chooses its
    # own), how far behind the match they see it, how many views a second they get, and
    # how many recordings one pod plays to spectators at once (each costs what a match does).
    spectators: SpectatorPolicy = "signed_in"
    spectator_delay_seconds: float = Field(2.0, ge=0, le=60)
    spectator_rate_hz: float = Field(10.0, gt=0, le=60)
    max_replay_viewers: int = Field(20, ge=0)

    @property
    def channel_hosts(self) -> list[str]:
        return self.channel_redis_urls or ([self.redis_url] if self.redis_url else [])

    @cached_property
    def modes(self) -> dict[str, AnyMode]:
        """The offered modes by name; ModeConfigError if SKIRMISH_MODES names a bad one."""
        rules = ArenaRules(
            tick_rate=self.tick_rate,
            score_limit=self.arena_score_limit,
            time_limit_ticks=round(self.arena_time_limit_seconds * self.tick_rate),
        )
        return load_modes(self.mode_specs, build_modes(rules))

    # -- hardened edges (docs/security.md) -------------------------------------------------
    # Secrets that still verify tokens while SKIRMISH_TOKEN_SECRET signs the new ones:
    # rotate by moving the old secret here. A JSON list or comma-separated.
    token_previous_secrets: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Unset: /admin/* answers 404. Set (32+ characters): `Authorization: Bearer <it>`.
    admin_token: str | None = Field(None, min_length=32)
    # Browser origins allowed to open match sockets besides the page's own origin (same
    # host). "*" allows any. Sockets without an Origin header (not browsers) always pass.
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Per match socket. Inputs: unset → 2 × tick rate. Dropped messages past flood_limit
    # within 10 s, or bad ones past bad_message_limit, close the socket with 1008.
    ws_inputs_per_second: float | None = Field(None, gt=0)
    ws_input_burst: int = Field(15, ge=1)
    ws_pings_per_second: float = Field(2.0, gt=0)
    ws_ping_burst: int = Field(5, ge=1)
    ws_flood_limit: int = Field(200, ge=1)
    ws_bad_message_limit: int = Field(20, ge=1)
    ws_idle_timeout_seconds: float = Field(30.0, gt=0)
    ws_max_sockets_per_player: int = Field(4, ge=1)
    # A connection must deliver each whole HTTP request (a socket's upgrade included)
    # within this many seconds of connecting or starting it.
    handshake_timeout_seconds: float = Field(10.0, gt=0)
    # REST rate limits per player (authenticated) or per client IP (anonymous), shared by
    # every pod through Redis when REDIS_URL is set. Refused requests get 429.
    rate_limit_enabled: bool = True
    rate_limit_player_per_second: float = Field(20.0, gt=0)
    rate_limit_player_burst: int = Field(60, ge=1)
    rate_limit_ip_per_second: float = Field(20.0, gt=0)
    rate_limit_ip_burst: int = Field(300, ge=1)

    @field_validator("token_previous_secrets", "allowed_origins", "mode_specs", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [item.strip() for item in text.split(",") if item.strip()]
        return value

    @field_validator("token_previous_secrets")
    @classmethod
    def _long_enough(cls, secrets_: list[str]) -> list[str]:
        if any(len(s) < 32 for s in secrets_):
            raise ValueError("every previous token secret must have 32 characters or more")
        return secrets_
