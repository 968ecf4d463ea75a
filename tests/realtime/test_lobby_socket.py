"""The lobby socket in process: through the real router, token middleware, consumer, lobby
rooms and their in-process room bus; lobby changes made through the real REST API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson

from skirmish.base.tokens import TokenService
from tests.realtime.conftest import Harness, HarnessFactory, receive_until
from tests.realtime.lobby_support import Member, closed_with, frame, rest

ADMIN = "admin-secret-0123456789abcdef0123456789"


async def test_members_get_a_snapshot_then_every_change_as_each_sees_it(harness: Harness) -> None:
    async with rest(harness) as guest:
        ada, bob = await guest("ada"), await guest("bob")
        created = await ada.lobby()
        lobby_id = created["id"]
        a, snapshot = await ada.connect(lobby_id)
        assert snapshot["lobby"] == await ada.call("GET", f"/v1/lobbies/{lobby_id}")
        joined = await bob.call("POST", f"/v1/lobbies/{lobby_id}/join")
        pushed = await frame(a)
        assert pushed == {"type": "lobby", "event": "joined", "lobby": joined}
        b, _ = await bob.connect(lobby_id)
        await bob.call("POST", f"/v1/lobbies/{lobby_id}/ready", {"ready": True})
        for ws in (a, b):
            ready = await frame(ws)
            assert ready["event"] == "ready" and ready["lobby"]["members"][1]["ready"] is True
        await ada.call("POST", f"/v1/lobbies/{lobby_id}/settings", {"settings": {"score_limit": 3}})
        for ws in (a, b):
            settings = await frame(ws)
            assert settings["event"] == "settings"
            assert settings["lobby"]["settings"]["score_limit"] == 3
            assert not any(m["ready"] for m in settings["lobby"]["members"])  # cleared
        for member in (ada, bob):
            await member.call("POST", f"/v1/lobbies/{lobby_id}/ready", {"ready": True})
        await ada.call("POST", f"/v1/lobbies/{lobby_id}/start")
        tokens = harness.services.tokens
        for member, ws in ((ada, a), (bob, b)):
            frames, code = await closed_with(ws)
            started = frames[-1]
            assert started["event"] == "started" and code == 1000  # the lobby is done
            claims = tokens.verify_match(started["lobby"]["match"]["token"])
            assert claims.player_id == member.player_id  # each member's own seat
            assert [f["lobby"]["revision"] for f in frames] == sorted({
                f["lobby"]["revision"] for f in frames
            })  # fmt: skip


async def test_a_leaver_is_told_then_closed_and_the_last_one_out_closes_it(
    harness: Harness,
) -> None:
    async with rest(harness) as guest:
        ada, bob = await guest("ada"), await guest("bob")
        lobby_id = (await ada.lobby())["id"]
        await bob.call("POST", f"/v1/lobbies/{lobby_id}/join")
        a, _ = await ada.connect(lobby_id)
        b, _ = await bob.connect(lobby_id)
        await bob.call("POST", f"/v1/lobbies/{lobby_id}/leave")
        frames, code = await closed_with(b)
        assert [f["event"] for f in frames] == ["left"] and code == 1000
        assert frames[0]["lobby"]["members"][0]["name"] == "ada"
        assert (await frame(a))["event"] == "left"
        await ada.call("POST", f"/v1/lobbies/{lobby_id}/leave")
        frames, code = await closed_with(a)
        assert frames[-1]["event"] == "closed" and frames[-1]["lobby"]["status"] == "closed"
        assert code == 1000
    assert harness.services.rooms.sockets == {}
    await asyncio.sleep(0.05)  # the room is left once its last socket is gone
    assert harness.services.rooms.bus.rooms == {"announcements"}


async def refusal(member: Member, lobby_id: str, **options: Any) -> tuple[str, int]:
    ws = member.socket(lobby_id, **options)
    connected, _ = await ws.connect()
    assert connected  # accepted, then closed: the client learns why
    frames, code = await closed_with(ws)
    assert [f["type"] for f in frames] == ["error"]
    return frames[0]["code"], code


async def test_non_members_and_bad_tokens_are_refused(harness: Harness) -> None:
    async with rest(harness) as guest:
        ada, eve = await guest("ada"), await guest("eve")
        public = await ada.call(
            "POST", "/v1/lobbies", {"mode": "arena", "name": "p", "max_players": 2}
        )
        await ada.call("POST", f"/v1/lobbies/{public['id']}/leave")  # closed now
        other = await guest("cy")
        private = await other.lobby(private=True)
        open_one = (await (await guest("dan")).lobby())["id"]
        match_token = harness.services.tokens.issue_match(eve.player_id, "m_1").token
        foreign = TokenService("another-secret-0123456789abcdefghij").issue_player("p", "x").token
        assert await refusal(eve, open_one) == ("forbidden", 4003)
        assert await refusal(eve, public["id"]) == ("forbidden", 4003)  # nobody is in it
        assert await refusal(eve, private["id"]) == ("not_found", 4004)  # as if none
        assert await refusal(eve, "l_0000000000000000") == ("not_found", 4004)
        for bogus in ("x" * 100, "l_%zz", "lobby.l_1"):  # not an id: no room is even joined
            assert await refusal(eve, bogus) == ("not_found", 4004)
        assert harness.services.rooms.bus.rooms <= {"announcements", f"lobby.{open_one}"}
        assert await refusal(eve, open_one, token=match_token) == ("unauthorized", 4001)
        assert await refusal(eve, open_one, token=foreign) == ("unauthorized", 4001)
        origin = [(b"origin", b"https://evil.example"), (b"host", b"pod")]
        assert await refusal(eve, open_one, headers=origin) == ("origin_not_allowed", 4003)
        # With the code, eve is a member: in.
        await eve.call("POST", "/v1/lobbies/join", {"code": private["code"]})
        ws, snapshot = await eve.connect(private["id"])
        assert snapshot["lobby"]["code"] == private["code"]
        await ws.disconnect()


async def test_chat_reaches_every_member_as_text_with_who_and_when(harness: Harness) -> None:
    async with rest(harness) as guest:
        ada, bob = await guest("ada"), await guest("bob")
        lobby_id = (await ada.lobby())["id"]
        await bob.call("POST", f"/v1/lobbies/{lobby_id}/join")
        a, _ = await ada.connect(lobby_id)
        b, _ = await bob.connect(lobby_id)
        before = time.time()
        await b.send_to(text_data='{"type":"chat","text":"  <b>gl hf</b> ☃ "}')
        for ws in (a, b):  # the sender too
            line = await frame(ws)
            assert line["type"] == "chat" and line["text"] == "<b>gl hf</b> ☃"  # as written
            assert (line["player_id"], line["name"]) == (bob.player_id, "bob")
            at = line["at"]
            assert at.endswith("Z") and abs(_seconds(at) - before) < 5
        await b.send_to(text_data='{"type":"ping","t":7}')
        assert await frame(b) == {"type": "pong", "t": 7}


def _seconds(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


BAD = [
    ("not json", "bad_json"),
    ("[1]", "bad_json"),
    ('{"type":"dance"}', "unknown_type"),
    ('{"type":"input","seq":1}', "unknown_type"),
    ('{"type":"chat"}', "invalid_message"),
    ('{"type":"chat","text":"   "}', "invalid_message"),
    ('{"type":"chat","text":"' + "x" * 201 + '"}', "invalid_message"),
    ('{"type":"chat","text":"a\\u0000b"}', "invalid_message"),
    ('{"type":"chat","text":"a\\u202eb"}', "invalid_message"),
    ('{"type":"chat","text":7}', "invalid_message"),
    ('{"type":"chat","text":"hi","to":"bob"}', "invalid_message"),
    ('{"type":"ping","t":"soon"}', "invalid_message"),
]


async def test_bad_messages_get_an_error_each_and_20_close_1008(harness: Harness) -> None:
    async with rest(harness) as guest:
        ada = await guest("ada")
        lobby_id = (await ada.lobby())["id"]
        ws, _ = await ada.connect(lobby_id)
        for text, code in BAD:
            await ws.send_to(text_data=text)
            error = await frame(ws)
            assert (error["type"], error["code"]) == ("error", code), (text, error)
        for _ in range(20 - len(BAD)):
            await ws.send_to(text_data="{}")
        frames, code = await closed_with(ws)
        assert [f["code"] for f in frames] == ["unknown_type"] * (20 - len(BAD)) and code == 1008
        big = ada.socket(lobby_id)
        await big.connect()
        await frame(big)
        await big.send_to(text_data='{"type":"chat","text":"' + "x" * 4100 + '"}')
        assert await closed_with(big) == ([], 1009)


async def test_a_chat_flood_is_limited_then_closed_and_others_chat_on(harness: Harness) -> None:
    async with rest(harness) as guest:
        ada, bob = await guest("ada"), await guest("bob")
        lobby_id = (await ada.lobby())["id"]
        await bob.call("POST", f"/v1/lobbies/{lobby_id}/join")
        a, _ = await ada.connect(lobby_id)
        b, _ = await bob.connect(lobby_id)
        for n in range(40):  # a burst of 5 passes, then one a second
            await a.send_to(text_data=orjson.dumps({"type": "chat", "text": f"spam {n}"}).decode())
        frames, code = await closed_with(a)
        errors = [f for f in frames if f["type"] == "error"]
        assert [e["code"] for e in errors] == ["rate_limited"] and code == 1008  # one error
        lines = [(await frame(b))["text"] for _ in range(5)]  # what passed the bucket
        assert lines == [f"spam {n}" for n in range(5)]
        extra = await b.receive_nothing(0.05) or (await frame(b))["text"]
        assert extra is True or extra == "spam 5"  # (a second's worth more, on a slow run)
        await b.send_to(text_data='{"type":"chat","text":"still here"}')
        assert (await frame(b))["text"] == "still here"


async def test_lobby_sockets_count_against_the_players_sockets(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(ws_max_sockets_per_player=2)
    async with rest(harness) as guest:
        ada = await guest("ada")
        lobby_id = (await ada.lobby())["id"]
        first, _ = await ada.connect(lobby_id)
        second, _ = await ada.connect(lobby_id)  # two tabs: both served
        assert await refusal(ada, lobby_id) == ("too_many_connections", 4029)
        await first.disconnect()
        third, _ = await ada.connect(lobby_id)
        for ws in (second, third):
            await ws.disconnect()


async def test_a_silent_socket_is_closed_after_twice_the_idle_timeout(harness: Harness) -> None:
    async with rest(harness) as guest:
        ada = await guest("ada")
        ws, _ = await ada.connect((await ada.lobby())["id"])
        guard = harness.services.guard
        assert guard is not None
        guard.clock = lambda: time.monotonic() + 40  # past the match sockets' 30 s
        guard.sweep()
        await ws.send_to(text_data='{"type":"ping","t":1}')
        assert await frame(ws) == {"type": "pong", "t": 1}  # still open
        guard.clock = lambda: time.monotonic() + 61
        guard.sweep()
        frames, code = await closed_with(ws)
        assert [f["code"] for f in frames] == ["idle_timeout"] and code == 4008


async def test_announcements_reach_every_lobby_and_match_socket(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(admin_token=ADMIN)
    match = await harness.new_match()
    player, _ = await harness.join(match, 0)
    transport = httpx.ASGITransport(app=harness.app)
    async with (
        rest(harness) as guest,
        httpx.AsyncClient(transport=transport, base_url="http://pod") as http,
    ):
        ada = await guest("ada")
        ws, _ = await ada.connect((await ada.lobby())["id"])
        admin = {"Authorization": f"Bearer {ADMIN}"}
        refused = await http.post("/admin/announce", json={"text": " \u200b "}, headers=admin)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_body"
        resp = await http.post("/admin/announce", json={"text": " back in 5 "}, headers=admin)
        assert resp.status_code == 200, resp.text
        said = {"type": "announcement", "text": "back in 5", "at": resp.json()["at"]}
        assert await frame(ws) == said
        assert await receive_until(player, lambda m: m["type"] == "announcement") == said
        player_token = {"Authorization": f"Bearer {ada.token}"}
        anyone = await http.post("/admin/announce", json={"text": "hi"}, headers=player_token)
        assert anyone.status_code == 401


async def test_a_drain_sends_lobby_sockets_to_another_pod(harness: Harness) -> None:
    async with rest(harness) as guest:
        ada = await guest("ada")
        ws_lobby = (await ada.lobby())["id"]
        ws, _ = await ada.connect(ws_lobby)
        assert await harness.services.drain() == 1
        frames, code = await closed_with(ws)
        assert frames == [{"type": "reconnect", "reason": "server_restarting"}] and code == 1012
        assert await refusal(ada, ws_lobby) == ("server_restarting", 1012)  # not here: elsewhere


async def test_a_change_a_socket_missed_is_sent_at_the_next_check(harness: Harness) -> None:
    """Pushes are best effort (a layer may lose one): each pod reads its lobbies again now
    and then, and sends what a socket has not seen, never anything older."""
    async with rest(harness) as guest:
        ada, bob = await guest("ada"), await guest("bob")
        lobby_id = (await ada.lobby())["id"]
        ws, _ = await ada.connect(lobby_id)
        rooms = harness.services.rooms
        lobby = await harness.services.store.update_lobby(
            lobby_id, lambda lb: lb.model_copy(update={"name": "renamed"})
        )  # a change nobody pushed
        rooms.resync(lobby_id, lobby)
        assert (await frame(ws))["lobby"]["name"] == "renamed"
        rooms.resync(lobby_id, lobby)  # nothing newer: nothing sent
        await bob.call("POST", f"/v1/lobbies/{lobby_id}/join")
        assert (await frame(ws))["event"] == "joined"
        assert await ws.receive_nothing(0.1)


async def test_a_room_nobody_here_needs_is_left_at_the_next_check(harness: Harness) -> None:
    """A leave can be lost (the outbox full, the layer away): the check leaves what no
    socket of this pod needs, so the pod does not stay in a lobby's group for good."""
    async with rest(harness) as guest:
        ada = await guest("ada")
        lobby_id = (await ada.lobby())["id"]
        ws, _ = await ada.connect(lobby_id)
        rooms = harness.services.rooms
        await rooms.bus.join("lobby.l_00000000000000aa")  # as if its leave had been lost
        await rooms.leave_empty_rooms()
        assert rooms.bus.rooms == {"announcements", f"lobby.{lobby_id}"}
        await ws.disconnect()
