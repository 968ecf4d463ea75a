"""The spectator socket against the served protocol document (GET /v1/protocol.json,
`$defs/spectatorSocket`): every frame of a watched match's life, live and recorded,
validates as a server message, and the players' `spectators` counts as theirs."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from tests.realtime.conftest import HarnessFactory, receive, receive_until
from tests.realtime.test_lobby_conformance import assert_valid, documents, validator
from tests.realtime.test_spectators import QUICK, play_on, running_match, watch


async def frames_until_closed(ws: Any) -> list[dict[str, Any]]:
    frames = []
    while True:
        out = await ws.receive_output(3)
        if out["type"] == "websocket.close":
            return frames
        frames.append(orjson.loads(out["bytes"]))


async def test_every_frame_of_a_watched_match_validates(harness_factory: HarnessFactory) -> None:
    harness = await harness_factory(spectator_delay_seconds=0.3)
    protocol, _ = await documents(harness)
    server = validator(protocol, "#/$defs/spectatorSocket/$defs/serverMessage")
    client = validator(protocol, "#/$defs/spectatorSocket/$defs/clientMessage")
    players_see = validator(protocol, "#/$defs/modes/$defs/arena/$defs/serverMessage")
    match, players = await running_match(harness, QUICK)
    ws, welcome = await watch(harness, match)
    ping = {"type": "ping", "t": 12.5}
    assert_valid(client, ping)
    assert not client.is_valid({"type": "input", "seq": 1, "dx": 0, "dy": 0, "aim": 0})
    for sent in (ping, {"type": "input", "seq": 1, "dx": 0, "dy": 0, "aim": 0, "fire": False}):
        await ws.send_to(bytes_data=orjson.dumps(sent))
    stop = asyncio.Event()
    walkers = [asyncio.create_task(play_on(p, stop, slot)) for slot, p in enumerate(players)]
    count = await receive_until(players[0], lambda m: m["type"] == "spectators", limit=2000)
    assert_valid(players_see, count)
    await receive_until(players[0], lambda m: m["type"] == "result", limit=2000)
    stop.set()
    await asyncio.gather(*walkers)
    live = [welcome, *await frames_until_closed(ws)]
    ws, welcome = await watch(harness, match, "speed=16")
    recorded = [welcome, *await frames_until_closed(ws)]
    kinds = set()
    for frame in live + recorded:
        assert_valid(server, frame)
        kinds.add((frame["type"], frame.get("code"), frame.get("replayed")))
    assert kinds >= {
        ("spectating", None, None), ("snapshot", None, None), ("spectators", None, None),
        ("pong", None, None), ("error", "input_refused", None), ("result", None, None),
        ("result", None, True),
    }  # fmt: skip


async def test_a_draining_server_tells_spectators_to_reconnect(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(spectator_delay_seconds=0.3)
    protocol, _ = await documents(harness)
    server = validator(protocol, "#/$defs/spectatorSocket/$defs/serverMessage")
    match, players = await running_match(harness)
    ws, _ = await watch(harness, match)
    await receive_until(ws, lambda m: m["type"] == "snapshot")
    await harness.services.drain()
    told = await receive_until(ws, lambda m: m["type"] == "reconnect")
    assert told["reason"] == "server_restarting"
    assert_valid(server, told)
    out = await ws.receive_output(2)
    assert out == {"type": "websocket.close", "code": 1012, "reason": "server restarting"}
    for socket in players:
        await receive(socket)
