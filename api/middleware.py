"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task per request)."""

from __future__ import annotations

import math

import orjson
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.ratelimit import RateLimiter, Rule
from skirmish.base.errors import Unauthorized
from skirmish.base.tokens import TokenService


class PodHeaderMiddleware:
    """Adds `x-skirmish-pod: <pod name>` to every HTTP response: which pod answered."""

    def __init__(self, app: ASGIApp, pod: str) -> None:
        if not pod:
            raise ValueError("pod name must not be empty")
        self.app = app
        self.header = (b"x-skirmish-pod", pod.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.header]}
            await send(message)

        await self.app(scope, receive, send_with_header)


class RateLimitMiddleware:
    """Per-client REST rate limits: 429 `rate_limited` with `Retry-After` when over.

    The client is the player when the request carries a valid player token (so players
    behind one NAT do not share a budget, and a player cannot escape by switching
    addresses), else the client address. Only the API paths (`prefixes`) are counted:
    probes, metrics and the static web client are not. The client address is the peer's,
    or the one a trusted proxy forwarded (uvicorn's `--forwarded-allow-ips`, env
    FORWARDED_ALLOW_IPS; default 127.0.0.1): never a header any client can set.
    """

    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        tokens: TokenService,
        player_rule: Rule,
        ip_rule: Rule,
        prefixes: tuple[str, ...] = ("/v1/", "/admin/"),
    ) -> None:
        if not prefixes:
            raise ValueError("rate limiting needs at least one path prefix")
        self.app = app
        self.limiter = limiter
        self.tokens = tokens
        self.player_rule = player_rule
        self.ip_rule = ip_rule
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        key, rule = self.client_of(scope)
        wait = await self.limiter.hit(key, rule)
        if wait > 0:
            await self.refuse(wait, rule, scope, receive, send)
            return
        await self.app(scope, receive, send)

    def client_of(self, scope: Scope) -> tuple[str, Rule]:
        authorization = Headers(scope=scope).get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token:
            try:
                return "player:" + self.tokens.verify_player(token.strip()).player_id, (
                    self.player_rule
                )
            except Unauthorized:
                pass  # counted by address; the endpoint answers 401 if it needs a player
        client = scope.get("client")
        return "ip:" + (client[0] if client else "unknown"), self.ip_rule

    @staticmethod
    async def refuse(wait: float, rule: Rule, scope: Scope, receive: Receive, send: Send) -> None:
        seconds = max(1, math.ceil(wait))
        message = f"too many requests: at most {rule.rate:g}/s; retry in {seconds} s"
        body = orjson.dumps({"error": {"code": "rate_limited", "message": message}})
        response = Response(body, 429, {"Retry-After": str(seconds)}, media_type="application/json")
        await response(scope, receive, send)
