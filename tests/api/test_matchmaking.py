"""Modes, and the matchmaking queue: tickets, the matcher, cancelling and expiry."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.api.conftest import Api, Player, assert_error, parse_time

TICKETS = "/v1/matchmaking/tickets"
TICKET_KEYS = {"id", "player_id", "mode", "settings", "status", "created_at", "match"}
ACCESS_KEYS = {"match_id", "ws_path", "token", "expires_at"}


def create_ticket(player: Player, body: Any = None) -> dict[str, Any]:
    resp = player.post(TICKETS, json={"mode": "arena"} if body is None else body)
    assert resp.status_code == 201, resp.text
    ticket: dict[str, Any] = resp.json()
    assert set(ticket) == TICKET_KEYS
    return ticket


def get_ticket(player: Player, ticket_id: str) -> dict[str, Any]:
    resp = player.get(f"{TICKETS}/{ticket_id}")
    assert resp.status_code == 200, resp.text
    ticket: dict[str, Any] = resp.json()
    assert set(ticket) == TICKET_KEYS
    return ticket


def assert_match_access(api: Api, access: dict[str, Any], player: Player) -> None:
    assert set(access) == ACCESS_KEYS
    assert access["match_id"].startswith("m_")
    assert access["ws_path"] == f"/ws/matches/{access['match_id']}"
    claims = api.services.tokens.verify_match(access["token"])
    assert (claims.player_id, claims.match_id) == (player.player_id, access["match_id"])
    ttl = api.services.settings.match_token_ttl_seconds
    assert time.time() + ttl - 5 <= parse_time(access["expires_at"]) <= time.time() + ttl + 1


# -- modes ------------------------------------------------------------------------------


def test_modes_lists_arena_with_what_a_client_needs_to_play_it(api: Api) -> None:
    resp = api.client.get("/v1/modes")
    assert resp.status_code == 200
    arena, ctf = resp.json()["modes"]
    assert ctf["name"] == "ctf" and ctf["teams"] == 2 and ctf["hides_information"] is True
    assert ctf["tick_rate"] == 20 and ctf["input_schema"]["required"] == ["dx", "dy", "sprint"]
    schema = arena.pop("input_schema")
    settings = arena.pop("settings_schema")
    assert settings["properties"]["score_limit"]["default"] == 10
    assert settings["additionalProperties"] is False
    assert arena == {
        "name": "arena", "version": 1, "min_players": 2, "max_players": 10, "tick_rate": 30,
        "teams": 0, "hides_information": False,
    }  # fmt: skip
    assert schema["required"] == ["dx", "dy", "aim", "fire"]


def test_modes_report_their_own_tick_rates(make_api) -> None:
    api = make_api(tick_rate=25)  # the arena's rate; ctf keeps its own
    arena, ctf = api.client.get("/v1/modes").json()["modes"]
    assert arena["tick_rate"] == 25 and ctf["tick_rate"] == 20


# -- creating and reading tickets -------------------------------------------------------


def test_create_ticket_is_searching_without_a_match(api: Api) -> None:
    ada = api.sign_in("ada")
    before = time.time()
    ticket = create_ticket(ada)
    assert ticket["id"].startswith("t_")
    assert ticket["player_id"] == ada.player_id
    assert ticket["mode"] == "arena"
    assert ticket["status"] == "searching"
    assert ticket["match"] is None
    assert before - 1 <= parse_time(ticket["created_at"]) <= time.time() + 1
    assert get_ticket(ada, ticket["id"]) == ticket


def test_ticket_mode_defaults_to_arena(api: Api) -> None:
    assert create_ticket(api.sign_in("ada"), body={})["mode"] == "arena"


def test_unknown_mode_is_not_found(api: Api) -> None:
    ada = api.sign_in("ada")
    message = assert_error(ada.post(TICKETS, json={"mode": "chess"}), 404, "not_found")
    assert "chess" in message
    # Nothing was queued: a real ticket can still be created.
    create_ticket(ada)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": ""}, "mode"),
        ({"mode": "x" * 33}, "mode"),
        ({"mode": 5}, "mode"),
        ({"mode": None}, "mode"),
        ({"mode": ["arena"]}, "mode"),
        ({"mode": "arena", "rating": 3000}, "rating"),
    ],
    ids=["empty", "too-long", "number", "null", "list", "extra-field"],
)
def test_invalid_ticket_bodies_are_rejected(api: Api, body: Any, field: str) -> None:
    ada = api.sign_in("ada")
    message = assert_error(ada.post(TICKETS, json=body), 422, "invalid_body")
    assert message.startswith(field), message


@pytest.mark.parametrize("raw", [b"{bad", b"[]", b'"arena"'])
def test_malformed_ticket_body_is_rejected(api: Api, raw: bytes) -> None:
    assert_error(api.sign_in("ada").post_raw(TICKETS, raw), 422, "invalid_body")


def test_a_player_has_at_most_one_searching_ticket(api: Api) -> None:
    ada = api.sign_in("ada")
    first = create_ticket(ada)
    assert_error(ada.post(TICKETS, json={"mode": "arena"}), 409, "conflict")
    assert get_ticket(ada, first["id"])["status"] == "searching"
    # Someone else can still queue.
    create_ticket(api.sign_in("bob"))


def test_a_new_ticket_is_allowed_once_the_old_one_is_cancelled(api: Api) -> None:
    ada = api.sign_in("ada")
    first = create_ticket(ada)
    assert ada.delete(f"{TICKETS}/{first['id']}").status_code == 200
    second = create_ticket(ada)
    assert second["id"] != first["id"]
    assert second["status"] == "searching"


def test_someone_elses_ticket_is_not_found(api: Api) -> None:
    ada, eve = api.sign_in("ada"), api.sign_in("eve")
    ticket = create_ticket(ada)
    assert_error(eve.get(f"{TICKETS}/{ticket['id']}"), 404, "not_found")
    assert_error(eve.delete(f"{TICKETS}/{ticket['id']}"), 404, "not_found")
    # Eve's attempt to cancel it changed nothing.
    assert get_ticket(ada, ticket["id"])["status"] == "searching"


def test_unknown_ticket_is_not_found(api: Api) -> None:
    ada = api.sign_in("ada")
    assert_error(ada.get(f"{TICKETS}/t_0000000000000000"), 404, "not_found")
    assert_error(ada.delete(f"{TICKETS}/t_0000000000000000"), 404, "not_found")


# -- cancelling -------------------------------------------------------------------------


def test_cancel_leaves_the_queue(api: Api) -> None:
    ada = api.sign_in("ada")
    ticket = create_ticket(ada)
    resp = ada.delete(f"{TICKETS}/{ticket['id']}")
    assert resp.status_code == 200, resp.text
    cancelled = resp.json()
    assert set(cancelled) == TICKET_KEYS
    assert cancelled["id"] == ticket["id"]
    assert cancelled["status"] == "cancelled"
    assert cancelled["match"] is None
    assert get_ticket(ada, ticket["id"])["status"] == "cancelled"


def test_cancelling_twice_is_harmless(api: Api) -> None:
    ada = api.sign_in("ada")
    ticket = create_ticket(ada)
    assert ada.delete(f"{TICKETS}/{ticket['id']}").status_code == 200
    again = ada.delete(f"{TICKETS}/{ticket['id']}")
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "cancelled"


def test_a_cancelled_ticket_is_never_matched(api: Api) -> None:
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    gone = create_ticket(ada)
    ada.delete(f"{TICKETS}/{gone['id']}")
    waiting = create_ticket(bob)
    assert api.run_matcher() == []
    assert get_ticket(ada, gone["id"])["status"] == "cancelled"
    assert get_ticket(bob, waiting["id"])["status"] == "searching"


# -- matching ---------------------------------------------------------------------------


def matched_pair(api: Api) -> tuple[Player, Player, dict[str, Any], dict[str, Any]]:
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    ticket_a, ticket_b = create_ticket(ada), create_ticket(bob)
    (match,) = api.run_matcher()
    assert {p.player_id for p in match.players} == {ada.player_id, bob.player_id}
    return ada, bob, get_ticket(ada, ticket_a["id"]), get_ticket(bob, ticket_b["id"])


def test_two_players_are_matched_into_the_same_match(api: Api) -> None:
    ada, bob, ticket_a, ticket_b = matched_pair(api)

    assert ticket_a["status"] == ticket_b["status"] == "matched"
    assert ticket_a["match"]["match_id"] == ticket_b["match"]["match_id"]
    assert_match_access(api, ticket_a["match"], ada)
    assert_match_access(api, ticket_b["match"], bob)

    match = ada.get(f"/v1/matches/{ticket_a['match']['match_id']}").json()
    assert match["status"] == "waiting"
    assert match["mode"] == "arena"
    players = sorted(match["players"], key=lambda p: p["slot"])
    assert [p["slot"] for p in players] == [0, 1]
    assert {(p["player_id"], p["name"]) for p in players} == {
        (ada.player_id, "ada"),
        (bob.player_id, "bob"),
    }


def test_cancel_after_matched_is_a_conflict(api: Api) -> None:
    ada, _, ticket, _ = matched_pair(api)
    message = assert_error(ada.delete(f"{TICKETS}/{ticket['id']}"), 409, "conflict")
    assert "matched" in message
    after = get_ticket(ada, ticket["id"])
    assert after["status"] == "matched"
    assert after["match"]["match_id"] == ticket["match"]["match_id"]


def test_a_matched_player_may_queue_again(api: Api) -> None:
    ada, _, _, _ = matched_pair(api)
    assert create_ticket(ada)["status"] == "searching"


def test_a_lone_player_keeps_searching(api: Api) -> None:
    ada = api.sign_in("ada")
    ticket = create_ticket(ada)
    assert api.run_matcher() == []
    assert get_ticket(ada, ticket["id"])["status"] == "searching"


def test_matcher_waits_to_fill_then_starts_with_the_mode_minimum(make_api) -> None:
    api = make_api(match_target_size=4, match_fill_seconds=0.5)
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    tickets = [(ada, create_ticket(ada)), (bob, create_ticket(bob))]
    assert api.run_matcher() == []  # two of four, and the fill time is not up yet
    assert all(get_ticket(p, t["id"])["status"] == "searching" for p, t in tickets)
    time.sleep(0.6)
    (match,) = api.run_matcher()
    assert len(match.players) == 2
    assert all(get_ticket(p, t["id"])["status"] == "matched" for p, t in tickets)


def test_a_full_group_is_matched_at_once(make_api) -> None:
    api = make_api(match_target_size=4, match_fill_seconds=60)
    players = [api.sign_in(f"p{i}") for i in range(4)]
    tickets = [create_ticket(p) for p in players]
    (match,) = api.run_matcher()
    assert sorted(p.slot for p in match.players) == [0, 1, 2, 3]
    ids = {
        get_ticket(p, t["id"])["match"]["match_id"] for p, t in zip(players, tickets, strict=True)
    }
    assert ids == {match.id}


def test_the_background_matcher_matches_waiting_players(make_api) -> None:
    """The real loop, as a client sees it: poll the tickets until both are matched."""
    api = make_api(matcher_interval_seconds=0.25, match_fill_seconds=0, match_target_size=2)
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    ticket_a, ticket_b = create_ticket(ada), create_ticket(bob)

    deadline = time.monotonic() + 5
    while True:
        seen_a, seen_b = get_ticket(ada, ticket_a["id"]), get_ticket(bob, ticket_b["id"])
        if seen_a["status"] == seen_b["status"] == "matched" or time.monotonic() > deadline:
            break
        time.sleep(0.05)

    assert seen_a["status"] == seen_b["status"] == "matched", (seen_a, seen_b)
    assert seen_a["match"]["match_id"] == seen_b["match"]["match_id"]
    assert_match_access(api, seen_a["match"], ada)
    assert_match_access(api, seen_b["match"], bob)


# -- expiry -----------------------------------------------------------------------------


def test_a_ticket_expires_after_its_ttl(make_api) -> None:
    api = make_api(ticket_ttl_seconds=0.5)
    ada = api.sign_in("ada")
    ticket = create_ticket(ada)
    api.run_matcher()
    assert get_ticket(ada, ticket["id"])["status"] == "searching"  # not yet

    time.sleep(0.6)
    api.run_matcher()
    expired = get_ticket(ada, ticket["id"])
    assert expired["status"] == "expired"
    assert expired["match"] is None
    # Too late to cancel, but the player may queue again.
    assert "expired" in assert_error(ada.delete(f"{TICKETS}/{ticket['id']}"), 409, "conflict")
    assert create_ticket(ada)["status"] == "searching"


def test_an_expired_ticket_is_not_matched(make_api) -> None:
    api = make_api(ticket_ttl_seconds=0.5)
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    old = create_ticket(ada)
    time.sleep(0.6)
    fresh = create_ticket(bob)
    assert api.run_matcher() == []
    assert get_ticket(ada, old["id"])["status"] == "expired"
    assert get_ticket(bob, fresh["id"])["status"] == "searching"
