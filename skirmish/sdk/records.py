"""The Python SDK's errors, and the records the REST API answers with (docs/protocol.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Close codes after which a client never reconnects (docs/protocol.md, "Reconnecting"):
# the match is over, the client broke the rules, or it has no business there (4009:
# another socket of the same player took the seat).
NEVER_RECONNECT_CODES = frozenset({1000, 1008, 1009, 4003, 4004, 4009, 4010, 4029})
# ...and those after which reconnecting with the same token cannot help (4001: a fresh
# match token may).
FINAL_CLOSE_CODES = NEVER_RECONNECT_CODES | {4001}


class SkirmishError(Exception):
    """Base class of the client's errors."""


class ApiError(SkirmishError):
    """A REST call answered with an error status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class MatchmakingError(SkirmishError):
    """A ticket ended without a match (`cancelled`, `expired`) or the wait timed out."""

    def __init__(self, status: str, ticket: Ticket | None = None) -> None:
        super().__init__(f"matchmaking failed: ticket {status}")
        self.status = status
        self.ticket = ticket


class MatchClosed(SkirmishError):
    """The match socket is closed, or was refused: before the socket opened, `code` is
    None and `status` the handshake's HTTP status (None: no HTTP answer at all). `error`
    is the `error` message the server sent just before the close, if any."""

    def __init__(
        self,
        code: int | None,
        reason: str = "",
        *,
        status: int | None = None,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"match socket closed: {code} {reason}".rstrip())
        self.code = code
        self.reason = reason
        self.status = status
        self.error = error

    @property
    def final(self) -> bool:
        """True when reconnecting with the same token cannot help."""
        return self.code in FINAL_CLOSE_CODES


@dataclass(slots=True, frozen=True)
class Player:
    player_id: str
    name: str
    token: str
    expires_at: str | None = None


@dataclass(slots=True, frozen=True)
class MatchAccess:
    match_id: str
    ws_path: str
    token: str
    expires_at: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MatchAccess:
        return cls(data["match_id"], data["ws_path"], data["token"], data.get("expires_at"))


@dataclass(slots=True, frozen=True)
class SpectateAccess:
    """Leave to watch a match (`POST /v1/matches/{id}/spectate`): its socket's path and
    spectate token; `live` false for a finished match, watched from its recording."""

    match_id: str
    ws_path: str
    token: str
    expires_at: str | None
    live: bool
    delay_ms: int  # live: how far behind the match the view runs
    rate_hz: float  # snapshots per second of match time
    code: str | None = None  # a `link` match's watch code, for its players to share

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SpectateAccess:
        return cls(
            data["match_id"],
            data["ws_path"],
            data["token"],
            data.get("expires_at"),
            bool(data["live"]),
            int(data.get("delay_ms") or 0),
            float(data.get("rate_hz") or 0),
            data.get("code"),
        )


def _access(data: Mapping[str, Any] | None) -> MatchAccess | None:
    return MatchAccess.from_json(data) if data else None


@dataclass(slots=True, frozen=True)
class Ticket:
    id: str
    player_id: str
    mode: str
    status: str
    created_at: str | None
    match: MatchAccess | None
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Ticket:
        return cls(
            data["id"],
            data["player_id"],
            data["mode"],
            data["status"],
            data.get("created_at"),
            _access(data.get("match")),
            dict(data.get("settings") or {}),
        )


@dataclass(slots=True, frozen=True)
class LobbyMember:
    player_id: str
    name: str
    ready: bool


@dataclass(slots=True, frozen=True)
class Lobby:
    id: str
    name: str
    mode: str
    host_id: str
    max_players: int
    status: str
    members: tuple[LobbyMember, ...]
    created_at: str | None
    match: MatchAccess | None
    settings: dict[str, Any] = field(default_factory=dict)
    private: bool = False  # never listed; joined by its `code` only
    code: str | None = None  # a private lobby's join code, for its members while open
    revision: int = 0  # counts its changes: of two bodies of one lobby, the higher is newer

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Lobby:
        members = tuple(
            LobbyMember(m["player_id"], m["name"], bool(m["ready"])) for m in data["members"]
        )
        return cls(
            data["id"],
            data["name"],
            data["mode"],
            data["host_id"],
            data["max_players"],
            data["status"],
            members,
            data.get("created_at"),
            _access(data.get("match")),
            dict(data.get("settings") or {}),
            bool(data.get("private", False)),
            data.get("code"),
            int(data.get("revision", 0)),
        )

    def has_member(self, player_id: str) -> bool:
        return any(member.player_id == player_id for member in self.members)


@dataclass(slots=True, frozen=True)
class MatchInfo:
    id: str
    mode: str
    status: str
    players: tuple[dict[str, Any], ...]
    created_at: str | None
    result: dict[str, Any] | None
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MatchInfo:
        return cls(
            data["id"],
            data["mode"],
            data["status"],
            tuple(data["players"]),
            data.get("created_at"),
            data.get("result"),
            dict(data.get("settings") or {}),
        )
