"""The ASGI application and how it is served.

    http, lifespan → the Starlette app (api/)
    websocket      → URLRouter → /ws/matches/{id}: match token middleware → MatchConsumer
                               → /ws/matches/{id}/spectate: spectate token middleware
                                 → SpectatorConsumer
                               → /ws/lobbies/{id}: player token middleware → LobbyConsumer

Frames arrive through `DirectFramesProtocol` (realtime/ws_protocol.py): uvicorn's
websockets-sansio protocol, plus an extension that hands a match consumer each inbound
frame directly instead of through channels' per-frame dispatch. `server_options` holds
every uvicorn option the product is served with; `skirmish serve` and the benchmark's
pods both take them from there.
"""

from __future__ import annotations

import gc
from typing import Any

from skirmish.base.django_conf import configure_django

configure_django()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from api.app import build_app  # noqa: E402
from realtime.consumers import MAX_FRAME_BYTES, MatchConsumer  # noqa: E402
from realtime.limits import http_protocol  # noqa: E402
from realtime.lobby_consumer import LobbyConsumer  # noqa: E402
from realtime.spectator_consumer import SpectatorConsumer  # noqa: E402
from realtime.ws_auth import OriginPolicy, SocketTokenMiddleware  # noqa: E402
from realtime.ws_protocol import DirectFramesProtocol  # noqa: E402
from skirmish.base.settings import Settings  # noqa: E402
from skirmish.server.services import Services, build_services  # noqa: E402

APP = "skirmish.server.asgi:application_factory"


def build_application(
    services: Services, *, consumer: type[MatchConsumer] = MatchConsumer
) -> ProtocolTypeRouter:
    """The whole pod as one ASGI app. `consumer` serves match sockets (a benchmark passes
    a variant to compare against)."""
    http = build_app(services)
    origins = OriginPolicy(services.settings.allowed_origins)
    matches = consumer.as_asgi(host=services.host, guard=services.guard)
    lobbies = LobbyConsumer.as_asgi(
        rooms=services.rooms, guard=services.guard, pod=services.settings.pod_name
    )
    spectators = SpectatorConsumer.as_asgi(
        host=services.host, theatre=services.theatre, guard=services.guard
    )
    tokens = services.tokens
    websocket = URLRouter(
        [
            path(
                "ws/matches/<str:match_id>/spectate",
                SocketTokenMiddleware.for_spectators(spectators, tokens, origins),
            ),
            path(
                "ws/matches/<str:match_id>",
                SocketTokenMiddleware.for_matches(matches, tokens, origins),
            ),
            path(
                "ws/lobbies/<str:lobby_id>",
                SocketTokenMiddleware.for_players(lobbies, tokens, origins),
            ),
        ]
    )
    # lifespan must be routed too: ProtocolTypeRouter raises on scope types it lacks.
    return ProtocolTypeRouter({"http": http, "lifespan": http, "websocket": websocket})


def application_factory() -> ProtocolTypeRouter:
    """For `uvicorn --factory skirmish.server.asgi:application_factory`."""
    application = build_application(build_services(Settings()))
    freeze_startup_objects()
    return application


def server_options(
    settings: Settings, *, log_config: dict[str, Any], log_level: str, access_log: bool
) -> dict[str, Any]:
    """uvicorn's options for a pod, but where to listen."""
    return {
        "loop": "uvloop",
        # httptools with a deadline for each request to arrive whole (anti-slowloris)
        "http": http_protocol(settings.handshake_timeout_seconds),
        # uvicorn's websockets-sansio (the cheapest per frame of its implementations), plus
        # the direct-frames extension the match consumer uses (realtime/ws_protocol.py)
        "ws": DirectFramesProtocol,
        "ws_max_size": MAX_FRAME_BYTES,
        "ws_per_message_deflate": False,  # costs CPU on every frame; snapshots are small
        "lifespan": "on",
        "log_config": log_config,
        "log_level": log_level,
        "access_log": access_log,
        "timeout_graceful_shutdown": 10,
    }


def freeze_startup_objects() -> None:
    """Everything imported and built so far lives as long as the process: move it out of
    the garbage collector's sight. Otherwise each full collection walks all of it (Django,
    channels, pydantic...): measured 50-140 ms pauses of the tick loop under connection
    churn (docs/security.md, the flood test)."""
    gc.collect()
    gc.freeze()
