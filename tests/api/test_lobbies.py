"""Lobbies: create, list, join, leave, ready, start."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, Player, assert_error

LOBBIES = "/v1/lobbies"
LOBBY_KEYS = {
    "id",
    "name",
    "mode",
    "settings",
    "host_id",
    "max_players",
    "status",
    "members",
    "created_at",
    "match",
    "private",
    "code",
    "revision",
    "spectators",
}
UNKNOWN = "l_0000000000000000"


def ok(resp: Any, status: int = 200) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    lobby: dict[str, Any] = resp.json()
    assert set(lobby) == LOBBY_KEYS
    return lobby


def create_lobby(host: Player, max_players: int = 4, name: str = "ada room") -> dict[str, Any]:
    body = {"mode": "arena", "name": name, "max_players": max_players}
    return ok(host.post(LOBBIES, json=body), 201)


def members(lobby: dict[str, Any]) -> list[str]:
    return [m["player_id"] for m in lobby["members"]]


def listed(player: Player) -> list[str]:
    resp = player.get(LOBBIES)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"lobbies", "next"}
    assert body["next"] is None  # these tests hold fewer lobbies than a page
    return [lobby["id"] for lobby in body["lobbies"]]


def join(player: Player, lobby_id: str) -> dict[str, Any]:
    return ok(player.post(f"{LOBBIES}/{lobby_id}/join"))


def ready(player: Player, lobby_id: str, value: bool = True) -> dict[str, Any]:
    return ok(player.post(f"{LOBBIES}/{lobby_id}/ready", json={"ready": value}))


# -- create -----------------------------------------------------------------------------


def test_create_lobby_makes_the_caller_host_and_first_member(api: Api) -> None:
    ada = api.sign_in("ada")
    lobby = create_lobby(ada, max_players=3, name="Friday night")
    assert lobby["id"].startswith("l_")
    assert lobby["name"] == "Friday night"
    assert lobby["mode"] == "arena"
    assert lobby["host_id"] == ada.player_id
    assert lobby["max_players"] == 3
    assert lobby["status"] == "open"
    assert lobby["members"] == [{"player_id": ada.player_id, "name": "ada", "ready": False}]
    assert lobby["match"] is None
    assert ok(ada.get(f"{LOBBIES}/{lobby['id']}")) == lobby


def test_lobby_mode_defaults_to_arena(api: Api) -> None:
    lobby = ok(api.sign_in("ada").post(LOBBIES, json={"name": "room", "max_players": 2}), 201)
    assert lobby["mode"] == "arena"


@pytest.mark.parametrize("max_players", [11, 64])
def test_max_players_beyond_the_mode_range_is_a_bad_request(api: Api, max_players: int) -> None:
    ada = api.sign_in("ada")
    body = {"mode": "arena", "name": "room", "max_players": max_players}
    message = assert_error(ada.post(LOBBIES, json=body), 400, "bad_request")
    assert "max_players" in message
    assert listed(ada) == []


@pytest.mark.parametrize("max_players", [2, 10])
def test_max_players_at_the_mode_bounds_is_accepted(api: Api, max_players: int) -> None:
    assert create_lobby(api.sign_in("ada"), max_players=max_players)["max_players"] == max_players


def test_lobby_for_an_unknown_mode_is_not_found(api: Api) -> None:
    ada = api.sign_in("ada")
    body = {"mode": "chess", "name": "room", "max_players": 2}
    assert "chess" in assert_error(ada.post(LOBBIES, json=body), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "arena", "max_players": 4}, "name"),
        ({"mode": "arena", "name": "", "max_players": 4}, "name"),
        ({"mode": "arena", "name": "x" * 41, "max_players": 4}, "name"),
        ({"mode": "arena", "name": "a\nb", "max_players": 4}, "name"),
        ({"mode": "arena", "name": "<i>room</i>", "max_players": 4}, "name"),
        ({"mode": "arena", "name": 7, "max_players": 4}, "name"),
        ({"mode": "arena", "name": "room"}, "max_players"),
        ({"mode": "arena", "name": "room", "max_players": 1}, "max_players"),
        ({"mode": "arena", "name": "room", "max_players": 65}, "max_players"),
        ({"mode": "arena", "name": "room", "max_players": "four"}, "max_players"),
        ({"mode": "arena", "name": "room", "max_players": 2.5}, "max_players"),
        ({"mode": "", "name": "room", "max_players": 4}, "mode"),
        ({"mode": "arena", "name": "room", "max_players": 4, "hidden": True}, "hidden"),
        ({"mode": "arena", "name": "room", "max_players": 4, "private": "yes"}, "private"),
    ],
    ids=[
        "missing-name",
        "empty-name",
        "long-name",
        "control-char-name",
        "markup-name",
        "number-name",
        "missing-max",
        "max-too-small",
        "max-too-big",
        "max-string",
        "max-fraction",
        "empty-mode",
        "extra-field",
        "private-string",
    ],
)
def test_invalid_lobby_bodies_are_rejected(api: Api, body: dict[str, Any], field: str) -> None:
    ada = api.sign_in("ada")
    message = assert_error(ada.post(LOBBIES, json=body), 422, "invalid_body")
    assert message.startswith(field), message
    assert listed(ada) == []


@pytest.mark.parametrize("raw", [b"{bad", b"[]", b""])
def test_malformed_lobby_body_is_rejected(api: Api, raw: bytes) -> None:
    assert_error(api.sign_in("ada").post_raw(LOBBIES, raw), 422, "invalid_body")


# -- list and get -----------------------------------------------------------------------


def test_list_shows_open_lobbies_oldest_first(api: Api) -> None:
    ada, bob, cat = api.sign_in("ada"), api.sign_in("bob"), api.sign_in("cat")
    assert listed(cat) == []
    first, second = create_lobby(ada), create_lobby(bob)
    assert listed(cat) == [first["id"], second["id"]]
    body = cat.get(LOBBIES).json()
    assert body["lobbies"][0] == first  # full lobby bodies, as GET /v1/lobbies/{id} gives


def test_unknown_lobby_is_not_found_on_every_lobby_route(api: Api) -> None:
    ada = api.sign_in("ada")
    assert_error(ada.get(f"{LOBBIES}/{UNKNOWN}"), 404, "not_found")
    for action in ("join", "leave", "start"):
        assert_error(ada.post(f"{LOBBIES}/{UNKNOWN}/{action}"), 404, "not_found")
    resp = ada.post(f"{LOBBIES}/{UNKNOWN}/ready", json={"ready": True})
    assert_error(resp, 404, "not_found")


# -- join and leave ---------------------------------------------------------------------


def test_join_adds_the_player(api: Api) -> None:
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    lobby = create_lobby(ada)
    joined = join(bob, lobby["id"])
    assert members(joined) == [ada.player_id, bob.player_id]
    assert joined["members"][1] == {"player_id": bob.player_id, "name": "bob", "ready": False}
    assert joined["host_id"] == ada.player_id
    assert ok(ada.get(f"{LOBBIES}/{lobby['id']}")) == joined


def test_joining_twice_is_harmless(api: Api) -> None:
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    lobby = create_lobby(ada)
    join(bob, lobby["id"])
    ready(bob, lobby["id"])
    again = join(bob, lobby["id"])
    assert members(again) == [ada.player_id, bob.player_id]
    assert again["members"][1]["ready"] is True  # rejoining does not reset anything
    assert members(join(ada, lobby["id"])) == [ada.player_id, bob.player_id]


def test_a_full_lobby_refuses_another_player(api: Api) -> None:
    ada, bob, cat = api.sign_in("ada"), api.sign_in("bob"), api.sign_in("cat")
    lobby = create_lobby(ada, max_players=2)
    join(bob, lobby["id"])
    assert "full" in assert_error(cat.post(f"{LOBBIES}/{lobby['id']}/join"), 409, "conflict")
    assert members(ok(ada.get(f"{LOBBIES}/{lobby['id']}"))) == [ada.player_id, bob.player_id]
    # A member rejoining a full lobby is still harmless.
    assert members(join(bob, lobby["id"])) == [ada.player_id, bob.player_id]


def test_leave_removes_the_player(api: Api) -> None:
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    lobby = create_lobby(ada)
    join(bob, lobby["id"])
    left = ok(bob.post(f"{LOBBIES}/{lobby['id']}/leave"))
    assert members(left) == [ada.player_id]
    assert left["host_id"] == ada.player_id
    assert left["status"] == "open"


def test_when_the_host_leaves_the_host_role_passes_on(api: Api) -> None:
    ada, bob, cat = api.sign_in("ada"), api.sign_in("bob"), api.sign_in("cat")
    lobby = create_lobby(ada)
    join(bob, lobby["id"])
    join(cat, lobby["id"])
    left = ok(ada.post(f"{LOBBIES}/{lobby['id']}/leave"))
    assert members(left) == [bob.player_id, cat.player_id]
    assert left["host_id"] == bob.player_id
    assert left["status"] == "open"
    assert lobby["id"] in listed(cat)


def test_the_last_one_out_closes_the_lobby(api: Api) -> None:
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    lobby = create_lobby(ada)
    join(bob, lobby["id"])
    ok(ada.post(f"{LOBBIES}/{lobby['id']}/leave"))
    closed = ok(bob.post(f"{LOBBIES}/{lobby['id']}/leave"))
    assert closed["members"] == []
    assert closed["status"] == "closed"
    assert listed(bob) == []
    assert_error(bob.post(f"{LOBBIES}/{lobby['id']}/join"), 409, "conflict")


def test_leaving_a_lobby_you_are_not_in_is_forbidden(api: Api) -> None:
    ada, eve = api.sign_in("ada"), api.sign_in("eve")
    lobby = create_lobby(ada)
    assert_error(eve.post(f"{LOBBIES}/{lobby['id']}/leave"), 403, "forbidden")
    assert members(ok(ada.get(f"{LOBBIES}/{lobby['id']}"))) == [ada.player_id]


# -- ready ------------------------------------------------------------------------------


def test_ready_marks_only_the_caller(api: Api) -> None:
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    lobby = create_lobby(ada)
    join(bob, lobby["id"])
    after = ready(bob, lobby["id"])
    assert [m["ready"] for m in after["members"]] == [False, True]
    assert [m["ready"] for m in ready(bob, lobby["id"], False)["members"]] == [False, False]


def test_ready_by_a_non_member_is_forbidden(api: Api) -> None:
    ada, eve = api.sign_in("ada"), api.sign_in("eve")
    lobby = create_lobby(ada)
    resp = eve.post(f"{LOBBIES}/{lobby['id']}/ready", json={"ready": True})
    assert_error(resp, 403, "forbidden")


@pytest.mark.parametrize(
    "body",
    [{}, {"ready": None}, {"ready": "maybe"}, {"ready": 2}, {"ready": True, "team": 1}],
    ids=["missing", "null", "word", "number", "extra-field"],
)
def test_invalid_ready_bodies_are_rejected(api: Api, body: dict[str, Any]) -> None:
    ada = api.sign_in("ada")
    lobby = create_lobby(ada)
    resp = ada.post(f"{LOBBIES}/{lobby['id']}/ready", json=body)
    message = assert_error(resp, 422, "invalid_body")
    assert message.startswith("team" if "team" in body else "ready"), message
    assert ok(ada.get(f"{LOBBIES}/{lobby['id']}"))["members"][0]["ready"] is False


# -- start ------------------------------------------------------------------------------


def ready_pair(api: Api) -> tuple[Player, Player, dict[str, Any]]:
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    lobby = create_lobby(ada)
    join(bob, lobby["id"])
    ready(ada, lobby["id"])
    ready(bob, lobby["id"])
    return ada, bob, lobby


def test_only_the_host_may_start(api: Api) -> None:
    ada, bob, lobby = ready_pair(api)
    eve = api.sign_in("eve")
    assert_error(bob.post(f"{LOBBIES}/{lobby['id']}/start"), 403, "forbidden")
    assert_error(eve.post(f"{LOBBIES}/{lobby['id']}/start"), 403, "forbidden")
    assert ok(ada.get(f"{LOBBIES}/{lobby['id']}"))["status"] == "open"


def test_start_with_unready_members_is_a_conflict(api: Api) -> None:
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    lobby = create_lobby(ada)
    join(bob, lobby["id"])
    ready(ada, lobby["id"])
    message = assert_error(ada.post(f"{LOBBIES}/{lobby['id']}/start"), 409, "conflict")
    assert "bob" in message
    assert ok(ada.get(f"{LOBBIES}/{lobby['id']}"))["status"] == "open"


def test_start_with_too_few_players_is_a_conflict(api: Api) -> None:
    ada = api.sign_in("ada")
    lobby = create_lobby(ada)
    ready(ada, lobby["id"])
    message = assert_error(ada.post(f"{LOBBIES}/{lobby['id']}/start"), 409, "conflict")
    assert "2" in message
    assert ok(ada.get(f"{LOBBIES}/{lobby['id']}"))["status"] == "open"


def test_start_gives_every_member_match_access(api: Api) -> None:
    ada, bob, lobby = ready_pair(api)
    eve = api.sign_in("eve")

    started = ok(ada.post(f"{LOBBIES}/{lobby['id']}/start"))
    assert started["status"] == "started"
    access = started["match"]
    assert set(access) == {"match_id", "ws_path", "token", "expires_at"}
    match_id = access["match_id"]
    assert access["ws_path"] == f"/ws/matches/{match_id}"
    claims = api.services.tokens.verify_match(access["token"])
    assert (claims.player_id, claims.match_id) == (ada.player_id, match_id)

    bobs = ok(bob.get(f"{LOBBIES}/{lobby['id']}"))
    assert bobs["status"] == "started"
    assert bobs["match"]["match_id"] == match_id
    claims = api.services.tokens.verify_match(bobs["match"]["token"])
    assert (claims.player_id, claims.match_id) == (bob.player_id, match_id)

    outsider = ok(eve.get(f"{LOBBIES}/{lobby['id']}"))
    assert outsider["status"] == "started"
    assert outsider["match"] is None

    match = ada.get(f"/v1/matches/{match_id}").json()
    assert match["status"] == "waiting"
    assert [(p["player_id"], p["slot"]) for p in match["players"]] == [
        (ada.player_id, 0),
        (bob.player_id, 1),
    ]


def test_a_started_lobby_is_closed_to_changes(api: Api) -> None:
    ada, bob, lobby = ready_pair(api)
    eve = api.sign_in("eve")
    ok(ada.post(f"{LOBBIES}/{lobby['id']}/start"))
    lid = lobby["id"]

    assert lid not in listed(eve)
    assert "started" in assert_error(eve.post(f"{LOBBIES}/{lid}/join"), 409, "conflict")
    assert_error(bob.post(f"{LOBBIES}/{lid}/leave"), 409, "conflict")
    assert_error(bob.post(f"{LOBBIES}/{lid}/ready", json={"ready": False}), 409, "conflict")
    # Starting again is a harmless retry for the host (same match), refused to others.
    first = ok(ada.get(f"{LOBBIES}/{lid}"))["match"]["match_id"]
    assert ok(ada.post(f"{LOBBIES}/{lid}/start"))["match"]["match_id"] == first
    assert_error(bob.post(f"{LOBBIES}/{lid}/start"), 403, "forbidden")
    after = ok(ada.get(f"{LOBBIES}/{lid}"))
    assert members(after) == [ada.player_id, bob.player_id]
    assert all(m["ready"] for m in after["members"])


def page_of(resp: Any) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    assert set(body) == {"lobbies", "next"}
    return body


def test_the_lobby_list_comes_in_pages_oldest_first(api: Api) -> None:
    hosts = [api.sign_in(f"host{n}") for n in range(5)]
    made = [create_lobby(host)["id"] for host in hosts]
    viewer = api.sign_in("viewer")
    seen, after, pages = [], None, 0
    while True:
        query = "?limit=2" + (f"&after={after}" if after else "")
        body = page_of(viewer.get(LOBBIES + query))
        assert len(body["lobbies"]) <= 2
        seen += [lobby["id"] for lobby in body["lobbies"]]
        pages += 1
        after = body["next"]
        if after is None:
            break
        assert after == seen[-1]
    assert seen == made and pages == 3
    first = page_of(viewer.get(LOBBIES))  # default page: 50
    assert [lb["id"] for lb in first["lobbies"]] == made and first["next"] is None


def test_a_lobby_that_starts_between_pages_does_not_shift_the_next_page(api: Api) -> None:
    hosts = [api.sign_in(f"host{n}") for n in range(4)]
    made = [create_lobby(host)["id"] for host in hosts]
    viewer = api.sign_in("viewer")
    page = page_of(viewer.get(LOBBIES + "?limit=2"))
    ok(hosts[1].post(f"{LOBBIES}/{made[1]}/leave"))  # the last of page 1 closes
    rest = page_of(viewer.get(f"{LOBBIES}?limit=2&after={page['next']}"))
    assert [lb["id"] for lb in rest["lobbies"]] == made[2:]


@pytest.mark.parametrize(
    "query",
    [
        "?limit=0",
        "?limit=101",
        "?limit=two",
        "?limit=1&limit=2",
        "?page=2",
        "?after=",
        "?after=5",  # not a lobby id at all
    ],
)
def test_a_bad_lobby_list_query_is_refused(api: Api, query: str) -> None:
    assert_error(api.sign_in("ada").get(LOBBIES + query), 422, "invalid_query")


def test_an_unknown_lobby_cursor_is_not_found(api: Api) -> None:
    unknown = "l_" + "0" * 16  # shaped like a lobby id, but no such lobby
    assert_error(api.sign_in("ada").get(LOBBIES + f"?after={unknown}"), 404, "not_found")


def test_a_player_gathers_in_one_open_lobby_at_a_time(api: Api) -> None:
    ada, bob = api.sign_in("ada"), api.sign_in("bob")
    mine = create_lobby(ada)["id"]
    theirs = create_lobby(bob)["id"]
    assert_error(ada.post(f"{LOBBIES}/{theirs}/join"), 409, "already_in_lobby")
    refused = ada.post(LOBBIES, json={"mode": "arena", "name": "second", "max_players": 4})
    assert_error(refused, 409, "already_in_lobby")
    ok(ada.post(f"{LOBBIES}/{mine}/leave"))
    ok(ada.post(f"{LOBBIES}/{theirs}/join"))  # free again


def test_a_team_mode_lobby_starts_only_with_equal_teams(api: Api) -> None:
    players = [api.sign_in(name) for name in ("ada", "bob", "cy", "dee")]
    body = {"mode": "ctf", "name": "flags", "max_players": 4}
    lobby = ok(players[0].post(LOBBIES, json=body), 201)
    for player in players[1:3]:
        join(player, lobby["id"])
    for player in players[:3]:
        ready(player, lobby["id"])
    message = assert_error(players[0].post(f"{LOBBIES}/{lobby['id']}/start"), 409, "conflict")
    assert "multiple of 2" in message  # 2 against 1 is no game
    join(players[3], lobby["id"])
    ready(players[3], lobby["id"])
    started = ok(players[0].post(f"{LOBBIES}/{lobby['id']}/start"))
    match = api.portal_call(api.services.store.get_match, started["match"]["match_id"])
    assert match is not None and match.mode == "ctf"
    assert sorted(p.player_id for p in match.players) == sorted(p.player_id for p in players)
