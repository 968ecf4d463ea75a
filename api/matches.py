"""Match info, fresh match tokens for players who need to rejoin, and spectate tokens."""

from __future__ import annotations

import hmac

from api.routing import Context, endpoint
from api.schemas import (
    MatchAccess,
    MatchOut,
    ReplayOut,
    ReplayQuery,
    SpectateAccess,
    SpectateIn,
)
from api.views import match_access, match_out, when
from skirmish.base.errors import Conflict, Forbidden, NotFound
from skirmish.base.settings import spectator_every
from skirmish.base.store.records import MatchRecord


async def existing(ctx: Context) -> MatchRecord:
    match = await ctx.services.store.get_match(ctx.params["match_id"])
    if match is None:
        raise NotFound("match not found")
    return match


@endpoint("GET", "/v1/matches/{match_id}", response=MatchOut, errors=(404,))
async def get_match(ctx: Context) -> MatchOut:
    """A match: status, players and, once finished, the result."""
    return match_out(await existing(ctx))


@endpoint("POST", "/v1/matches/{match_id}/token", response=MatchAccess, errors=(403, 404, 409))
async def new_match_token(ctx: Context) -> MatchAccess:
    """A fresh match token for one of the match's players (to rejoin)."""
    match = await existing(ctx)
    if match.slot_of(ctx.me.player_id) is None:
        raise Forbidden("you are not a player of this match")
    if match.status == "finished":
        raise Conflict("the match is over")
    return match_access(ctx.services, ctx.me.player_id, match.id)


@endpoint(
    "POST",
    "/v1/matches/{match_id}/spectate",
    body=SpectateIn,
    response=SpectateAccess,
    errors=(403, 404, 409),
)
async def spectate(ctx: Context, body: SpectateIn) -> SpectateAccess:
    """A spectate token: watch the match live (behind a delay) or, once it is over, its
    recording. Who may is the match's `spectators` policy (403 otherwise); a `link`
    match's players get its watch `code` to share."""
    match = await existing(ctx)
    services, player_id = ctx.services, ctx.me.player_id
    player = match.slot_of(player_id) is not None
    if not player and not may_watch(match, body.code):
        raise Forbidden(WHO_MAY_WATCH[match.spectators])
    if match.status == "finished" and not await services.store.has_replay(match.id):
        raise Conflict("the match is over and no recording of it was kept")
    issued = services.tokens.issue_spectate(player_id, match.id)
    settings = services.settings
    mode = services.modes.get(match.mode)
    tick_rate = mode.tick_rate if mode is not None else settings.tick_rate
    every = spectator_every(tick_rate, settings.spectator_rate_hz)
    return SpectateAccess(
        match_id=match.id,
        ws_path=f"/ws/matches/{match.id}/spectate",
        token=issued.token,
        expires_at=when(issued.expires_at),
        live=match.status != "finished",
        delay_ms=round(settings.spectator_delay_seconds * 1000),
        rate_hz=tick_rate / every,
        code=match.watch_code if player else None,
    )


WHO_MAY_WATCH = {
    "players": "only the players of this match may watch it",
    "link": "watching this match takes its watch code",
    "signed_in": "",
}


def may_watch(match: MatchRecord, code: str | None) -> bool:
    """May someone who is not a player of `match` watch it, holding `code`?"""
    if match.spectators == "signed_in":
        return True
    if match.spectators == "link" and match.watch_code is not None and code is not None:
        return hmac.compare_digest(match.watch_code, code)
    return False


@endpoint(
    "GET",
    "/v1/matches/{match_id}/replay",
    response=ReplayOut,
    query=ReplayQuery,
    errors=(403, 404, 409),
)
async def get_replay(ctx: Context) -> ReplayOut:
    """Seed and applied inputs of a finished match (when the server records replays), for
    whoever may watch it: its `spectators` policy, as for spectating (403 otherwise)."""
    match = await existing(ctx)
    query: ReplayQuery = ctx.query
    if match.slot_of(ctx.me.player_id) is None and not may_watch(match, query.code):
        raise Forbidden(WHO_MAY_WATCH[match.spectators])
    if match.status != "finished":
        raise Conflict("replays are available once the match is over")  # the seed is secret
    replay = await ctx.services.store.get_replay(match.id)
    if replay is None:
        raise NotFound("no replay recorded for this match")
    return ReplayOut(**replay)
