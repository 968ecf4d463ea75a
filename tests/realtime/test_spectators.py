"""Spectator sockets on one pod: the delayed spectator view, refused inputs, the result at
the end of the delay, recordings played to their result, and the socket rules."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from channels.testing import WebsocketCommunicator

from skirmish.base.store.records import MatchRecord
from tests.realtime.conftest import (
    Harness,
    HarnessFactory,
    close_code,
    receive,
    receive_until,
)

DELAY = 0.5  # seconds: the spectators' delay in these tests
QUICK = {"score_limit": 1, "time_limit_seconds": 3}  # the arena ends in 3 s at most


def spectate_token(harness: Harness, match: MatchRecord, viewer: str = "p_watcher") -> str:
    return harness.services.tokens.issue_spectate(viewer, match.id).token


def spectator(harness: Harness, match_id: str, token: str, query: str = "") -> Any:
    path = f"/ws/matches/{match_id}/spectate" + (f"?{query}" if query else "")
    return WebsocketCommunicator(harness.app, path, subprotocols=["skirmish.v1", "token." + token])


async def watch(
    harness: Harness, match: MatchRecord, query: str = ""
) -> tuple[Any, dict[str, Any]]:
    ws = spectator(harness, match.id, spectate_token(harness, match), query)
    connected, _ = await ws.connect()
    assert connected
    welcome = await receive(ws)
    assert welcome["type"] == "spectating", welcome
    return ws, welcome


async def play_on(ws: WebsocketCommunicator, stop: asyncio.Event, slot: int) -> None:
    """A player who keeps walking right and firing (the arena), until told to stop."""
    seq = 0
    while not stop.is_set():
        seq += 1
        fire = {"type": "input", "seq": seq, "dx": 1 - 2 * slot, "dy": 0, "aim": 0, "fire": True}
        await ws.send_to(bytes_data=orjson.dumps(fire))
        await asyncio.sleep(1 / 30)


async def running_match(harness: Harness, settings: dict[str, Any] | None = None) -> Any:
    match = await harness.new_match(settings=settings)
    players = [(await harness.join(match, slot))[0] for slot in range(2)]
    await receive_until(players[0], lambda m: m["type"] == "start")
    return match, players


async def test_a_spectator_sees_the_spectator_view_behind_the_delay(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(spectator_delay_seconds=DELAY, spectator_rate_hz=10)
    match, players = await running_match(harness)
    ws, welcome = await watch(harness, match)
    assert welcome["live"] is True and welcome["delay_ms"] == 500 and welcome["rate_hz"] == 10
    assert [p["player_id"] for p in welcome["players"]] == [p.player_id for p in match.players]
    first = await receive_until(ws, lambda m: m["type"] == "snapshot")
    hosted = harness.services.host.owned.get(match.id)
    assert hosted is not None
    # The view it gets is half a second (15 ticks) old, give or take one beat of the clock.
    assert 15 - 3 <= hosted.tick - first["tick"] <= 15 + 6
    assert first["ack"] == 0 and len(first["players"]) == 2
    second = await receive_until(ws, lambda m: m["type"] == "snapshot")
    assert second["tick"] - first["tick"] == 3  # 10 views a second of a 30 Hz match
    for socket in (ws, *players):
        await socket.disconnect()


async def test_a_spectator_cannot_send_inputs(harness_factory: HarnessFactory) -> None:
    harness = await harness_factory(spectator_delay_seconds=DELAY)
    match, players = await running_match(harness)
    ws, _ = await watch(harness, match)
    move = {"type": "input", "seq": 1, "dx": 1, "dy": 0, "aim": 0, "fire": True}
    await ws.send_to(bytes_data=orjson.dumps(move))
    error = await receive_until(ws, lambda m: m["type"] == "error")
    assert error["code"] == "input_refused"
    hosted = harness.services.host.owned.get(match.id)
    assert hosted is not None and all(seat.last_seq == 0 for seat in hosted.seats)
    for socket in (ws, *players):
        await socket.disconnect()


async def test_spectators_get_the_result_once_the_delayed_view_reaches_it(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(spectator_delay_seconds=DELAY)
    match, players = await running_match(harness, QUICK)
    ws, _ = await watch(harness, match)
    stop = asyncio.Event()
    walkers = [asyncio.create_task(play_on(p, stop, slot)) for slot, p in enumerate(players)]
    told = await receive_until(players[0], lambda m: m["type"] == "result", limit=2000)
    stop.set()
    await asyncio.gather(*walkers)
    frames = []
    while (frame := await receive(ws, timeout=3)).get("type") != "result":
        frames.append(frame)
    assert frame == told  # the players' result, word for word
    assert frames[-1]["tick"] == told["tick"]  # having shown the last tick first
    assert await close_code(ws) == 1000


async def test_the_players_are_told_how_many_watch(harness_factory: HarnessFactory) -> None:
    harness = await harness_factory(spectator_delay_seconds=DELAY)
    match, players = await running_match(harness)
    watchers = [await watch(harness, match) for _ in range(3)]
    notice = await receive_until(players[1], lambda m: m["type"] == "spectators")
    assert notice["count"] == 3
    for ws, _ in watchers:
        assert (await receive_until(ws, lambda m: m["type"] == "spectators"))["count"] == 3
        await ws.disconnect()
    assert (await receive_until(players[1], lambda m: m["type"] == "spectators"))["count"] == 0
    for socket in players:
        await socket.disconnect()


async def test_a_recording_plays_to_the_recorded_result(harness_factory: HarnessFactory) -> None:
    harness = await harness_factory(spectator_delay_seconds=DELAY)
    match, players = await running_match(harness, QUICK)
    stop = asyncio.Event()
    walkers = [asyncio.create_task(play_on(p, stop, slot)) for slot, p in enumerate(players)]
    told = await receive_until(players[0], lambda m: m["type"] == "result", limit=2000)
    stop.set()
    await asyncio.gather(*walkers)
    ws, welcome = await watch(harness, match, "speed=16")
    assert welcome["live"] is False and welcome["status"] == "finished" and welcome["speed"] == 16
    views = []
    while (frame := await receive(ws)).get("type") == "snapshot":
        views.append(frame)
    assert frame["type"] == "result" and frame["replayed"] is True
    assert (frame["winner"], frame["reason"], frame["tick"]) == (
        told["winner"],
        told["reason"],
        told["tick"],
    )
    stats = ("player_id", "score", "kills", "deaths", "shots", "hits")
    assert [{k: p[k] for k in stats} for p in frame["players"]] == [
        {k: p[k] for k in stats} for p in told["players"]
    ]
    assert views[0]["tick"] == 3 and views[-1]["tick"] == told["tick"]
    assert await close_code(ws) == 1000
    too_fast = spectator(harness, match.id, spectate_token(harness, match), "speed=1000")
    await too_fast.connect()
    assert (await receive(too_fast))["code"] == "invalid_message"
    assert await close_code(too_fast) == 1008


async def test_a_match_no_server_plays_yet_is_to_be_watched_later(harness: Harness) -> None:
    match = await harness.new_match()  # none of its players connected: no pod hosts it
    ws = spectator(harness, match.id, spectate_token(harness, match))
    await ws.connect()
    assert (await receive(ws))["code"] == "try_later"
    assert await close_code(ws) == 1013


async def test_refusals(harness_factory: HarnessFactory) -> None:
    harness = await harness_factory(ws_max_sockets_per_player=1)
    match, players = await running_match(harness)
    other = await harness.new_match()
    cases = [
        (spectate_token(harness, other), 4003),  # a token for another match
        (harness.token(match, 0), 4001),  # a player's match token is not a spectate token
    ]
    for token, code in cases:
        ws = spectator(harness, match.id, token)
        await ws.connect()
        refusal = await receive(ws)
        assert refusal["type"] == "error"
        assert await close_code(ws) == code
    first, _ = await watch(harness, match)
    second = spectator(harness, match.id, spectate_token(harness, match))  # the same viewer
    await second.connect()
    assert (await receive(second))["code"] == "too_many_connections"
    assert await close_code(second) == 4029
    for socket in (first, *players):
        await socket.disconnect()


async def test_a_pod_plays_only_so_many_recordings_at_once(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(spectator_delay_seconds=DELAY, max_replay_viewers=1)
    match, players = await running_match(harness, QUICK)
    stop = asyncio.Event()
    walkers = [asyncio.create_task(play_on(p, stop, slot)) for slot, p in enumerate(players)]
    await receive_until(players[0], lambda m: m["type"] == "result", limit=2000)
    stop.set()
    await asyncio.gather(*walkers)
    first, _ = await watch(harness, match, "speed=0.25")  # slow: it keeps its seat
    refused = spectator(harness, match.id, spectate_token(harness, match, "p_other"))
    await refused.connect()
    assert (await receive(refused))["code"] == "try_later"
    assert await close_code(refused) == 1013
    await first.disconnect()  # its seat is free again
    for _ in range(50):
        if harness.services.theatre.playing == 0:
            break
        await asyncio.sleep(0.01)
    again, welcome = await watch(harness, match, "speed=16")
    assert welcome["live"] is False
    await again.disconnect()


async def test_the_players_learn_when_nobody_watches_any_more(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(spectator_delay_seconds=DELAY)
    match, players = await running_match(harness)
    watchers = [(await watch(harness, match))[0] for _ in range(3)]
    assert (await receive_until(players[1], lambda m: m["type"] == "spectators"))["count"] == 3
    watchers.append((await watch(harness, match))[0])  # one more, then all leave at once
    for ws in watchers:
        await ws.disconnect()
    counts = []
    while not counts or counts[-1] != 0:
        counts.append(
            (await receive_until(players[1], lambda m: m["type"] == "spectators"))["count"]
        )
    assert counts[-1] == 0
    for socket in players:
        await socket.disconnect()


async def test_a_spectators_extra_pings_are_dropped_not_punished(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(spectator_delay_seconds=DELAY)
    match, players = await running_match(harness)
    ws, _ = await watch(harness, match)
    for t in range(7):  # bursts of 5 pass
        await ws.send_to(bytes_data=orjson.dumps({"type": "ping", "t": t}))
    error = await receive_until(ws, lambda m: m["type"] == "error")
    assert error["code"] == "rate_limited" and "pings" in error["message"]
    await asyncio.sleep(1.0)  # the bucket refills: the socket is still served
    await ws.send_to(bytes_data=orjson.dumps({"type": "ping", "t": 99}))
    assert (await receive_until(ws, lambda m: m["type"] == "pong" and m["t"] == 99))["tick"] == 0
    for socket in (ws, *players):
        await socket.disconnect()


async def test_a_player_may_not_watch_their_own_fogged_match_live(harness: Harness) -> None:
    match = await harness.new_match(players=2, mode="ctf")  # the mode hides information
    players = [(await harness.join(match, slot))[0] for slot in range(2)]
    own = spectate_token(harness, match, match.players[0].player_id)
    ws = spectator(harness, match.id, own)
    await ws.connect()
    refusal = await receive(ws)
    assert refusal["code"] == "forbidden" and "once it is over" in refusal["message"]
    assert await close_code(ws) == 4003
    friend, welcome = await watch(harness, match)  # anyone else: behind the delay
    assert welcome["mode"] == "ctf"
    for socket in (friend, *players):
        await socket.disconnect()
