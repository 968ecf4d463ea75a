"""The embedded store: plain dicts in one process.

Atomicity is free here: no method awaits between its read and its write, so on one event
loop nothing can interleave.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from skirmish.errors import Conflict, NotFound
from skirmish.store.protocols import Mutation
from skirmish.store.records import LobbyRecord, MatchRecord, PlayerRecord, TicketRecord

R = TypeVar("R")
MAX_REPLAYS = 100  # the embedded store keeps the most recent ones only


def _update(table: dict[str, R], key: str, change: Mutation[R], what: str) -> R:
    current = table.get(key)
    if current is None:
        raise NotFound(f"{what} {key} not found")
    table[key] = updated = change(current)
    return updated


class MemoryStore:
    def __init__(self) -> None:
        self._players: dict[str, PlayerRecord] = {}
        self._tickets: dict[str, TicketRecord] = {}
        self._searching_by_player: dict[str, str] = {}
        self._lobbies: dict[str, LobbyRecord] = {}
        self._matches: dict[str, MatchRecord] = {}
        self._ratings: dict[tuple[str, str], float] = {}
        self._replays: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._checkpoints: dict[str, dict[str, Any]] = {}
        self._checkpoint_epochs: dict[str, int] = {}

    async def close(self) -> None:
        return None

    async def add_player(self, player: PlayerRecord) -> None:
        self._players[player.id] = player

    async def get_player(self, player_id: str) -> PlayerRecord | None:
        return self._players.get(player_id)

    async def add_ticket(self, ticket: TicketRecord) -> None:
        if ticket.player_id in self._searching_by_player:
            raise Conflict("player already has a searching ticket")
        self._tickets[ticket.id] = ticket
        self._searching_by_player[ticket.player_id] = ticket.id

    async def get_ticket(self, ticket_id: str) -> TicketRecord | None:
        return self._tickets.get(ticket_id)

    async def update_ticket(self, ticket_id: str, change: Mutation[TicketRecord]) -> TicketRecord:
        ticket = _update(self._tickets, ticket_id, change, "ticket")
        # Only unlist this very ticket: the player may be searching with a newer one.
        if (
            ticket.status != "searching"
            and self._searching_by_player.get(ticket.player_id) == ticket.id
        ):
            del self._searching_by_player[ticket.player_id]
        return ticket

    async def searching_tickets(self) -> list[TicketRecord]:
        return [self._tickets[t] for t in self._searching_by_player.values()]

    async def match_tickets(self, ticket_ids: Iterable[str], match: MatchRecord) -> bool:
        tickets = [self._tickets.get(t) for t in ticket_ids]
        if match.id in self._matches or any(t is None or t.status != "searching" for t in tickets):
            return False
        for ticket in tickets:
            assert ticket is not None
            claimed = ticket.model_copy(update={"status": "matched", "match_id": match.id})
            self._tickets[ticket.id] = claimed
            self._searching_by_player.pop(ticket.player_id, None)
        self._matches[match.id] = match
        return True

    async def add_lobby(self, lobby: LobbyRecord) -> None:
        self._lobbies[lobby.id] = lobby

    async def get_lobby(self, lobby_id: str) -> LobbyRecord | None:
        return self._lobbies.get(lobby_id)

    async def open_lobbies(self) -> list[LobbyRecord]:
        return [lobby for lobby in self._lobbies.values() if lobby.status == "open"]

    async def update_lobby(self, lobby_id: str, change: Mutation[LobbyRecord]) -> LobbyRecord:
        return _update(self._lobbies, lobby_id, change, "lobby")

    async def add_match(self, match: MatchRecord) -> None:
        if match.id in self._matches:
            raise Conflict(f"match {match.id} exists")
        self._matches[match.id] = match

    async def get_match(self, match_id: str) -> MatchRecord | None:
        return self._matches.get(match_id)

    async def waiting_matches(self, created_before: float, limit: int) -> list[MatchRecord]:
        old = [
            m
            for m in self._matches.values()
            if m.status == "waiting" and m.created_at <= created_before
        ]
        return sorted(old, key=lambda m: m.created_at)[:limit]

    async def update_match(self, match_id: str, change: Mutation[MatchRecord]) -> MatchRecord:
        return _update(self._matches, match_id, change, "match")

    async def save_checkpoint(self, match_id: str, checkpoint: dict[str, Any], epoch: int) -> bool:
        if epoch < self._checkpoint_epochs.get(match_id, 0):
            return False
        self._checkpoint_epochs[match_id] = epoch
        self._checkpoints[match_id] = checkpoint
        return True

    async def get_checkpoint(self, match_id: str) -> dict[str, Any] | None:
        return self._checkpoints.get(match_id)

    async def drop_checkpoint(self, match_id: str) -> None:
        self._checkpoints.pop(match_id, None)
        self._checkpoint_epochs.pop(match_id, None)

    async def save_replay(self, match_id: str, replay: dict[str, Any]) -> None:
        self._replays[match_id] = replay
        while len(self._replays) > MAX_REPLAYS:
            self._replays.popitem(last=False)

    async def get_replay(self, match_id: str) -> dict[str, Any] | None:
        return self._replays.get(match_id)

    async def get_ratings(self, mode: str, player_ids: Iterable[str]) -> dict[str, float]:
        return {p: self._ratings[(mode, p)] for p in player_ids if (mode, p) in self._ratings}

    async def set_ratings(self, mode: str, ratings: Mapping[str, float]) -> None:
        for player_id, rating in ratings.items():
            self._ratings[(mode, player_id)] = rating

    async def add_to_ratings(
        self, mode: str, deltas: Mapping[str, float], start: float
    ) -> dict[str, float]:
        for player_id, delta in deltas.items():
            key = (mode, player_id)
            self._ratings[key] = self._ratings.get(key, start) + delta
        return {p: self._ratings[(mode, p)] for p in deltas}
