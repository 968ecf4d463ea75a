"""Private lobbies: never listed, invisible to others, joined with a code; and revisions."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.lobbies import CODE_ALPHABET
from tests.api.conftest import Api, Player, assert_error
from tests.api.test_lobbies import LOBBIES, join, listed, ok, ready

CODE = re.compile(f"^[{CODE_ALPHABET}]{{6}}$")


def create_private(host: Player, max_players: int = 4) -> dict[str, Any]:
    body = {"mode": "arena", "name": "secret room", "max_players": max_players, "private": True}
    return ok(host.post(LOBBIES, json=body), 201)


def join_code(player: Player, code: str) -> Any:
    return player.post(f"{LOBBIES}/join", json={"code": code})


def test_a_private_lobby_shows_its_code_to_its_members_only(api: Api) -> None:
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    lobby = create_private(ada)
    assert lobby["private"] is True and CODE.match(lobby["code"]), lobby
    assert ok(ada.get(f"{LOBBIES}/{lobby['id']}"))["code"] == lobby["code"]
    joined = ok(join_code(bob, lobby["code"].lower()))  # any letter case
    assert [m["name"] for m in joined["members"]] == ["ada", "bob"]
    assert joined["code"] == lobby["code"] and joined["revision"] == lobby["revision"] + 1
    public = ok(bob.post(f"{LOBBIES}/{lobby['id']}/leave"))  # bob is out: no code for him
    assert public["code"] is None and public["private"] is True


def test_a_private_lobby_does_not_exist_for_others(api: Api) -> None:
    ada, eve = api.sign_in("ada"), api.sign_in("eve")
    lobby = create_private(ada)
    other = ok(eve.post(LOBBIES, json={"mode": "arena", "name": "open", "max_players": 2}), 201)
    assert other["private"] is False and other["code"] is None
    assert listed(ada) == listed(eve) == [other["id"]]  # never in the list
    url = f"{LOBBIES}/{lobby['id']}"
    assert_error(eve.get(url), 404, "not_found")
    for action, body in [
        ("join", None),
        ("leave", None),
        ("ready", {"ready": True}),
        ("settings", {"settings": {}}),
        ("start", None),
    ]:
        assert_error(eve.post(f"{url}/{action}", json=body), 404, "not_found")
    assert_error(eve.get(f"{LOBBIES}?after={lobby['id']}"), 404, "not_found")
    assert [m["name"] for m in ok(ada.get(url))["members"]] == ["ada"]  # nothing changed


@pytest.mark.parametrize("code", ["ABCDE", "ABCDEFG", "ABC-12", "", 123456, None])
def test_a_malformed_code_is_refused(api: Api, code: Any) -> None:
    assert_error(join_code(api.sign_in("eve"), code), 422, "invalid_body")


def test_a_wrong_code_or_a_started_lobbys_code_is_not_found(api: Api) -> None:
    ada, bob, eve = api.sign_in("ada"), api.sign_in("bob"), api.sign_in("eve")
    lobby = create_private(ada, max_players=2)
    wrong = "".join(CODE_ALPHABET[(CODE_ALPHABET.index(c) + 1) % 31] for c in lobby["code"])
    assert_error(join_code(eve, wrong), 404, "not_found")
    ok(join_code(bob, lobby["code"]))
    assert_error(join_code(eve, lobby["code"]), 409, "conflict")  # full
    for player in (ada, bob):
        ready(player, lobby["id"])
    started = ok(ada.post(f"{LOBBIES}/{lobby['id']}/start"))
    assert started["status"] == "started" and started["code"] is None
    assert_error(join_code(eve, lobby["code"]), 404, "not_found")  # the code is free again
    assert_error(eve.get(f"{LOBBIES}/{lobby['id']}"), 404, "not_found")


def test_every_change_raises_the_revision_and_a_no_change_keeps_it(api: Api) -> None:
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    lobby = ok(ada.post(LOBBIES, json={"mode": "arena", "name": "r", "max_players": 2}), 201)
    assert lobby["revision"] == 0
    assert join(bob, lobby["id"])["revision"] == 1
    assert join(bob, lobby["id"])["revision"] == 1  # joining twice changes nothing
    assert ready(bob, lobby["id"])["revision"] == 2
    assert ready(bob, lobby["id"])["revision"] == 2
