"""Request and response bodies. Validated by pydantic; their JSON Schemas make the OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from skirmish.base.store.records import SpectatorPolicy, id_pattern
from skirmish.base.text import visible

# Letters of any script (with their combining marks), digits, and a little punctuation; no
# control or invisible formatting characters, so one name cannot pass for another. Spelled
# with Unicode classes rather than `\w`, which means ASCII only to an OpenAPI (ECMA-262)
# reader but any script to our validator: the published pattern is the one we enforce.
# Surrounding spaces are allowed and trimmed *after* validation, so the documented pattern
# and lengths hold for the string as sent (trimming first would accept strings the OpenAPI
# document calls invalid, and refuse `" "`-padded ones it calls valid).
WORD = r"\p{L}\p{M}\p{N}_"
NAME_PATTERN = rf"^ *[{WORD}][{WORD} .'\-]*$"


def trimmed(text: str) -> str:
    return text.strip(" ")


def display_name(max_length: int) -> Any:
    return Annotated[
        str,
        Field(min_length=1, max_length=max_length, pattern=NAME_PATTERN),
        AfterValidator(visible),
        AfterValidator(trimmed),
    ]


class Body(BaseModel):
    # strict: "yes" is not a boolean and "4" is not a number; strings are validated as sent.
    model_config = ConfigDict(extra="forbid", strict=True)


class GuestIn(Body):
    name: display_name(24) | None = None  # type: ignore[valid-type]


class GuestOut(Body):
    player_id: str
    name: str
    token: str
    expires_at: datetime


class ModeOut(Body):
    name: str
    version: int = Field(description="matches are pinned to the version they started with")
    min_players: int
    max_players: int
    tick_rate: int
    teams: int = Field(description="0: every player for themself; T: slot s plays for team s % T")
    hides_information: bool = Field(
        description="true: each player's snapshots carry only what that player may see"
    )
    input_schema: dict[str, Any] = Field(
        description="JSON Schema of an input message's fields besides `type` and `seq`"
    )
    settings_schema: dict[str, Any] = Field(
        description="JSON Schema of the settings a lobby or a ticket may choose; each "
        "property's `default` applies when left out"
    )


class ModesOut(Body):
    modes: list[ModeOut]


class TicketIn(Body):
    mode: str = Field("arena", min_length=1, max_length=32)
    settings: dict[str, Any] | None = Field(
        None,
        description="the mode's settings (see its `settings_schema`; defaults if left out): "
        "only players who chose the same are matched",
    )


class MatchAccess(Body):
    match_id: str
    ws_path: str
    token: str
    expires_at: datetime


class TicketOut(Body):
    id: str
    player_id: str
    mode: str
    settings: dict[str, Any] = Field(description="the settings, defaults filled in")
    status: Literal["searching", "matched", "cancelled", "expired"]
    created_at: datetime
    match: MatchAccess | None = None


def integral(value: Any) -> Any:
    """JSON has one number type: 4.0 is the integer 4, as JSON Schema (and so our OpenAPI)
    says; 4.5 and "4" are still refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(integral)]


class LobbyIn(Body):
    mode: str = Field("arena", min_length=1, max_length=32)
    name: display_name(40)  # type: ignore[valid-type]
    max_players: JsonInt = Field(ge=2, le=64)
    settings: dict[str, Any] | None = Field(
        None, description="the mode's settings (see its `settings_schema`); defaults if left out"
    )
    private: bool = Field(
        False,
        description="a private lobby is never listed and is joined only with its `code` "
        "(POST /v1/lobbies/join)",
    )
    spectators: SpectatorPolicy = Field(
        "signed_in",
        description="who may watch its match: its `players`, anyone `signed_in`, or holders "
        "of its watch code (`link`)",
    )


CODE_PATTERN = r"^[A-Za-z0-9]{6}$"


class JoinCodeIn(Body):
    code: str = Field(
        min_length=6,
        max_length=6,
        pattern=CODE_PATTERN,
        description="a private lobby's join code, as its members see it (any letter case)",
    )


class SettingsIn(Body):
    settings: dict[str, Any] = Field(description="the mode's settings; defaults for those left out")


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
    settings: dict[str, Any] = Field(description="the settings, defaults filled in")
    host_id: str
    max_players: int
    status: Literal["open", "started", "closed"]
    members: list[LobbyMemberOut]
    created_at: datetime
    match: MatchAccess | None = None
    private: bool = False
    code: str | None = Field(
        None,
        description="a private lobby's join code: shown to its members while it is open "
        "(null otherwise)",
    )
    revision: int = Field(
        0,
        description="counts the lobby's changes: of two bodies of one lobby (a response, "
        "a lobby socket's push), the higher revision is the newer",
    )
    spectators: SpectatorPolicy = Field("signed_in", description="who may watch its match")


class LobbiesQuery(BaseModel):
    # A query string carries text: "20" is the number 20 here; nothing else is accepted.
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=100, description="lobbies per page")
    after: str | None = Field(
        None,
        pattern=id_pattern("l"),
        description="the `next` of the previous page: the id of its last lobby",
    )


class LobbiesOut(Body):
    lobbies: list[LobbyOut]
    next: str | None = Field(None, description="pass as `after` for the next page; null: last")


class MatchPlayerOut(Body):
    player_id: str
    name: str
    slot: int


class MatchOut(Body):
    id: str
    mode: str
    settings: dict[str, Any] = Field(description="the settings the match plays with")
    status: Literal["waiting", "running", "finished"]
    players: list[MatchPlayerOut]
    spectators: SpectatorPolicy = Field("signed_in", description="who may watch it")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None


WATCH_CODE_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"


class SpectateIn(Body):
    code: str | None = Field(
        None,
        pattern=WATCH_CODE_PATTERN,
        description="the watch code of a `link` match (its players have it)",
    )


class ReplayQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(
        None,
        pattern=WATCH_CODE_PATTERN,
        description="the watch code of a `link` match (its players have it)",
    )


class SpectateAccess(Body):
    match_id: str
    ws_path: str = Field(description="the spectator socket: /ws/matches/{id}/spectate")
    token: str = Field(description="the spectate token, offered as subprotocol token.<it>")
    expires_at: datetime
    live: bool = Field(description="true: the match runs (or is about to); false: a recording")
    delay_ms: int = Field(description="how far behind the match a live view runs")
    rate_hz: float = Field(description="spectator snapshots per second of match time")
    code: str | None = Field(
        None, description="a `link` match's watch code, for its players to share (else null)"
    )


class ReplayOut(Body):
    match_id: str
    mode: str
    mode_version: int = Field(1, description="the version of the mode that played it")
    settings: dict[str, Any] = Field(
        default_factory=dict, description="the settings it played with"
    )
    seed: int
    players: int
    ticks: int
    inputs: list[list[Any]] = Field(
        description="[tick, slot, input message or null (the player left)], in applied order"
    )


def nonblank(text: str) -> str:
    text = text.strip()
    if not text:
        raise ValueError("must hold more than white space")
    return text


class AnnounceIn(Body):
    """POST /admin/announce: what every socket on every pod is told."""

    text: Annotated[
        str, Field(min_length=1, max_length=500), AfterValidator(visible), AfterValidator(nonblank)
    ]


class ErrorDetail(Body):
    code: str
    message: str


class ErrorOut(Body):
    error: ErrorDetail


class StatusOut(Body):
    status: str
    pod: str
