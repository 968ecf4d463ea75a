"""Operator routes: `GET /admin/stats`, `POST /admin/drain`, `POST /admin/announce`. Not
part of the public API.

They answer only `Authorization: Bearer <SKIRMISH_ADMIN_TOKEN>`, a secret of its own (a
player token, however valid, is refused); with no admin token configured they do not
exist (404). They are left out of the OpenAPI document, and the proxy does not route
/admin (docs/security.md): operators reach a pod directly, as they do for /metrics.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.errors import error_response
from api.routing import parse_body
from api.schemas import AnnounceIn
from api.services import PodServices


def _refusal(request: Request) -> Response | None:
    """None when the request carries the admin token; else the response to give."""
    expected: str | None = request.app.state.services.settings.admin_token
    if not expected:
        return error_response(404, "not_found", "no such route")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), expected.encode()
    ):
        response = error_response(401, "unauthorized", "admin token required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="skirmish-admin"'
        return response
    return None


async def stats(request: Request) -> Response:
    """What this pod carries right now."""
    services: PodServices = request.app.state.services
    return JSONResponse(services.stats())


async def drain(request: Request) -> Response:
    """Take the pod out of service: not ready from now on (/readyz 503); every match is
    handed over (checkpointed, released) and its sockets told `reconnect`, then closed with
    1012. Idempotent: a second drain finds nothing left to hand over."""
    services: PodServices = request.app.state.services
    told = await services.drain()
    return JSONResponse({"pod": services.settings.pod_name, "draining": True, "told": told})


async def announce(request: Request) -> Response:
    """`{"text"}` (1..500 visible characters): sent as `{"type": "announcement", "text",
    "at"}` to every lobby socket and every match socket, on every pod."""
    services: PodServices = request.app.state.services
    body = await parse_body(request, AnnounceIn)
    assert isinstance(body, AnnounceIn)
    at = await services.push.announce(body.text)
    return JSONResponse({"text": body.text, "at": at})


def _guarded(method: str, handler: Any) -> Any:
    """Refuse before routing by method, so without the token no /admin route shows (405
    would tell that a path exists)."""

    async def endpoint(request: Request) -> Response:
        refused = _refusal(request)
        if refused is not None:
            return refused
        if request.method != method:
            response = error_response(405, "method_not_allowed", f"use {method}")
            response.headers["Allow"] = method
            return response
        return await handler(request)

    return endpoint


ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def admin_routes() -> list[Route]:
    return [
        Route("/admin/stats", _guarded("GET", stats), methods=ANY_METHOD, include_in_schema=False),
        Route("/admin/drain", _guarded("POST", drain), methods=ANY_METHOD, include_in_schema=False),
        Route(
            "/admin/announce",
            _guarded("POST", announce),
            methods=ANY_METHOD,
            include_in_schema=False,
        ),
    ]
