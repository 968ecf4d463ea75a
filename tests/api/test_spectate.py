"""Spectate access: who may watch a match (its `spectators` policy), and what they get."""

from __future__ import annotations

from typing import Any

import pytest

from skirmish.base.store.records import MatchRecord
from tests.api.conftest import Api, Player, assert_error, parse_time
from tests.api.test_matches import UNKNOWN, finish_match

ACCESS_KEYS = {"match_id", "ws_path", "token", "expires_at", "live", "delay_ms", "rate_hz", "code"}


def lobby_match(api: Api, **lobby: Any) -> tuple[Player, Player, str]:
    """Ada hosts a lobby (with these fields), Bob joins, both ready, Ada starts."""
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    made = ada.post("/v1/lobbies", json={"name": "room", "max_players": 2, **lobby})
    assert made.status_code == 201, made.text
    lid = made.json()["id"]
    assert made.json()["spectators"] == lobby.get("spectators", "signed_in")
    assert bob.post(f"/v1/lobbies/{lid}/join").status_code == 200
    for player in (ada, bob):
        assert player.post(f"/v1/lobbies/{lid}/ready", json={"ready": True}).status_code == 200
    started = ada.post(f"/v1/lobbies/{lid}/start")
    assert started.status_code == 200, started.text
    return ada, bob, started.json()["match"]["match_id"]


def spectate(player: Player, match_id: str, body: Any = None) -> dict[str, Any]:
    resp = player.post(f"/v1/matches/{match_id}/spectate", json=body)
    assert resp.status_code == 200, resp.text
    access: dict[str, Any] = resp.json()
    assert set(access) == ACCESS_KEYS
    return access


def test_anyone_signed_in_may_watch_by_default(api: Api) -> None:
    _, _, match_id = lobby_match(api)
    eve = api.sign_in("eve")
    access = spectate(eve, match_id)
    assert access["ws_path"] == f"/ws/matches/{match_id}/spectate"
    assert access["live"] is True and access["delay_ms"] == 2000 and access["rate_hz"] == 10
    assert access["code"] is None
    assert parse_time(access["expires_at"]) > 0
    claims = api.services.tokens.verify_spectate(access["token"])
    assert (claims.player_id, claims.match_id) == (eve.player_id, match_id)
    assert eve.get(f"/v1/matches/{match_id}").json()["spectators"] == "signed_in"


def test_a_players_only_match_refuses_others(api: Api) -> None:
    ada, _, match_id = lobby_match(api, spectators="players")
    eve = api.sign_in("eve")
    assert_error(eve.post(f"/v1/matches/{match_id}/spectate"), 403, "forbidden")
    assert spectate(ada, match_id)["live"] is True  # a player may watch their own match


def test_a_link_match_takes_its_code(api: Api) -> None:
    ada, _, match_id = lobby_match(api, spectators="link")
    code = spectate(ada, match_id)["code"]  # its players get the code to share
    assert isinstance(code, str) and len(code) >= 16
    eve = api.sign_in("eve")
    url = f"/v1/matches/{match_id}/spectate"
    assert_error(eve.post(url), 403, "forbidden")
    assert_error(eve.post(url, json={"code": "x" * 16}), 403, "forbidden")
    access = spectate(eve, match_id, {"code": code})
    assert access["code"] is None  # a spectator is not given it
    record = api.portal_call(api.services.store.get_match, match_id)
    assert isinstance(record, MatchRecord) and record.watch_code == code


@pytest.mark.parametrize(
    "body", [{"code": "short"}, {"code": "a b" * 8}, {"code": 12345678}, {"other": 1}]
)
def test_bad_spectate_bodies_are_refused(api: Api, body: Any) -> None:
    _, _, match_id = lobby_match(api, spectators="link")
    eve = api.sign_in("eve")
    assert_error(eve.post(f"/v1/matches/{match_id}/spectate", json=body), 422, "invalid_body")


def test_a_bad_policy_is_refused_and_no_lobby_is_made(api: Api) -> None:
    ada = api.sign_in("ada")
    body = {"name": "room", "max_players": 2, "spectators": "everyone"}
    assert_error(ada.post("/v1/lobbies", json=body), 422, "invalid_body")
    assert ada.get("/v1/lobbies").json()["lobbies"] == []


def test_a_finished_match_is_watched_from_its_recording_or_not_at_all(api: Api) -> None:
    _, _, match_id = lobby_match(api)
    eve = api.sign_in("eve")
    assert_error(eve.post(f"/v1/matches/{UNKNOWN}/spectate"), 404, "not_found")
    finish_match(api, match_id)
    assert_error(eve.post(f"/v1/matches/{match_id}/spectate"), 409, "conflict")  # none kept
    header = {"mode": "arena", "seed": 1, "players": 2, "ticks": 3}
    api.portal_call(api.services.store.save_replay, match_id, header, [])
    assert spectate(eve, match_id)["live"] is False


def test_matchmade_matches_follow_the_servers_policy(make_api: Any) -> None:
    api = make_api(spectators="players", match_fill_seconds=0)
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    for player in (ada, bob):
        assert player.post("/v1/matchmaking/tickets", json={"mode": "arena"}).status_code == 201
    (match,) = api.run_matcher()
    assert match.spectators == "players" and match.watch_code is None
    assert_error(api.sign_in("eve").post(f"/v1/matches/{match.id}/spectate"), 403, "forbidden")


def test_a_recording_follows_the_matchs_policy(api: Api) -> None:
    _, bob, players_only = lobby_match(api, spectators="players")
    header = {"mode": "arena", "seed": 1, "players": 2, "ticks": 3}
    api.portal_call(
        api.services.store.save_replay, players_only, {**header, "match_id": players_only}, []
    )
    finish_match(api, players_only)
    eve = api.sign_in("eve")
    assert_error(eve.get(f"/v1/matches/{players_only}/replay"), 403, "forbidden")
    assert bob.get(f"/v1/matches/{players_only}/replay").status_code == 200
    ada, _, linked = lobby_match(api, spectators="link")
    code = spectate(ada, linked)["code"]
    api.portal_call(api.services.store.save_replay, linked, {**header, "match_id": linked}, [])
    finish_match(api, linked)
    carol = api.sign_in("carol")
    assert_error(carol.get(f"/v1/matches/{linked}/replay"), 403, "forbidden")
    assert_error(carol.get(f"/v1/matches/{linked}/replay?code=bad"), 422, "invalid_query")
    assert carol.get(f"/v1/matches/{linked}/replay?code={code}").status_code == 200
