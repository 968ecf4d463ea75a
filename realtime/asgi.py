"""The ASGI entry: http and lifespan → Starlette; websocket → token auth → URLRouter."""

from __future__ import annotations

import gc
from typing import Any

from skirmish.django_conf import configure_django

configure_django()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from api.app import build_app  # noqa: E402
from realtime.consumers import MatchConsumer  # noqa: E402
from realtime.ws_auth import MatchTokenMiddleware, OriginPolicy  # noqa: E402
from skirmish.services import Services, build_services  # noqa: E402
from skirmish.settings import Settings  # noqa: E402


def build_application(services: Services) -> Any:
    http = build_app(services)
    consumer = MatchConsumer.as_asgi(host=services.host, guard=services.guard)
    websocket = MatchTokenMiddleware(
        URLRouter([path("ws/matches/<str:match_id>", consumer)]),
        services.tokens,
        OriginPolicy(services.settings.allowed_origins),
    )
    # lifespan must be routed too: ProtocolTypeRouter raises on scope types it lacks.
    return ProtocolTypeRouter({"http": http, "lifespan": http, "websocket": websocket})


def application_factory() -> Any:
    """For `uvicorn --factory realtime.asgi:application_factory`."""
    application = build_application(build_services(Settings()))
    freeze_startup_objects()
    return application


def freeze_startup_objects() -> None:
    """Everything imported and built so far lives as long as the process: move it out of
    the garbage collector's sight. Otherwise each full collection walks all of it (Django,
    channels, pydantic...): measured 50-140 ms pauses of the tick loop under connection
    churn (docs/security.md, the flood test)."""
    gc.collect()
    gc.freeze()
