"""What the rest of Skirmish needs from durable state. Implementations: memory, Redis.

Every change goes through an atomic read-modify-write (`update_*` with a pure function
that returns the new record or raises a SkirmishError to change nothing), so the domain
rules live once, above the store, and race-free on every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from skirmish.base.store.records import LobbyRecord, MatchRecord, PlayerRecord, TicketRecord

R = TypeVar("R")
Mutation = Callable[[R], R]


@dataclass(frozen=True, slots=True)
class RatingChange:
    """What a finished match adds to its players' ratings in one mode (`start`: the rating
    of a player who has none yet)."""

    mode: str
    deltas: Mapping[str, float]
    start: float


def finishes(before: MatchRecord, after: MatchRecord) -> bool:
    """This write is the one that ended the match (not a retry of an end already stored)."""
    return before.status != "finished" and after.status == "finished"


def revised(before: LobbyRecord, after: LobbyRecord) -> LobbyRecord:
    """`after` as a store writes it: one revision past `before` if it changed anything."""
    if after == before:
        return after
    return after.model_copy(update={"revision": before.revision + 1})


class Store(Protocol):
    async def close(self) -> None: ...

    # players
    async def add_player(self, player: PlayerRecord) -> None: ...
    async def get_player(self, player_id: str) -> PlayerRecord | None: ...

    # matchmaking tickets
    async def add_ticket(self, ticket: TicketRecord) -> None:
        """Raises Conflict if the player already has a searching ticket."""
        ...

    async def get_ticket(self, ticket_id: str) -> TicketRecord | None: ...
    async def update_ticket(
        self, ticket_id: str, change: Mutation[TicketRecord]
    ) -> TicketRecord: ...
    async def searching_tickets(self) -> list[TicketRecord]: ...
    async def match_tickets(self, ticket_ids: Iterable[str], match: MatchRecord) -> bool:
        """Atomically: if every ticket is still searching, mark them matched to `match` and
        add the match; otherwise change nothing and return False."""
        ...

    # lobbies
    async def add_lobby(self, lobby: LobbyRecord) -> None:
        """Raises AlreadyInLobby if its host is in another open lobby, and CodeTaken if
        it is private and another open lobby holds its code."""
        ...

    async def get_lobby(self, lobby_id: str) -> LobbyRecord | None: ...
    async def open_lobbies(self) -> list[LobbyRecord]: ...
    async def update_lobby(self, lobby_id: str, change: Mutation[LobbyRecord]) -> LobbyRecord:
        """A write that changes the lobby bumps its `revision`; one that changes nothing
        keeps it. A private lobby's code is held while the lobby is open, and released
        (free for another lobby) once it is not."""
        ...

    async def lobby_by_code(self, code: str) -> LobbyRecord | None:
        """The open private lobby holding this join code, if any. Codes expire with their
        lobby."""
        ...

    # matches
    async def add_match(self, match: MatchRecord) -> None:
        """Raises Conflict if a match with that id exists."""
        ...

    async def get_match(self, match_id: str) -> MatchRecord | None: ...
    async def update_match(self, match_id: str, change: Mutation[MatchRecord]) -> MatchRecord: ...
    async def finish_match(
        self, match_id: str, change: Mutation[MatchRecord], ratings: RatingChange
    ) -> MatchRecord:
        """`update_match`, and in the same atomic write, if this change is the one that
        finishes the match, the rating increments: a result is never stored without its
        ratings, a retry never counts them twice, and two matches of one player ending
        together both count."""
        ...

    async def waiting_matches(self, created_before: float, limit: int) -> list[MatchRecord]:
        """Matches still `waiting` created at or before `created_before`, oldest first."""
        ...

    # checkpoints of running matches (failover, drain): the latest one per match
    async def save_checkpoint(
        self,
        match_id: str,
        checkpoint: dict[str, Any],
        epoch: int,
        inputs: Sequence[list[Any]] = (),
    ) -> bool:
        """Keep this checkpoint, and append `inputs` (those applied since the last one) to
        the match's input record in the same step, unless a checkpoint of a later lease
        epoch was saved: a pod that lost the match (paused, partitioned) is fenced out.
        False when refused (nothing is written)."""
        ...

    async def get_checkpoint(self, match_id: str) -> dict[str, Any] | None: ...
    async def drop_checkpoint(self, match_id: str) -> None: ...

    # replays of finished matches: a header, and the input record the checkpoints wrote
    async def save_replay(
        self, match_id: str, replay: dict[str, Any], inputs: Sequence[list[Any]] = ()
    ) -> None:
        """Append the record's last `inputs` and keep the replay for the retention."""
        ...

    async def get_replay(self, match_id: str) -> dict[str, Any] | None:
        """The header with the whole input record as `inputs`; None if none was kept."""
        ...

    async def has_replay(self, match_id: str) -> bool:
        """Whether a replay is kept, without reading its record."""
        ...

    async def drop_inputs(self, match_id: str) -> None:
        """Forget a match's input record (a match that keeps no replay)."""
        ...

    # ratings, per mode
    async def get_ratings(self, mode: str, player_ids: Iterable[str]) -> dict[str, float]: ...
    async def set_ratings(self, mode: str, ratings: Mapping[str, float]) -> None: ...
