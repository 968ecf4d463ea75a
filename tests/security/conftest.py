"""Security tests: the consumer-level harness of tests/realtime, the in-process API of
tests/api (with its clean environment), a private redis-server, and real `skirmish serve`
processes (tests/support/processes.py)."""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson
from channels.testing import WebsocketCommunicator

from skirmish.base.store.records import MatchPlayer, MatchRecord, PlayerRecord, new_id
from tests.api.conftest import isolated_env as isolated_env
from tests.api.conftest import make_api as make_api
from tests.realtime.conftest import Harness
from tests.realtime.conftest import harness as harness
from tests.realtime.conftest import harness_factory as harness_factory
from tests.support.redis_server import redis_url as redis_url


async def add_player(h: Harness, name: str = "player") -> PlayerRecord:
    player = PlayerRecord(id=new_id("p"), name=name, created_at=0.0)
    await h.services.store.add_player(player)
    return player


async def match_of(h: Harness, players: list[PlayerRecord]) -> MatchRecord:
    """A match whose seats are these players (the harness makes fresh players each time)."""
    match = MatchRecord(
        id=new_id("m"),
        mode="arena",
        seed=secrets.randbits(63),
        players=tuple(
            MatchPlayer(player_id=p.id, name=p.name, slot=n) for n, p in enumerate(players)
        ),
        created_at=time.time(),  # as the API makes them: a waiting match is young
    )
    await h.services.store.add_match(match)
    return match


def communicator(
    h: Harness, match_id: str, token: str | None, headers: list[tuple[bytes, bytes]]
) -> WebsocketCommunicator:
    protocols = ["skirmish.v1", *([f"token.{token}"] if token else [])]
    return WebsocketCommunicator(
        h.app, f"/ws/matches/{match_id}", headers=headers, subprotocols=protocols
    )


def ws_input(seq: int, **fields: Any) -> str:
    message = {"type": "input", "seq": seq, "dx": 0.0, "dy": 0.0, "aim": 0.0, "fire": False}
    return orjson.dumps({**message, **fields}).decode()
