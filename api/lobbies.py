"""Lobbies: players gather, get ready, and the host starts a match.

Each change is a pure function of the lobby handed to the store's atomic update, so a full
lobby can never take one more player, whatever the races. Each change that changed
something is then pushed to the members' lobby sockets (`services.push`, the realtime
side's lobby rooms). A private lobby is never listed, exists only for its members, and is
joined with its code (POST /v1/lobbies/join).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable

from api.routing import Context, endpoint
from api.schemas import (
    JoinCodeIn,
    LobbiesOut,
    LobbiesQuery,
    LobbyIn,
    LobbyOut,
    ReadyIn,
    SettingsIn,
)
from api.services import PodServices
from api.views import lobby_out
from game.matchmaking import Ticket, seat_teams
from game.ratings import DEFAULT_RATING, rating_pool
from skirmish.base import mode_settings
from skirmish.base.errors import CodeTaken, Conflict, Forbidden, NotFound, SkirmishError
from skirmish.base.store.records import LobbyMember, LobbyRecord, MatchPlayer, MatchRecord, new_id

# Join codes: no letters or digits that read alike (I 1 L, O 0), 31^6 ≈ 887 million codes.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
CODE_ATTEMPTS = 8  # codes drawn before giving up (another open lobby holds each one)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def require_visible(lobby: LobbyRecord, player_id: str) -> None:
    """A private lobby does not exist for anyone but its members."""
    if lobby.private and lobby.member(player_id) is None:
        raise NotFound("lobby not found")


async def existing(ctx: Context) -> LobbyRecord:
    lobby = await ctx.services.store.get_lobby(ctx.params["lobby_id"])
    if lobby is None:
        raise NotFound("lobby not found")
    require_visible(lobby, ctx.me.player_id)
    return lobby


def require_open(lobby: LobbyRecord) -> None:
    if lobby.status != "open":
        raise Conflict(f"lobby is {lobby.status}")


def require_member(lobby: LobbyRecord, player_id: str) -> None:
    if lobby.member(player_id) is None:
        raise Forbidden("you are not in this lobby")


@endpoint(
    "POST",
    "/v1/lobbies",
    body=LobbyIn,
    response=LobbyOut,
    status=201,
    errors=(400, 404, 409),
)
async def create_lobby(ctx: Context, body: LobbyIn) -> LobbyOut:
    """Create a lobby; the caller becomes its host and first member (409 `already_in_lobby`
    while the caller is in another open lobby: a player gathers in one at a time; 422
    `invalid_settings` if the mode refuses the settings). A private one gets a join code."""
    mode = ctx.services.modes.get(body.mode)
    if mode is None:
        raise NotFound(f"unknown mode {body.mode!r}; see GET /v1/modes")
    if not mode.min_players <= body.max_players <= mode.max_players:
        raise SkirmishError(
            f"max_players must be within [{mode.min_players}, {mode.max_players}] for {mode.name}"
        )
    lobby = LobbyRecord(
        id=new_id("l"),
        name=body.name,
        mode=body.mode,
        settings=mode_settings.resolve(mode, body.settings),
        host_id=ctx.me.player_id,
        max_players=body.max_players,
        members=(LobbyMember(player_id=ctx.me.player_id, name=ctx.me.name),),
        created_at=ctx.services.clock(),
        spectators=body.spectators,
    )
    lobby = await add_lobby(ctx.services, lobby, body.private)
    return lobby_out(ctx.services, lobby, ctx.me.player_id)


async def add_lobby(services: PodServices, lobby: LobbyRecord, private: bool) -> LobbyRecord:
    """Store a new lobby; a private one with a code no other open lobby holds."""
    if not private:
        await services.store.add_lobby(lobby)
        return lobby
    for _ in range(CODE_ATTEMPTS):
        coded = lobby.model_copy(update={"code": new_code()})
        try:
            await services.store.add_lobby(coded)
        except CodeTaken:
            continue
        return coded
    raise Conflict("no free join code found; try again")


@endpoint("GET", "/v1/lobbies", response=LobbiesOut, query=LobbiesQuery, errors=(404,))
async def list_lobbies(ctx: Context) -> LobbiesOut:
    """Open lobbies, oldest first, a page at a time."""
    query: LobbiesQuery = ctx.query
    listed = [lb for lb in await ctx.services.store.open_lobbies() if not lb.private]
    lobbies = sorted(listed, key=_position)
    if query.after is not None:
        last = await ctx.services.store.get_lobby(query.after)
        if last is None or last.private:
            raise NotFound("after: no such lobby (pass the `next` of the previous page)")
        lobbies = [lb for lb in lobbies if _position(lb) > _position(last)]
    page = lobbies[: query.limit]
    more = len(lobbies) > query.limit
    return LobbiesOut(
        lobbies=[lobby_out(ctx.services, lb, ctx.me.player_id) for lb in page],
        next=page[-1].id if more else None,
    )


def _position(lobby: LobbyRecord) -> tuple[float, str]:
    """Oldest first; the id breaks ties, so that pages neither skip nor repeat a lobby."""
    return lobby.created_at, lobby.id


@endpoint("GET", "/v1/lobbies/{lobby_id}", response=LobbyOut, errors=(404,))
async def get_lobby(ctx: Context) -> LobbyOut:
    """One lobby; once started, members get their match access in `match`."""
    return lobby_out(ctx.services, await existing(ctx), ctx.me.player_id)


Transition = Callable[[LobbyRecord], LobbyRecord]


async def changed(ctx: Context, lobby_id: str, transition: Transition) -> tuple[LobbyRecord, bool]:
    """Apply `transition` atomically; and whether it changed the lobby (the store bumped
    its revision): the caller then pushes the change to the lobby's sockets."""
    seen: list[int] = []

    def tracked(current: LobbyRecord) -> LobbyRecord:
        seen.append(current.revision)  # (the store may try more than once)
        return transition(current)

    lobby = await ctx.services.store.update_lobby(lobby_id, tracked)
    return lobby, lobby.revision != seen[-1]


async def change(ctx: Context, transition: Transition, event: str) -> LobbyOut:
    lobby, is_new = await changed(ctx, ctx.params["lobby_id"], transition)
    if is_new:
        await ctx.services.push.lobby_changed(event, lobby)
    return lobby_out(ctx.services, lobby, ctx.me.player_id)


def joiner(me: LobbyMember, by_code: bool) -> Transition:
    def join(lobby: LobbyRecord) -> LobbyRecord:
        if not by_code:
            require_visible(lobby, me.player_id)
        require_open(lobby)
        if lobby.member(me.player_id):
            return lobby
        if len(lobby.members) >= lobby.max_players:
            raise Conflict("lobby is full")
        return lobby.model_copy(update={"members": (*lobby.members, me)})

    return join


@endpoint("POST", "/v1/lobbies/{lobby_id}/join", response=LobbyOut, errors=(404, 409))
async def join_lobby(ctx: Context) -> LobbyOut:
    """Join an open lobby (joining twice is harmless; 409 `already_in_lobby` while in
    another open one). A private lobby is joined with its code instead."""
    me = LobbyMember(player_id=ctx.me.player_id, name=ctx.me.name)
    return await change(ctx, joiner(me, by_code=False), "joined")


@endpoint("POST", "/v1/lobbies/join", body=JoinCodeIn, response=LobbyOut, errors=(404, 409))
async def join_by_code(ctx: Context, body: JoinCodeIn) -> LobbyOut:
    """Join a private lobby with its code (404 if no open lobby holds it; otherwise as a
    join by id)."""
    found = await ctx.services.store.lobby_by_code(body.code.upper())
    if found is None:
        raise NotFound("no open lobby has this code")
    me = LobbyMember(player_id=ctx.me.player_id, name=ctx.me.name)
    lobby, is_new = await changed(ctx, found.id, joiner(me, by_code=True))
    if is_new:
        await ctx.services.push.lobby_changed("joined", lobby)
    return lobby_out(ctx.services, lobby, ctx.me.player_id)


@endpoint("POST", "/v1/lobbies/{lobby_id}/leave", response=LobbyOut, errors=(403, 404, 409))
async def leave_lobby(ctx: Context) -> LobbyOut:
    """Leave; the host role passes on, and the last one out closes the lobby."""
    player_id = ctx.me.player_id

    def leave(lobby: LobbyRecord) -> LobbyRecord:
        require_visible(lobby, player_id)
        require_open(lobby)
        require_member(lobby, player_id)
        members = tuple(m for m in lobby.members if m.player_id != player_id)
        if not members:
            return lobby.model_copy(update={"members": members, "status": "closed"})
        host = lobby.host_id if lobby.host_id != player_id else members[0].player_id
        return lobby.model_copy(update={"members": members, "host_id": host})

    lobby, is_new = await changed(ctx, ctx.params["lobby_id"], leave)
    if is_new:
        await ctx.services.push.lobby_changed("left" if lobby.members else "closed", lobby)
    return lobby_out(ctx.services, lobby, player_id)


@endpoint(
    "POST",
    "/v1/lobbies/{lobby_id}/ready",
    body=ReadyIn,
    response=LobbyOut,
    errors=(403, 404, 409),
)
async def set_ready(ctx: Context, body: ReadyIn) -> LobbyOut:
    """Mark yourself ready (or not)."""
    player_id = ctx.me.player_id

    def ready(lobby: LobbyRecord) -> LobbyRecord:
        require_visible(lobby, player_id)
        require_open(lobby)
        require_member(lobby, player_id)
        members = tuple(
            m.model_copy(update={"ready": body.ready}) if m.player_id == player_id else m
            for m in lobby.members
        )
        return lobby.model_copy(update={"members": members})

    return await change(ctx, ready, "ready")


@endpoint(
    "POST",
    "/v1/lobbies/{lobby_id}/settings",
    body=SettingsIn,
    response=LobbyOut,
    errors=(403, 404, 409),
)
async def change_settings(ctx: Context, body: SettingsIn) -> LobbyOut:
    """Change the match settings (host only, while open; 422 `invalid_settings` if the mode
    refuses them). Everyone's ready mark is cleared: they agreed to other terms."""
    lobby = await existing(ctx)
    mode = ctx.services.modes.get(lobby.mode)
    if mode is None:
        raise NotFound(f"mode {lobby.mode!r} is not played on this server")
    settings = mode_settings.resolve(mode, body.settings)
    player_id = ctx.me.player_id

    def choose(current: LobbyRecord) -> LobbyRecord:
        require_open(current)
        if current.host_id != player_id:
            raise Forbidden("only the host can change the settings")
        if current.settings == settings:
            return current
        members = tuple(m.model_copy(update={"ready": False}) for m in current.members)
        return current.model_copy(update={"settings": settings, "members": members})

    return await change(ctx, choose, "settings")


@endpoint("POST", "/v1/lobbies/{lobby_id}/start", response=LobbyOut, errors=(403, 404, 409))
async def start_lobby(ctx: Context) -> LobbyOut:
    """Start the match (host only; everyone ready; enough players)."""
    services = ctx.services
    player_id = ctx.me.player_id
    lobby_id = ctx.params["lobby_id"]
    # A lobby starts once, so its match id derives from the lobby id: two racing starts
    # cannot create two matches, and a retry after a crash finds the same match.
    match_id = "m_" + lobby_id.removeprefix("l_")

    def start(current: LobbyRecord) -> LobbyRecord:
        require_visible(current, player_id)
        if current.status == "started" and current.match_id == match_id:
            if current.host_id != player_id:
                raise Forbidden("only the host can start the lobby")
            return current  # a retry: make sure the match exists, below
        mode = services.modes.get(current.mode)
        if mode is None:
            raise NotFound(f"mode {current.mode!r} is not played on this server")
        check_startable(current, player_id, mode.min_players, mode.teams)
        return current.model_copy(update={"status": "started", "match_id": match_id})

    # The lobby flips first (atomically, rules re-checked against the current lobby); the
    # match is written from the very members that flip saw, then the members are told.
    lobby, _ = await changed(ctx, lobby_id, start)
    match = MatchRecord(
        id=match_id,
        mode=lobby.mode,
        settings=lobby.settings,
        seed=secrets.randbits(63),
        players=await seated(services, lobby),
        created_at=services.clock(),
        **MatchRecord.watched_by(lobby.spectators),
    )
    with contextlib.suppress(Conflict):  # written already by an earlier, interrupted start
        await services.store.add_match(match)
    # Told again on a retry (sockets take no lobby they have): the start that was
    # interrupted may have been so before its members were told.
    await services.push.lobby_changed("started", lobby)
    return lobby_out(services, lobby, player_id)


async def seated(services: PodServices, lobby: LobbyRecord) -> tuple[MatchPlayer, ...]:
    """The members in slot order: join order, or for a team mode teams balanced by rating."""
    mode = services.modes[lobby.mode]
    teams, ids = mode.teams, [m.player_id for m in lobby.members]
    pool = rating_pool(mode.name, teams, len(ids), mode.max_players)
    ratings = await services.store.get_ratings(pool, ids) if teams >= 2 else {}
    tickets = [Ticket(p, p, lobby.mode, ratings.get(p, DEFAULT_RATING), 0.0) for p in ids]
    names = {m.player_id: m.name for m in lobby.members}
    order = [t.player_id for t in seat_teams(tickets, teams)]
    return tuple(MatchPlayer(player_id=p, name=names[p], slot=s) for s, p in enumerate(order))


def check_startable(lobby: LobbyRecord, player_id: str, min_players: int, teams: int) -> None:
    require_open(lobby)
    if lobby.host_id != player_id:
        raise Forbidden("only the host can start the lobby")
    if len(lobby.members) < min_players:
        raise Conflict(f"need at least {min_players} players")
    if teams >= 2 and len(lobby.members) % teams:
        raise Conflict(f"need a multiple of {teams} players: the teams must be equal")
    waiting = [m.name for m in lobby.members if not m.ready]
    if waiting:
        raise Conflict(f"not ready: {', '.join(waiting)}")
