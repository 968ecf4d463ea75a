"""Liveness, readiness and metrics: plain routes outside the versioned API."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


async def healthz(request: Request) -> Response:
    """Alive: the event loop answers."""
    return JSONResponse({"status": "ok", "pod": request.app.state.services.settings.pod_name})


async def readyz(request: Request) -> Response:
    """Ready for new players: 503 while starting up or draining."""
    services = request.app.state.services
    ready = services.ready
    body = {"status": "ready" if ready else "not_ready", "pod": services.settings.pod_name}
    return JSONResponse(body, status_code=200 if ready else 503)


async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
