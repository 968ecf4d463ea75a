"""Chat inside a match: a line to every player, a team's line to that team only (never
to the other team), lines from another pod's sockets said by the owner, and the rules
of lobby chat (plain text, 1..200 characters, 1 a second)."""

from __future__ import annotations

import orjson

from realtime.match_host import MatchHost
from realtime.relay_owner import RemoteConnection
from skirmish.base.store import MemoryStore
from skirmish.base.store.records import MatchPlayer, MatchRecord
from tests.realtime.conftest import Harness, receive, receive_until
from tests.realtime.test_host_relay import MODES, batch
from tests.realtime.test_lobby_conformance import assert_valid, documents, validator
from tests.realtime.test_spectators import spectator


def is_chat(message: dict[str, object]) -> bool:
    return message["type"] == "chat"


async def say(ws: object, **fields: object) -> None:
    await ws.send_to(bytes_data=orjson.dumps({"type": "chat", **fields}))  # type: ignore[attr-defined]


async def test_a_line_reaches_every_player_as_text(harness: Harness) -> None:
    match = await harness.new_match(players=3)
    sockets = [(await harness.join(match, slot))[0] for slot in range(3)]
    await say(sockets[1], text="  <b>gg</b>  ")
    for ws in sockets:
        line = await receive_until(ws, is_chat)
        assert line["text"] == "<b>gg</b>" and line["slot"] == 1 and line["team"] is False
        assert line["player_id"] == match.players[1].player_id and line["name"] == "player-1"
    for ws in sockets:
        await ws.disconnect()


async def test_a_teams_line_never_reaches_the_other_team(harness: Harness) -> None:
    match = await harness.new_match(players=4, mode="ctf")  # teams: slot % 2
    sockets = [(await harness.join(match, slot))[0] for slot in range(4)]
    await say(sockets[0], text="flag at their base", team=True)
    await say(sockets[1], text="to all", team=False)
    for slot, ws in enumerate(sockets):
        first = await receive_until(ws, is_chat)
        if slot % 2 == 0:  # slots 0 and 2: the sender's team gets both, in order
            assert (first["text"], first["team"]) == ("flag at their base", True)
            first = await receive_until(ws, is_chat)
        assert first["text"] == "to all"  # the other team got only this one
    for ws in sockets:
        await ws.disconnect()


async def test_bad_lines_are_refused_and_a_flood_is_limited(harness: Harness) -> None:
    match = await harness.new_match(players=2)
    ada, bob = [(await harness.join(match, slot))[0] for slot in range(2)]
    await say(ada, text="   ")
    assert (await receive_until(ada, lambda m: m["type"] == "error"))["code"] == "invalid_message"
    await say(ada, text="hi", team=True)  # the arena has no teams
    error = await receive_until(ada, lambda m: m["type"] == "error")
    assert error["code"] == "invalid_message" and "team" in error["message"]
    for n in range(7):  # a burst of 5 passes, then 1 a second
        await say(ada, text=f"line {n}")
    assert (await receive_until(ada, lambda m: m["type"] == "error"))["code"] == "rate_limited"
    got = [(await receive_until(bob, is_chat))["text"] for _ in range(5)]
    assert got == [f"line {n}" for n in range(5)]
    for ws in (ada, bob):
        await ws.disconnect()


async def test_a_line_from_another_pods_socket_is_said_by_the_owner() -> None:
    store = MemoryStore()
    players = tuple(MatchPlayer(player_id=f"p{i}", name=f"n{i}", slot=i) for i in range(2))
    await store.add_match(MatchRecord(id="m1", mode="arena", seed=1, players=players, created_at=0))
    host = MatchHost(store, MODES, tick_rate=30, start_wait=60)
    try:
        await host.find("m1")  # this pod owns m1; both players' sockets are on edge-b
        host.on_batch(batch("edge-b", ["j", "m1", 1, "p0"], ["j", "m1", 2, "p1"]))
        link = host.relay.link("edge-b")
        link.entries.clear()
        host.on_batch(batch("edge-b", ["m", "m1", 2, "hello", False]))
        lines = [orjson.loads(e[3]) for e in link.entries if e[0] == "f"]
        assert [(line["text"], line["name"]) for line in lines] == [("hello", "n1")] * 2
        hosted = host.owned.get("m1")
        assert hosted is not None
        assert all(isinstance(s.connection, RemoteConnection) for s in hosted.seats)
    finally:
        await host.stop()


async def test_spectators_do_not_get_the_players_lines(harness: Harness) -> None:
    match = await harness.new_match(players=2)
    ada, bob = [(await harness.join(match, slot))[0] for slot in range(2)]
    await receive_until(ada, lambda m: m["type"] == "start")
    token = harness.services.tokens.issue_spectate("p_eve", match.id).token
    eve = spectator(harness, match.id, token)
    await eve.connect()
    assert (await receive(eve))["type"] == "spectating"
    await say(ada, text="secret plan")
    assert (await receive_until(bob, is_chat))["text"] == "secret plan"
    seen = []
    while not await eve.receive_nothing(0.3):
        seen.append(await receive(eve))
    assert seen and not [m for m in seen if is_chat(m)]  # the count came; no line
    for ws in (ada, bob, eve):
        await ws.disconnect()


async def test_lines_keep_to_the_protocol_document(harness: Harness) -> None:
    protocol, _ = await documents(harness)
    sent = {"type": "chat", "text": "gl", "team": True}
    assert_valid(validator(protocol, "#/$defs/modes/$defs/ctf/$defs/clientMessage"), sent)
    match = await harness.new_match(players=2, mode="ctf")
    sockets = [(await harness.join(match, slot))[0] for slot in range(2)]
    await say(sockets[0], text="gl", team=False)
    line = await receive_until(sockets[1], is_chat)
    assert_valid(validator(protocol, "#/$defs/modes/$defs/ctf/$defs/serverMessage"), line)
    for ws in sockets:
        await ws.disconnect()
