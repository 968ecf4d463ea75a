"""Per-mode settings: published by each mode, chosen per lobby and per ticket, validated,
and carried to the match that is made."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.api.conftest import Api, Player, assert_error

LOBBIES = "/v1/lobbies"
TICKETS = "/v1/matchmaking/tickets"
ARENA_DEFAULTS = {"score_limit": 10, "time_limit_seconds": 180.0}


def lobby_body(**extra: Any) -> dict[str, Any]:
    return {"mode": "arena", "name": "room", "max_players": 4, **extra}


def modes_by_name(api: Api) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in api.client.get("/v1/modes").json()["modes"]}


def test_each_mode_publishes_its_settings_with_their_defaults(api: Api) -> None:
    modes = modes_by_name(api)
    arena, ctf = modes["arena"]["settings_schema"], modes["ctf"]["settings_schema"]
    assert {k: v["default"] for k, v in arena["properties"].items()} == ARENA_DEFAULTS
    assert {k: v["default"] for k, v in ctf["properties"].items()} == {
        "capture_limit": 3,
        "time_limit_seconds": 300,
    }
    assert arena["additionalProperties"] is False and ctf["additionalProperties"] is False


def test_the_server_defaults_are_the_published_defaults(make_api: Callable[..., Api]) -> None:
    api = make_api(arena_score_limit=25, arena_time_limit_seconds=60)
    arena = modes_by_name(api)["arena"]["settings_schema"]["properties"]
    assert arena["score_limit"]["default"] == 25
    assert arena["time_limit_seconds"]["default"] == 60


def test_a_lobby_keeps_its_chosen_settings_with_the_defaults_filled_in(api: Api) -> None:
    host = api.sign_in("host")
    resp = host.post(LOBBIES, json=lobby_body(settings={"score_limit": 3}))
    assert resp.status_code == 201, resp.text
    assert resp.json()["settings"] == {**ARENA_DEFAULTS, "score_limit": 3}
    plain = api.sign_in("plain").post(LOBBIES, json=lobby_body())
    assert plain.json()["settings"] == ARENA_DEFAULTS


BAD_SETTINGS = [
    ({"score_limit": 0}, "score_limit"),
    ({"score_limit": "3"}, "score_limit"),
    ({"score_limit": True}, "score_limit"),
    ({"time_limit_seconds": 1e9}, "time_limit_seconds"),
    ({"lives": 3}, "lives"),
]


@pytest.mark.parametrize(("settings", "named"), BAD_SETTINGS)
def test_invalid_lobby_settings_are_422_and_create_nothing(
    api: Api, settings: dict[str, Any], named: str
) -> None:
    host = api.sign_in("host")
    message = assert_error(
        host.post(LOBBIES, json=lobby_body(settings=settings)), 422, "invalid_settings"
    )
    assert named in message
    assert host.get(LOBBIES).json()["lobbies"] == []


def test_the_host_changes_the_settings_and_everyone_must_ready_again(api: Api) -> None:
    host, guest = api.sign_in("host"), api.sign_in("guest")
    lobby = host.post(LOBBIES, json=lobby_body()).json()
    url = f"{LOBBIES}/{lobby['id']}"
    guest.post(f"{url}/join")
    for player in (host, guest):
        assert player.post(f"{url}/ready", json={"ready": True}).status_code == 200
    assert_error(guest.post(f"{url}/settings", json={"settings": {}}), 403, "forbidden")
    assert_error(
        host.post(f"{url}/settings", json={"settings": {"score_limit": -1}}),
        422,
        "invalid_settings",
    )
    unchanged = host.get(url).json()
    assert unchanged["settings"] == ARENA_DEFAULTS
    assert all(m["ready"] for m in unchanged["members"])

    changed = host.post(f"{url}/settings", json={"settings": {"score_limit": 2}}).json()
    assert changed["settings"]["score_limit"] == 2
    assert not any(m["ready"] for m in changed["members"])


def test_a_started_lobby_plays_its_settings(api: Api) -> None:
    host, guest = api.sign_in("host"), api.sign_in("guest")
    lobby = host.post(LOBBIES, json=lobby_body(settings={"time_limit_seconds": 30})).json()
    url = f"{LOBBIES}/{lobby['id']}"
    guest.post(f"{url}/join")
    for player in (host, guest):
        player.post(f"{url}/ready", json={"ready": True})
    started = host.post(f"{url}/start").json()
    match = host.get(f"/v1/matches/{started['match']['match_id']}").json()
    assert match["settings"] == {**ARENA_DEFAULTS, "time_limit_seconds": 30}
    assert_error(host.post(f"{url}/settings", json={"settings": {}}), 409, "conflict")


def ticket(player: Player, **body: Any) -> dict[str, Any]:
    resp = player.post(TICKETS, json={"mode": "arena", **body})
    assert resp.status_code == 201, resp.text
    result: dict[str, Any] = resp.json()
    return result


def test_only_players_who_chose_the_same_settings_are_matched(api: Api) -> None:
    short = [ticket(api.sign_in(f"s{i}"), settings={"score_limit": 1}) for i in range(2)]
    plain = ticket(api.sign_in("plain"))
    explicit = ticket(api.sign_in("explicit"), settings={"score_limit": 10})
    assert plain["settings"] == explicit["settings"] == ARENA_DEFAULTS
    made = {frozenset(p.player_id for p in m.players): m for m in api.run_matcher()}
    assert set(made) == {
        frozenset(t["player_id"] for t in short),
        frozenset({plain["player_id"], explicit["player_id"]}),
    }
    settings = {m.settings["score_limit"] for m in made.values()}
    assert settings == {1, 10}


def test_invalid_ticket_settings_are_422_and_queue_nothing(api: Api) -> None:
    player = api.sign_in("p")
    resp = player.post(TICKETS, json={"mode": "ctf", "settings": {"capture_limit": 99}})
    assert "capture_limit" in assert_error(resp, 422, "invalid_settings")
    assert api.portal_call(api.services.store.searching_tickets) == []


def test_a_mode_without_settings_takes_only_none(make_api: Callable[..., Api]) -> None:
    api = make_api(mode_specs=["arena", "tag"])
    assert modes_by_name(api)["tag"]["settings_schema"]["additionalProperties"] is False
    player = api.sign_in("p")
    assert ticket(player, mode="tag", settings={})["settings"] == {}
    other = api.sign_in("q")
    resp = other.post(TICKETS, json={"mode": "tag", "settings": {"rounds": 3}})
    assert_error(resp, 422, "invalid_settings")


def test_the_openapi_document_ties_settings_to_the_mode(api: Api) -> None:
    """What the document calls a valid body is what the server takes, settings included."""
    components = api.client.get("/openapi.json").json()["components"]["schemas"]
    ticket = Draft202012Validator(components["TicketIn"])
    assert ticket.is_valid({"mode": "ctf", "settings": {"capture_limit": 2}})
    assert ticket.is_valid({"settings": {"score_limit": 2}})  # the default mode: the arena
    assert not ticket.is_valid({"mode": "ctf", "settings": {"score_limit": 2}})
    assert not ticket.is_valid({"settings": {"capture_limit": 2}})
    assert not ticket.is_valid({"mode": "arena", "settings": {"score_limit": 0}})
    assert ticket.is_valid({"mode": "chess", "settings": {"anything": 1}})  # 404: no such mode
    lobby_in = components["LobbyIn"]
    del lobby_in["properties"]["name"]["pattern"]  # \p{L}: ECMA-262, beyond Python's re
    lobby = Draft202012Validator(lobby_in)
    assert lobby.is_valid(lobby_body(mode="ctf", settings={"capture_limit": 1}))
    assert not lobby.is_valid(lobby_body(mode="ctf", settings={"lives": 1}))
    change = Draft202012Validator(components["SettingsIn"])
    assert change.is_valid({"settings": {"capture_limit": 2}})
    assert not change.is_valid({"settings": {"lives": 1}})


def test_equal_settings_spelled_differently_are_one_queue(api: Api) -> None:
    """JSON has one number type: 180 and 180.0 seconds are the same settings."""
    spelled = ticket(api.sign_in("a"), settings={"time_limit_seconds": 180, "score_limit": 10.0})
    default = ticket(api.sign_in("b"))
    assert spelled["settings"] == default["settings"] == ARENA_DEFAULTS
    assert isinstance(spelled["settings"]["score_limit"], int)
    (made,) = api.run_matcher()
    assert {p.player_id for p in made.players} == {spelled["player_id"], default["player_id"]}
