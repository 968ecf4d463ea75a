"""Records and pure changes for the store tests, shaped like the ones the API makes."""

from __future__ import annotations

from collections.abc import Callable

from skirmish.base.errors import Conflict
from skirmish.base.store.records import (
    LobbyMember,
    LobbyRecord,
    MatchPlayer,
    MatchRecord,
    TicketRecord,
    new_id,
)

# Full float precision on purpose: a backend that rounds would be caught.
NOW = 1_712_345_678.123456


def ticket(player_id: str | None = None, rating: float = 1012.3456789) -> TicketRecord:
    return TicketRecord(
        id=new_id("t"),
        player_id=player_id or new_id("p"),
        mode="arena",
        rating=rating,
        created_at=NOW,
    )


def match(ticket_ids: list[str] | None = None, match_id: str | None = None) -> MatchRecord:
    players = tuple(
        MatchPlayer(player_id=f"p{slot}", name=f"player {slot}", slot=slot)
        for slot in range(len(ticket_ids or ["a", "b"]))
    )
    return MatchRecord(
        id=match_id or new_id("m"), mode="arena", seed=2**62 + 7, players=players, created_at=NOW
    )


def lobby(max_players: int = 4, host: str | None = None, code: str | None = None) -> LobbyRecord:
    host = host or new_id("p")  # a player is in one open lobby at a time
    return LobbyRecord(
        id=new_id("l"),
        name="friday night",
        mode="arena",
        host_id=host,
        max_players=max_players,
        members=(LobbyMember(player_id=host, name="Host"),),
        created_at=NOW,
        code=code,
    )


def cancel(current: TicketRecord) -> TicketRecord:
    """As the API cancels: idempotent, and too late once matched."""
    if current.status == "cancelled":
        return current
    if current.status != "searching":
        raise Conflict(f"ticket is already {current.status}")
    return current.model_copy(update={"status": "cancelled"})


def joiner(player_id: str) -> Callable[[LobbyRecord], LobbyRecord]:
    """The lobby join of api/lobbies.py."""

    def join(current: LobbyRecord) -> LobbyRecord:
        if current.status != "open":
            raise Conflict(f"lobby is {current.status}")
        if current.member(player_id):
            return current
        if len(current.members) >= current.max_players:
            raise Conflict("lobby is full")
        member = LobbyMember(player_id=player_id, name=player_id)
        return current.model_copy(update={"members": (*current.members, member)})

    return join


def leaver(player_id: str) -> Callable[[LobbyRecord], LobbyRecord]:
    """The lobby leave of api/lobbies.py: the last one out closes it."""

    def leave(current: LobbyRecord) -> LobbyRecord:
        members = tuple(m for m in current.members if m.player_id != player_id)
        status = current.status if members else "closed"
        return current.model_copy(update={"members": members, "status": status})

    return leave
