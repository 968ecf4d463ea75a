"""Turning store records into response bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

from api.schemas import LobbyMemberOut, LobbyOut, MatchAccess, MatchOut, MatchPlayerOut, TicketOut
from api.services import PodServices
from skirmish.base.store.records import LobbyRecord, MatchRecord, TicketRecord


@overload
def when(timestamp: float) -> datetime: ...
@overload
def when(timestamp: float | None) -> datetime | None: ...


def when(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


def ws_path(match_id: str) -> str:
    return f"/ws/matches/{match_id}"


def match_access(services: PodServices, player_id: str, match_id: str) -> MatchAccess:
    issued = services.tokens.issue_match(player_id, match_id)
    return MatchAccess(
        match_id=match_id,
        ws_path=ws_path(match_id),
        token=issued.token,
        expires_at=when(issued.expires_at),
    )


def ticket_out(services: PodServices, ticket: TicketRecord) -> TicketOut:
    access = None
    if ticket.status == "matched" and ticket.match_id:
        access = match_access(services, ticket.player_id, ticket.match_id)
    return TicketOut(
        id=ticket.id,
        player_id=ticket.player_id,
        mode=ticket.mode,
        settings=ticket.settings,
        status=ticket.status,
        created_at=when(ticket.created_at),
        match=access,
    )


def lobby_out(services: PodServices, lobby: LobbyRecord, viewer: str | None) -> LobbyOut:
    """The lobby as `viewer` sees it: a member gets their match access once it started,
    and a private lobby's code while it is open."""
    member = bool(viewer and lobby.member(viewer))
    access = None
    if lobby.match_id and viewer and member:
        access = match_access(services, viewer, lobby.match_id)
    return LobbyOut(
        id=lobby.id,
        name=lobby.name,
        mode=lobby.mode,
        settings=lobby.settings,
        host_id=lobby.host_id,
        max_players=lobby.max_players,
        status=lobby.status,
        members=[
            LobbyMemberOut(player_id=m.player_id, name=m.name, ready=m.ready) for m in lobby.members
        ],
        created_at=when(lobby.created_at),
        match=access,
        private=lobby.private,
        code=lobby.code if member and lobby.status == "open" else None,
        revision=lobby.revision,
        spectators=lobby.spectators,
    )


def match_out(match: MatchRecord) -> MatchOut:
    return MatchOut(
        id=match.id,
        mode=match.mode,
        settings=match.settings,
        status=match.status,
        players=[
            MatchPlayerOut(player_id=p.player_id, name=p.name, slot=p.slot) for p in match.players
        ],
        spectators=match.spectators,
        created_at=when(match.created_at),
        started_at=when(match.started_at),
        finished_at=when(match.finished_at),
        result=match.result,
    )
