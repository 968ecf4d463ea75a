"""Match info, and fresh match tokens for players who need to rejoin."""

from __future__ import annotations

from api.routing import Context, endpoint
from api.schemas import MatchAccess, MatchOut, ReplayOut
from api.views import match_access, match_out
from skirmish.base.errors import Conflict, Forbidden, NotFound
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


@endpoint("GET", "/v1/matches/{match_id}/replay", response=ReplayOut, errors=(404, 409))
async def get_replay(ctx: Context) -> ReplayOut:
    """Seed and applied inputs of a finished match (when the server records replays)."""
    match = await existing(ctx)
    if match.status != "finished":
        raise Conflict("replays are available once the match is over")  # the seed is secret
    replay = await ctx.services.store.get_replay(match.id)
    if replay is None:
        raise NotFound("no replay recorded for this match")
    return ReplayOut(**replay)
