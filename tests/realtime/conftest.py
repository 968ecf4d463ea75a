"""Realtime tests drive the real ASGI application (router, middleware, consumer, match host)
in process through channels.testing.WebsocketCommunicator."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from channels.testing import WebsocketCommunicator

from skirmish.base.settings import Settings
from skirmish.base.store.records import MatchPlayer, MatchRecord, PlayerRecord, new_id
from skirmish.server.asgi import build_application
from skirmish.server.services import Services, build_services


def test_settings(**overrides: Any) -> Settings:
    defaults: dict[str, Any] = {
        "token_secret": "realtime-test-secret-0123456789abcdef",
        "redis_url": None,
        "match_start_wait_seconds": 0.2,
        "arena_time_limit_seconds": 60,
    }
    return Settings(**{**defaults, **overrides})


@dataclass
class Harness:
    services: Services
    app: Any

    async def new_match(
        self, players: int = 2, mode: str = "arena", settings: dict[str, Any] | None = None
    ) -> MatchRecord:
        seats = []
        for slot in range(players):
            player = PlayerRecord(id=new_id("p"), name=f"player-{slot}", created_at=0.0)
            await self.services.store.add_player(player)
            seats.append(MatchPlayer(player_id=player.id, name=player.name, slot=slot))
        match = MatchRecord(
            id=new_id("m"),
            mode=mode,
            settings=settings or {},
            seed=secrets.randbits(63),
            players=tuple(seats),
            created_at=time.time(),  # as the API makes them: a waiting match is young
        )
        await self.services.store.add_match(match)
        return match

    def token(self, match: MatchRecord, slot: int) -> str:
        return self.services.tokens.issue_match(match.players[slot].player_id, match.id).token

    def communicator(
        self, match_id: str, token: str | None, *, extra_protocols: tuple[str, ...] = ()
    ) -> WebsocketCommunicator:
        protocols = ["skirmish.v1", *extra_protocols]
        if token is not None:
            protocols.append("token." + token)
        return WebsocketCommunicator(self.app, f"/ws/matches/{match_id}", subprotocols=protocols)

    async def join(
        self, match: MatchRecord, slot: int
    ) -> tuple[WebsocketCommunicator, dict[str, Any]]:
        ws = self.communicator(match.id, self.token(match, slot))
        connected, subprotocol = await ws.connect()
        assert connected and subprotocol == "skirmish.v1"
        welcome = await receive(ws)
        assert welcome["type"] == "welcome", welcome
        return ws, welcome


async def receive(ws: WebsocketCommunicator, timeout: float = 2.0) -> dict[str, Any]:
    message: dict[str, Any] = orjson.loads(await ws.receive_from(timeout))
    return message


async def receive_until(
    ws: WebsocketCommunicator, accept: Callable[[dict[str, Any]], bool], limit: int = 400
) -> dict[str, Any]:
    for _ in range(limit):
        message = await receive(ws)
        if accept(message):
            return message
    raise AssertionError("expected message never came")


async def close_code(ws: WebsocketCommunicator, timeout: float = 2.0) -> int:
    """Skip frames until the server closes; return its close code."""
    for _ in range(1000):
        out = await ws.receive_output(timeout)
        if out["type"] == "websocket.close":
            return int(out.get("code", 1000))
    raise AssertionError("server never closed")


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def harness_factory() -> AsyncIterator[HarnessFactory]:
    started: list[Services] = []

    async def make(**overrides: Any) -> Harness:
        services = build_services(test_settings(**overrides))
        await services.start()
        started.append(services)
        return Harness(services, build_application(services))

    yield make
    for services in started:
        await services.stop()


@pytest.fixture
async def harness(harness_factory: HarnessFactory) -> Harness:
    return await harness_factory()
