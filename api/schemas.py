"""Request and response bodies. Validated by pydantic; their JSON Schemas make the OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[\w][\w .\-]{0,22}[\w.]?$"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class GuestIn(Body):
    name: str | None = Field(None, min_length=1, max_length=24, pattern=NAME_PATTERN)


class GuestOut(Body):
    player_id: str
    name: str
    token: str
    expires_at: datetime


class ModeOut(Body):
    name: str
    min_players: int
    max_players: int
    tick_rate: int


class ModesOut(Body):
    modes: list[ModeOut]


class TicketIn(Body):
    mode: str = Field("arena", min_length=1, max_length=32)


class MatchAccess(Body):
    match_id: str
    ws_path: str
    token: str
    expires_at: datetime


class TicketOut(Body):
    id: str
    player_id: str
    mode: str
    status: Literal["searching", "matched", "cancelled", "expired"]
    created_at: datetime
    match: MatchAccess | None = None


class LobbyIn(Body):
    mode: str = Field("arena", min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=40, pattern=NAME_PATTERN.replace("22", "38"))
    max_players: int = Field(ge=2, le=64)


class ReadyIn(Body):
    ready: bool


class LobbyMemberOut(Body):
    player_id: str
    name: str
    ready: bool


class LobbyOut(Body):
    id: str
    name: str
    mode: str
    host_id: str
    max_players: int
    status: Literal["open", "started", "closed"]
    members: list[LobbyMemberOut]
    created_at: datetime
    match: MatchAccess | None = None


class LobbiesOut(Body):
    lobbies: list[LobbyOut]


class MatchPlayerOut(Body):
    player_id: str
    name: str
    slot: int


class MatchOut(Body):
    id: str
    mode: str
    status: Literal["waiting", "running", "finished"]
    players: list[MatchPlayerOut]
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None


class ErrorDetail(Body):
    code: str
    message: str


class ErrorOut(Body):
    error: ErrorDetail


class StatusOut(Body):
    status: str
    pod: str
