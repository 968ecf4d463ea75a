"""Token middleware for sockets: the token travels as a subprotocol.

A match socket offers its match token, a lobby socket its player token; one middleware per
kind of socket verifies it with that kind's check (`SocketTokenMiddleware(inner, verify)`).
Browsers cannot set headers on a WebSocket, and a token in the URL would end up in access
logs; `new WebSocket(url, ["skirmish.v1", "token.<jwt>"])` avoids both. The middleware only
reads and verifies; the consumer accepts first and then closes with a documented code, so a
refused client learns why (closing before accept is a bare HTTP 403 to the client).

Browsers also send `Origin` with every WebSocket handshake, and any page may open a socket
to any server: the origin allow-list keeps other sites' pages from using a player's socket
(defence in depth: the token is not a cookie, so a foreign page would first have to steal
it). Clients that are not browsers send no `Origin` and are let through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import markcoroutinefunction
from channels.middleware import BaseMiddleware

from skirmish.base.errors import Unauthorized
from skirmish.base.tokens import TokenService

SUBPROTOCOL = "skirmish.v1"
TOKEN_PREFIX = "token."
DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def token_from_subprotocols(subprotocols: list[str]) -> str | None:
    for offered in subprotocols:
        if offered.startswith(TOKEN_PREFIX):
            return offered[len(TOKEN_PREFIX) :]
    return None


def _origin_key(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin such as `https://game.example.com`, or None."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


class OriginPolicy:
    """Same origin (the `Origin` names the `Host` the socket was opened to), plus a list.

    `"*"` in the list allows every origin; `"null"` (sandboxed frames, files) only when
    listed verbatim. A socket without an `Origin` header (not a browser) is always allowed.
    """

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        allowed = [a.strip() for a in allowed]
        self.any = "*" in allowed
        self.allow_null = "null" in allowed
        self.allowed = {key for a in allowed if (key := _origin_key(a)) is not None}

    def allows(self, origin: str | None, host: str | None) -> bool:
        if origin is None or self.any:
            return True
        if origin.strip() == "null":
            return self.allow_null
        key = _origin_key(origin)
        if key is None:
            return False
        return key in self.allowed or self._same_origin(key, host)

    @staticmethod
    def _same_origin(key: tuple[str, str, int], host: str | None) -> bool:
        if not host:
            return False
        try:
            parts = urlsplit("//" + host.strip().lower())
            port = parts.port
        except ValueError:
            return False
        return (parts.hostname, port or DEFAULT_PORTS[key[0]]) == key[1:]


def header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return str(value.decode("latin-1"))
    return None


class SocketTokenMiddleware(BaseMiddleware):
    """Puts `claims` (what `verify` makes of the offered token; None with `auth_error`), or
    `origin_error`, into the scope of every socket. `verify` raises Unauthorized."""

    def __init__(
        self,
        inner: Any,
        verify: Callable[[str], Any],
        origins: OriginPolicy | None = None,
        *,
        token_name: str = "token",
    ):
        super().__init__(inner)
        self.verify = verify
        self.origins = origins or OriginPolicy()
        self.missing = f"missing token: offer the subprotocol 'token.<{token_name}>'"

    @classmethod
    def for_matches(
        cls, inner: Any, tokens: TokenService, origins: OriginPolicy | None = None
    ) -> SocketTokenMiddleware:
        """Match sockets: a match token (POST /v1/matches/{id}/token, a ticket, a lobby)."""
        return cls(inner, tokens.verify_match, origins, token_name="match token")

    @classmethod
    def for_spectators(
        cls, inner: Any, tokens: TokenService, origins: OriginPolicy | None = None
    ) -> SocketTokenMiddleware:
        """Spectator sockets: a spectate token (POST /v1/matches/{id}/spectate)."""
        return cls(inner, tokens.verify_spectate, origins, token_name="spectate token")

    @classmethod
    def for_players(
        cls, inner: Any, tokens: TokenService, origins: OriginPolicy | None = None
    ) -> SocketTokenMiddleware:
        """Sockets of a player rather than of a seat (lobby rooms): the player token."""
        return cls(inner, tokens.verify_player, origins, token_name="player token")

    @markcoroutinefunction  # it returns the inner app's coroutine: one await level less per frame
    def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        scope = dict(scope)
        scope["claims"] = None
        origin = header(scope, b"origin")
        if not self.origins.allows(origin, header(scope, b"host")):
            scope["origin_error"] = f"origin not allowed: {str(origin)[:100]!r}"
            return self.inner(scope, receive, send)
        token = token_from_subprotocols(list(scope.get("subprotocols") or ()))
        if token is None:
            scope["auth_error"] = self.missing
        else:
            try:
                scope["claims"] = self.verify(token)
            except Unauthorized as exc:
                scope["auth_error"] = exc.message
        return self.inner(scope, receive, send)
