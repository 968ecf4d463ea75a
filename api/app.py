"""build_app(services): the Starlette application for HTTP and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

# Importing the resource modules registers their endpoints.
from api import auth, lobbies, matches, matchmaking  # noqa: F401
from api.admin import admin_routes
from api.errors import EXCEPTION_HANDLERS
from api.health import healthz, metrics, readyz
from api.middleware import PodHeaderMiddleware, RateLimitMiddleware
from api.openapi import build_openapi, describe_settings
from api.protocol import protocol_route
from api.ratelimit import Rule
from api.routing import ENDPOINTS, build_routes
from api.services import PodServices
from skirmish import __version__
from skirmish.base.mode_settings import settings_schema

STATIC = Path(__file__).with_name("static")
# The JavaScript SDK's modules (sdk/js/src), served as they are: a page imports
# /sdk/skirmish.js with no build step.
SDK = STATIC / "sdk"


def build_app(services: PodServices) -> Starlette:
    openapi = build_openapi(ENDPOINTS, "Skirmish", __version__)
    describe_settings(openapi, {m.name: settings_schema(m) for m in services.modes.values()})

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(openapi)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.start()
        try:
            yield
        finally:
            await services.stop()

    routes = [
        *build_routes(ENDPOINTS),
        Route("/openapi.json", openapi_json, include_in_schema=False),
        protocol_route(services),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        *admin_routes(),
        Route("/", index),
        Mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static"),
        Mount("/sdk", StaticFiles(directory=SDK, check_dir=False, follow_symlink=True), name="sdk"),
    ]
    middleware = [Middleware(PodHeaderMiddleware, pod=services.settings.pod_name)]
    settings = services.settings
    if settings.rate_limit_enabled and services.limiter is not None:
        middleware.append(
            Middleware(
                RateLimitMiddleware,
                limiter=services.limiter,
                tokens=services.tokens,
                player_rule=Rule(
                    settings.rate_limit_player_per_second, settings.rate_limit_player_burst
                ),
                ip_rule=Rule(settings.rate_limit_ip_per_second, settings.rate_limit_ip_burst),
            )
        )
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.services = services
    return app
