"""The matchmaking queue: a ticket per searching player, matched by the matcher."""

from __future__ import annotations

from api.routing import Context, endpoint
from api.schemas import ModeOut, ModesOut, TicketIn, TicketOut
from api.views import ticket_out
from game.modes import AnyMode
from game.ratings import DEFAULT_RATING, rating_pool
from skirmish.base import mode_settings
from skirmish.base.errors import Conflict, NotFound
from skirmish.base.store.records import TicketRecord, new_id


def require_mode(ctx: Context, name: str) -> AnyMode:
    mode = ctx.services.modes.get(name)
    if mode is None:
        raise NotFound(f"unknown mode {name!r}; see GET /v1/modes")
    return mode


@endpoint("GET", "/v1/modes", response=ModesOut, auth=False)
async def list_modes(ctx: Context) -> ModesOut:
    """The game modes this server plays."""
    return ModesOut(
        modes=[
            ModeOut(
                name=m.name,
                version=m.version,
                min_players=m.min_players,
                max_players=m.max_players,
                tick_rate=m.tick_rate,
                teams=m.teams,
                hides_information=m.hides_information,
                input_schema=m.input_schema,
                settings_schema=mode_settings.settings_schema(m),
            )
            for m in ctx.services.modes.values()
        ]
    )


@endpoint(
    "POST",
    "/v1/matchmaking/tickets",
    body=TicketIn,
    response=TicketOut,
    status=201,
    errors=(404, 409),
)
async def create_ticket(ctx: Context, body: TicketIn) -> TicketOut:
    """Join the matchmaking queue for a mode, with the settings you want to play
    (`422 invalid_settings` if the mode refuses them)."""
    mode = require_mode(ctx, body.mode)
    settings = mode_settings.resolve(mode, body.settings)
    store = ctx.services.store
    size = max(min(ctx.services.settings.match_target_size, mode.max_players), mode.min_players)
    pool = rating_pool(mode.name, mode.teams, size, mode.max_players)  # the size it aims for
    ratings = await store.get_ratings(pool, [ctx.me.player_id])
    ticket = TicketRecord(
        id=new_id("t"),
        player_id=ctx.me.player_id,
        mode=body.mode,
        settings=settings,
        rating=ratings.get(ctx.me.player_id, DEFAULT_RATING),
        created_at=ctx.services.clock(),
    )
    await store.add_ticket(ticket)
    return ticket_out(ctx.services, ticket)


async def own_ticket(ctx: Context) -> TicketRecord:
    ticket = await ctx.services.store.get_ticket(ctx.params["ticket_id"])
    # Someone else's ticket is reported as missing: ticket ids are not to be probed.
    if ticket is None or ticket.player_id != ctx.me.player_id:
        raise NotFound("ticket not found")
    return ticket


@endpoint("GET", "/v1/matchmaking/tickets/{ticket_id}", response=TicketOut, errors=(404,))
async def get_ticket(ctx: Context) -> TicketOut:
    """A ticket's status; once matched it carries the match access."""
    return ticket_out(ctx.services, await own_ticket(ctx))


@endpoint("DELETE", "/v1/matchmaking/tickets/{ticket_id}", response=TicketOut, errors=(404, 409))
async def cancel_ticket(ctx: Context) -> TicketOut:
    """Leave the queue. Too late once matched (409)."""
    ticket = await own_ticket(ctx)

    def cancel(current: TicketRecord) -> TicketRecord:
        if current.status == "cancelled":
            return current
        if current.status != "searching":
            raise Conflict(f"ticket is already {current.status}")
        return current.model_copy(update={"status": "cancelled"})

    return ticket_out(ctx.services, await ctx.services.store.update_ticket(ticket.id, cancel))
