"""Guest sign-in: a player id and a signed, expiring player token."""

from __future__ import annotations

import secrets

from api.routing import Context, endpoint
from api.schemas import GuestIn, GuestOut
from api.views import when
from skirmish.base.store.records import PlayerRecord, new_id


@endpoint("POST", "/v1/auth/guest", body=GuestIn, response=GuestOut, status=201, auth=False)
async def guest_sign_in(ctx: Context, body: GuestIn) -> GuestOut:
    """Create a guest player and return its token."""
    services = ctx.services
    name = body.name or f"guest-{secrets.token_hex(2)}"
    player = PlayerRecord(id=new_id("p"), name=name, created_at=services.clock())
    await services.store.add_player(player)
    issued = services.tokens.issue_player(player.id, name)
    return GuestOut(
        player_id=player.id, name=name, token=issued.token, expires_at=when(issued.expires_at)
    )
