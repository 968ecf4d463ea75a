"""Token middleware for match sockets: the match token travels as a subprotocol.

Browsers cannot set headers on a WebSocket, and a token in the URL would end up in access
logs; `new WebSocket(url, ["skirmish.v1", "token.<jwt>"])` avoids both. The middleware only
reads and verifies; the consumer accepts first and then closes with a documented code, so a
refused client learns why (closing before accept is a bare HTTP 403 to the client).
"""

from __future__ import annotations

from typing import Any

from channels.middleware import BaseMiddleware

from skirmish.errors import Unauthorized
from skirmish.tokens import TokenService

SUBPROTOCOL = "skirmish.v1"
TOKEN_PREFIX = "token."


def token_from_subprotocols(subprotocols: list[str]) -> str | None:
    for offered in subprotocols:
        if offered.startswith(TOKEN_PREFIX):
            return offered[len(TOKEN_PREFIX) :]
    return None


class MatchTokenMiddleware(BaseMiddleware):  # type: ignore[misc]
    """Puts `match_claims` (or `auth_error`) into the scope of every socket."""

    def __init__(self, inner: Any, tokens: TokenService) -> None:
        super().__init__(inner)
        self.tokens = tokens

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        scope = dict(scope)
        token = token_from_subprotocols(list(scope.get("subprotocols") or ()))
        scope["match_claims"] = None
        if token is None:
            scope["auth_error"] = "missing token: offer the subprotocol 'token.<match token>'"
        else:
            try:
                scope["match_claims"] = self.tokens.verify_match(token)
            except Unauthorized as exc:
                scope["auth_error"] = exc.message
        return await self.inner(scope, receive, send)
