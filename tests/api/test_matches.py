"""Match info and fresh match tokens."""

from __future__ import annotations

import time
from typing import Any

from skirmish.base.store.records import MatchRecord
from tests.api.conftest import Api, Player, assert_error, parse_time

MATCH_KEYS = {"id", "mode", "settings", "status", "players", "created_at", "result"}
ACCESS_KEYS = {"match_id", "ws_path", "token", "expires_at"}
UNKNOWN = "m_0000000000000000"


def started_lobby_match(api: Api) -> tuple[Player, Player, str]:
    """Ada hosts, Bob joins, both ready, Ada starts: the lobby's match id."""
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    lobby = ada.post("/v1/lobbies", json={"name": "room", "max_players": 2}).json()
    lid = lobby["id"]
    assert bob.post(f"/v1/lobbies/{lid}/join").status_code == 200
    for player in (ada, bob):
        assert player.post(f"/v1/lobbies/{lid}/ready", json={"ready": True}).status_code == 200
    started = ada.post(f"/v1/lobbies/{lid}/start")
    assert started.status_code == 200, started.text
    match_id: str = started.json()["match"]["match_id"]
    return ada, bob, match_id


def get_match(player: Player, match_id: str) -> dict[str, Any]:
    resp = player.get(f"/v1/matches/{match_id}")
    assert resp.status_code == 200, resp.text
    match: dict[str, Any] = resp.json()
    assert set(match) >= MATCH_KEYS, match
    return match


def test_unknown_match_is_not_found(api: Api) -> None:
    ada = api.sign_in("ada")
    assert_error(ada.get(f"/v1/matches/{UNKNOWN}"), 404, "not_found")
    assert_error(ada.post(f"/v1/matches/{UNKNOWN}/token"), 404, "not_found")


def test_a_started_lobby_match_is_waiting_with_players_in_slot_order(api: Api) -> None:
    before = time.time()
    ada, bob, match_id = started_lobby_match(api)
    match = get_match(ada, match_id)
    assert match["id"] == match_id
    assert match["mode"] == "arena"
    assert match["status"] == "waiting"
    assert match["result"] is None
    assert match["players"] == [
        {"player_id": ada.player_id, "name": "ada", "slot": 0},
        {"player_id": bob.player_id, "name": "bob", "slot": 1},
    ]
    assert before - 1 <= parse_time(match["created_at"]) <= time.time() + 1


def test_anyone_signed_in_may_look_at_a_match(api: Api) -> None:
    ada, _, match_id = started_lobby_match(api)
    eve = api.sign_in("eve")
    assert get_match(eve, match_id) == get_match(ada, match_id)


def test_a_player_gets_a_fresh_match_token(api: Api) -> None:
    ada, bob, match_id = started_lobby_match(api)
    for player in (ada, bob):
        resp = player.post(f"/v1/matches/{match_id}/token")
        assert resp.status_code == 200, resp.text
        access = resp.json()
        assert set(access) == ACCESS_KEYS
        assert access["match_id"] == match_id
        assert access["ws_path"] == f"/ws/matches/{match_id}"
        claims = api.services.tokens.verify_match(access["token"])
        assert (claims.player_id, claims.match_id) == (player.player_id, match_id)
        ttl = api.services.settings.match_token_ttl_seconds
        assert time.time() + ttl - 5 <= parse_time(access["expires_at"]) <= time.time() + ttl + 1


def test_a_non_player_gets_no_match_token(api: Api) -> None:
    _, _, match_id = started_lobby_match(api)
    eve = api.sign_in("eve")
    assert_error(eve.post(f"/v1/matches/{match_id}/token"), 403, "forbidden")


def test_a_matchmade_match_hands_tokens_to_its_players(api: Api) -> None:
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    for player in (ada, bob):
        assert player.post("/v1/matchmaking/tickets", json={"mode": "arena"}).status_code == 201
    (match,) = api.run_matcher()
    assert {p["player_id"] for p in get_match(ada, match.id)["players"]} == {
        ada.player_id,
        bob.player_id,
    }
    assert ada.post(f"/v1/matches/{match.id}/token").status_code == 200
    assert_error(api.sign_in("eve").post(f"/v1/matches/{match.id}/token"), 403, "forbidden")


def test_a_finished_match_shows_its_result_and_gives_no_more_tokens(api: Api) -> None:
    ada, _, match_id = started_lobby_match(api)
    result = {"winner": ada.player_id, "reason": "score_limit"}

    def finish(match: MatchRecord) -> MatchRecord:
        now = time.time()
        update = {"status": "finished", "started_at": now, "finished_at": now, "result": result}
        return match.model_copy(update=update)

    # What the match host writes when a match ends.
    api.portal_call(api.services.store.update_match, match_id, finish)

    match = get_match(ada, match_id)
    assert match["status"] == "finished"
    assert match["result"] == result
    assert "over" in assert_error(ada.post(f"/v1/matches/{match_id}/token"), 409, "conflict")


def test_a_replay_is_refused_while_the_match_runs(api: Api) -> None:
    ada, _, match_id = started_lobby_match(api)
    # The seed decides every spawn: it must not leak before the end.
    assert_error(ada.get(f"/v1/matches/{match_id}/replay"), 409, "conflict")


def test_a_finished_match_without_a_recording_has_no_replay(api: Api) -> None:
    ada, _, match_id = started_lobby_match(api)
    finish_match(api, match_id)
    assert_error(ada.get(f"/v1/matches/{match_id}/replay"), 404, "not_found")


def test_a_recorded_replay_is_served_once_finished(api: Api) -> None:
    ada, _, match_id = started_lobby_match(api)
    record = {
        "match_id": match_id,
        "mode": "arena",
        "mode_version": 1,
        "settings": {"score_limit": 3, "time_limit_seconds": 180.0},
        "seed": 42,
        "players": 2,
        "ticks": 3,
        "inputs": [[1, 0, {"type": "input", "seq": 1, "dx": 1, "dy": 0, "aim": 0, "fire": False}]],
    }
    header = {k: v for k, v in record.items() if k != "inputs"}
    api.portal_call(api.services.store.save_replay, match_id, header, record["inputs"])
    finish_match(api, match_id)
    resp = ada.get(f"/v1/matches/{match_id}/replay")
    assert resp.status_code == 200 and resp.json() == record


def finish_match(api: Api, match_id: str) -> None:
    def finish(match: MatchRecord) -> MatchRecord:
        now = time.time()
        return match.model_copy(update={"status": "finished", "finished_at": now, "result": {}})

    api.portal_call(api.services.store.update_match, match_id, finish)


def test_a_match_nobody_connects_to_ends_as_abandoned(make_api: Any) -> None:
    api = make_api(matcher_interval_seconds=0.05, match_join_timeout_seconds=0.3)
    ada, _, match_id = started_lobby_match(api)
    assert get_match(ada, match_id)["status"] == "waiting"
    deadline = time.monotonic() + 10
    while (match := get_match(ada, match_id))["status"] != "finished":
        assert time.monotonic() < deadline, match
        time.sleep(0.05)
    assert match["result"]["reason"] == "abandoned" and match["result"]["winner"] is None
    assert "over" in assert_error(ada.post(f"/v1/matches/{match_id}/token"), 409, "conflict")
