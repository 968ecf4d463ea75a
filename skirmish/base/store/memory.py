"""The embedded store: plain dicts in one process.

Atomicity is free here: no method awaits between its read and its write, so on one event
loop nothing can interleave. Records expire as their Redis keys do (skirmish/base/store/ttl.py,
the ticket and lobby TTLs of the settings), so a long-running embedded server holds what
is live, not everything it ever saw: expired records read as absent at once and are swept
out of memory at most a minute later.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from skirmish.base.errors import AlreadyInLobby, CodeTaken, Conflict, NotFound
from skirmish.base.store.protocols import Mutation, RatingChange, finishes, revised
from skirmish.base.store.records import LobbyRecord, MatchRecord, PlayerRecord, TicketRecord
from skirmish.base.store.ttl import ACTIVE_MATCH_TTL, FINISHED_MATCH_TTL, PLAYER_TTL, match_ttl

K = TypeVar("K")
R = TypeVar("R")
MAX_REPLAYS = 100  # the embedded store keeps the most recent ones only
SWEEP_SECONDS = 60.0


class Expiring(Generic[K, R]):
    """A table whose entries vanish `ttl` seconds after their last write, as Redis keys do."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._items: dict[K, tuple[R, float]] = {}

    def get(self, key: K) -> R | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] <= self._clock():
            del self._items[key]
            return None
        return item[0]

    def put(self, key: K, value: R, ttl: float) -> None:
        self._items[key] = (value, self._clock() + ttl)

    def pop(self, key: K) -> None:
        self._items.pop(key, None)

    def __contains__(self, key: K) -> bool:
        return self.get(key) is not None

    def values(self) -> list[R]:
        now = self._clock()
        return [value for value, deadline in self._items.values() if deadline > now]

    def sweep(self) -> None:
        now = self._clock()
        for key in [k for k, (_, deadline) in self._items.items() if deadline <= now]:
            del self._items[key]

    def __len__(self) -> int:
        return len(self._items)

    def keep_newest(self, count: int) -> None:
        """Forget the entries written longest ago, past `count`."""
        while len(self._items) > count:
            del self._items[next(iter(self._items))]


def _update(
    table: Expiring[str, R], key: str, change: Mutation[R], what: str, ttl: Callable[[R], float]
) -> R:
    current = table.get(key)
    if current is None:
        raise NotFound(f"{what} {key} not found")
    updated = change(current)
    table.put(key, updated, ttl(updated))
    return updated


class MemoryStore:
    def __init__(
        self,
        *,
        ticket_ttl: float = 3600.0,
        lobby_ttl: float = 3600.0,
        player_ttl: float = PLAYER_TTL,
        replay_ttl: float = FINISHED_MATCH_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._ticket_ttl = ticket_ttl
        self._lobby_ttl = lobby_ttl
        self._player_ttl = player_ttl
        self._replay_ttl = replay_ttl
        self._players: Expiring[str, PlayerRecord] = Expiring(clock)
        self._tickets: Expiring[str, TicketRecord] = Expiring(clock)
        self._searching_by_player: dict[str, str] = {}
        self._lobbies: Expiring[str, LobbyRecord] = Expiring(clock)
        self._codes: Expiring[str, str] = Expiring(clock)  # an open private lobby's code → id
        self._matches: Expiring[str, MatchRecord] = Expiring(clock)
        self._ratings: dict[tuple[str, str], float] = {}  # kept, as in Redis
        self._replays: Expiring[str, dict[str, Any]] = Expiring(clock)
        self._inputs: Expiring[str, list[list[Any]]] = Expiring(clock)  # a running match's
        self._checkpoints: Expiring[str, tuple[int, dict[str, Any]]] = Expiring(clock)
        self._swept_at = clock()

    def _sweep_now_and_then(self) -> None:
        """On writes, at most once a minute: drop what expired unread."""
        now = self._clock()
        if now - self._swept_at < SWEEP_SECONDS:
            return
        self._swept_at = now
        tables = (
            self._players, self._tickets, self._lobbies, self._codes, self._matches,
            self._checkpoints, self._inputs, self._replays,
        )  # fmt: skip
        for table in tables:
            table.sweep()
        for player_id, ticket_id in list(self._searching_by_player.items()):
            if ticket_id not in self._tickets:
                del self._searching_by_player[player_id]

    def sizes(self) -> dict[str, int]:
        """Records held in memory per kind, expired ones not yet swept included."""
        tables: dict[str, Any] = {
            "players": self._players,
            "tickets": self._tickets,
            "lobbies": self._lobbies,
            "codes": self._codes,
            "matches": self._matches,
            "checkpoints": self._checkpoints,
            "replays": self._replays,
            "inputs": self._inputs,
            "searching": self._searching_by_player,
        }
        return {name: len(table) for name, table in tables.items()}

    def _ticket_ttl_of(self, ticket: TicketRecord) -> float:
        return self._ticket_ttl

    def _lobby_ttl_of(self, lobby: LobbyRecord) -> float:
        return self._lobby_ttl

    async def close(self) -> None:
        return None

    async def add_player(self, player: PlayerRecord) -> None:
        self._sweep_now_and_then()
        self._players.put(player.id, player, self._player_ttl)

    async def get_player(self, player_id: str) -> PlayerRecord | None:
        return self._players.get(player_id)

    async def add_ticket(self, ticket: TicketRecord) -> None:
        self._sweep_now_and_then()
        searching = self._searching_by_player.get(ticket.player_id)
        if searching is not None and searching in self._tickets:
            raise Conflict("player already has a searching ticket")
        self._tickets.put(ticket.id, ticket, self._ticket_ttl)
        self._searching_by_player[ticket.player_id] = ticket.id

    async def get_ticket(self, ticket_id: str) -> TicketRecord | None:
        return self._tickets.get(ticket_id)

    async def update_ticket(self, ticket_id: str, change: Mutation[TicketRecord]) -> TicketRecord:
        ticket = _update(self._tickets, ticket_id, change, "ticket", self._ticket_ttl_of)
        # Only unlist this very ticket: the player may be searching with a newer one.
        if (
            ticket.status != "searching"
            and self._searching_by_player.get(ticket.player_id) == ticket.id
        ):
            del self._searching_by_player[ticket.player_id]
        return ticket

    async def searching_tickets(self) -> list[TicketRecord]:
        tickets = (self._tickets.get(t) for t in self._searching_by_player.values())
        return [ticket for ticket in tickets if ticket is not None]

    async def match_tickets(self, ticket_ids: Iterable[str], match: MatchRecord) -> bool:
        tickets = [self._tickets.get(t) for t in ticket_ids]
        if match.id in self._matches or any(t is None or t.status != "searching" for t in tickets):
            return False
        for ticket in tickets:
            assert ticket is not None
            claimed = ticket.model_copy(update={"status": "matched", "match_id": match.id})
            self._tickets.put(ticket.id, claimed, self._ticket_ttl)
            self._searching_by_player.pop(ticket.player_id, None)
        self._matches.put(match.id, match, match_ttl(match))
        return True

    async def add_lobby(self, lobby: LobbyRecord) -> None:
        self._sweep_now_and_then()
        self._require_elsewhere_free(lobby.gathering, lobby.id)
        if lobby.code is not None and lobby.status == "open":
            if lobby.code in self._codes:
                raise CodeTaken(f"code {lobby.code} is held by another open lobby")
            self._codes.put(lobby.code, lobby.id, self._lobby_ttl)
        self._lobbies.put(lobby.id, lobby, self._lobby_ttl)

    async def get_lobby(self, lobby_id: str) -> LobbyRecord | None:
        return self._lobbies.get(lobby_id)

    async def open_lobbies(self) -> list[LobbyRecord]:
        return [lobby for lobby in self._lobbies.values() if lobby.status == "open"]

    async def update_lobby(self, lobby_id: str, change: Mutation[LobbyRecord]) -> LobbyRecord:
        def guarded(current: LobbyRecord) -> LobbyRecord:
            updated = revised(current, change(current))
            self._require_elsewhere_free(updated.gathering - current.gathering, lobby_id)
            return updated

        lobby = _update(self._lobbies, lobby_id, guarded, "lobby", self._lobby_ttl_of)
        if lobby.code is not None and self._codes.get(lobby.code) == lobby.id:
            if lobby.status == "open":  # held as long as the lobby lives
                self._codes.put(lobby.code, lobby.id, self._lobby_ttl)
            else:  # free for another lobby
                self._codes.pop(lobby.code)
        return lobby

    async def lobby_by_code(self, code: str) -> LobbyRecord | None:
        lobby_id = self._codes.get(code)
        lobby = None if lobby_id is None else self._lobbies.get(lobby_id)
        if lobby is None or lobby.status != "open" or lobby.code != code:
            return None
        return lobby

    def _require_elsewhere_free(self, players: frozenset[str], lobby_id: str) -> None:
        if not players:
            return
        for lobby in self._lobbies.values():
            taken = players & lobby.gathering
            if taken and lobby.id != lobby_id:
                raise AlreadyInLobby(f"player {min(taken)} is in lobby {lobby.id}; leave it first")

    async def add_match(self, match: MatchRecord) -> None:
        self._sweep_now_and_then()
        if match.id in self._matches:
            raise Conflict(f"match {match.id} exists")
        self._matches.put(match.id, match, match_ttl(match))

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
        return _update(self._matches, match_id, change, "match", match_ttl)

    async def finish_match(
        self, match_id: str, change: Mutation[MatchRecord], ratings: RatingChange
    ) -> MatchRecord:
        before = self._matches.get(match_id)
        updated = _update(self._matches, match_id, change, "match", match_ttl)
        if before is not None and finishes(before, updated):  # (no await: one atomic step)
            for player_id, delta in ratings.deltas.items():
                key = (ratings.mode, player_id)
                self._ratings[key] = self._ratings.get(key, ratings.start) + delta
        return updated

    async def save_checkpoint(
        self,
        match_id: str,
        checkpoint: dict[str, Any],
        epoch: int,
        inputs: Sequence[list[Any]] = (),
    ) -> bool:
        current = self._checkpoints.get(match_id)
        if current is not None and epoch < current[0]:
            return False
        self._checkpoints.put(match_id, (epoch, checkpoint), ACTIVE_MATCH_TTL)
        record = self._inputs.get(match_id) or []
        record.extend(list(entry) for entry in inputs)
        self._inputs.put(match_id, record, ACTIVE_MATCH_TTL)
        return True

    async def get_checkpoint(self, match_id: str) -> dict[str, Any] | None:
        current = self._checkpoints.get(match_id)
        return None if current is None else current[1]

    async def drop_checkpoint(self, match_id: str) -> None:
        self._checkpoints.pop(match_id)

    async def save_replay(
        self, match_id: str, replay: dict[str, Any], inputs: Sequence[list[Any]] = ()
    ) -> None:
        record = self._inputs.get(match_id) or []
        self._inputs.pop(match_id)
        record.extend(list(entry) for entry in inputs)
        self._replays.put(match_id, {**replay, "inputs": record}, self._replay_ttl)
        self._replays.keep_newest(MAX_REPLAYS)

    async def has_replay(self, match_id: str) -> bool:
        return self._replays.get(match_id) is not None

    async def get_replay(self, match_id: str) -> dict[str, Any] | None:
        replay = self._replays.get(match_id)
        return None if replay is None else {**replay, "inputs": list(replay["inputs"])}

    async def drop_inputs(self, match_id: str) -> None:
        self._inputs.pop(match_id)

    async def get_ratings(self, mode: str, player_ids: Iterable[str]) -> dict[str, float]:
        return {p: self._ratings[(mode, p)] for p in player_ids if (mode, p) in self._ratings}

    async def set_ratings(self, mode: str, ratings: Mapping[str, float]) -> None:
        for player_id, rating in ratings.items():
            self._ratings[(mode, player_id)] = rating
