"""The records the store keeps. Immutable: a change is a new record, written atomically."""

from __future__ import annotations

import secrets
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TicketStatus = Literal["searching", "matched", "cancelled", "expired"]
LobbyStatus = Literal["open", "started", "closed"]
MatchStatus = Literal["waiting", "running", "finished"]
# Who may watch a match: its players, anyone signed in, or holders of its watch code.
SpectatorPolicy = Literal["players", "signed_in", "link"]


ID_BYTES = 8


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(ID_BYTES)}"


def new_watch_code() -> str:
    """A `link` match's watch code: 16 URL-safe characters, unguessable."""
    return secrets.token_urlsafe(12)


def id_pattern(prefix: str) -> str:
    """The regular expression every id `new_id(prefix)` makes matches, and nothing else."""
    return rf"^{prefix}_[0-9a-f]{{{2 * ID_BYTES}}}$"


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlayerRecord(Record):
    id: str
    name: str
    created_at: float


class TicketRecord(Record):
    id: str
    player_id: str
    mode: str
    settings: dict[str, Any] = Field(default_factory=dict)  # resolved: defaults filled in
    rating: float
    status: TicketStatus = "searching"
    created_at: float
    match_id: str | None = None


class LobbyMember(Record):
    player_id: str
    name: str
    ready: bool = False


class LobbyRecord(Record):
    id: str
    name: str
    mode: str
    settings: dict[str, Any] = Field(default_factory=dict)
    host_id: str
    max_players: int
    status: LobbyStatus = "open"
    members: tuple[LobbyMember, ...] = ()
    created_at: float
    match_id: str | None = None
    # A private lobby's join code (unique among open lobbies); None: a public lobby.
    code: str | None = None
    spectators: SpectatorPolicy = "signed_in"  # who may watch its match
    # Counts the writes that changed the lobby (the store bumps it): of two views of a
    # lobby, the one with the higher revision is the newer.
    revision: int = 0

    @property
    def private(self) -> bool:
        return self.code is not None

    def member(self, player_id: str) -> LobbyMember | None:
        return next((m for m in self.members if m.player_id == player_id), None)

    @property
    def gathering(self) -> frozenset[str]:
        """The players this lobby holds while it is open: each may be in one such lobby."""
        if self.status != "open":
            return frozenset()
        return frozenset(m.player_id for m in self.members)


class MatchPlayer(Record):
    player_id: str
    name: str
    slot: int


class MatchRecord(Record):
    id: str
    mode: str
    settings: dict[str, Any] = Field(default_factory=dict)
    seed: int
    status: MatchStatus = "waiting"
    players: tuple[MatchPlayer, ...]
    spectators: SpectatorPolicy = "signed_in"
    watch_code: str | None = None  # a `link` match's: whoever holds it may watch

    @classmethod
    def watched_by(cls, policy: SpectatorPolicy) -> dict[str, Any]:
        """The fields of a new match that watchers may watch under `policy`."""
        return {"spectators": policy, "watch_code": new_watch_code() if policy == "link" else None}

    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] | None = None

    def slot_of(self, player_id: str) -> int | None:
        return next((p.slot for p in self.players if p.player_id == player_id), None)
