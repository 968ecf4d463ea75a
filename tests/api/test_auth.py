"""Guest sign-in, and the player token every protected route demands."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from redis import Redis
from starlette.testclient import TestClient

from api.routing import ENDPOINTS
from skirmish.base.tokens import TokenService
from tests.api.conftest import SECRET, Api, assert_error, parse_time
from tests.support.redis_server import redis_url as redis_url

GUEST = "/v1/auth/guest"
DAY = 24 * 3600


def sign_in(client: TestClient, body: object) -> dict[str, str]:
    resp = client.post(GUEST, json=body)
    assert resp.status_code == 201, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body_out: dict[str, str] = resp.json()
    assert set(body_out) == {"player_id", "name", "token", "expires_at"}
    return body_out


# -- sign-in ----------------------------------------------------------------------------


def test_guest_sign_in_with_a_name_returns_a_24h_player_token(api: Api) -> None:
    before = time.time()
    out = sign_in(api.client, {"name": "ada"})

    assert out["name"] == "ada"
    assert out["player_id"].startswith("p_")
    claims = api.services.tokens.verify_player(out["token"])
    assert (claims.player_id, claims.name) == (out["player_id"], "ada")
    expires = parse_time(out["expires_at"])
    assert before + DAY - 2 <= expires <= time.time() + DAY + 1


def test_a_guest_is_kept_as_long_as_its_token(make_api: Callable[..., Api], redis_url: str) -> None:
    """A public server signs in guests all day: each record goes when its token does."""
    api = make_api(redis_url=redis_url, player_token_ttl_seconds=3600, ticket_ttl_seconds=60)
    guest = api.sign_in("Ada")
    with Redis.from_url(redis_url) as raw:  # the token's hour, and a last search's minute
        assert 3600 < raw.ttl(f"skirmish:player:{guest.player_id}") <= 3660


def test_player_token_lifetime_follows_settings(make_api) -> None:
    api = make_api(player_token_ttl_seconds=600)
    before = time.time()
    expires = parse_time(sign_in(api.client, {"name": "ada"})["expires_at"])
    assert before + 600 - 2 <= expires <= time.time() + 600 + 1


@pytest.mark.parametrize("body", [{}, {"name": None}], ids=["no-name", "null-name"])
def test_guest_sign_in_without_a_name_gets_a_generated_one(api: Api, body: object) -> None:
    out = sign_in(api.client, body)
    assert 1 <= len(out["name"]) <= 24
    assert out["name"].strip() == out["name"]
    assert api.services.tokens.verify_player(out["token"]).name == out["name"]


def test_guest_sign_in_with_an_empty_body_gets_a_generated_name(api: Api) -> None:
    resp = api.client.post(GUEST)
    assert resp.status_code == 201, resp.text
    assert resp.json()["name"]


def test_every_guest_is_a_new_player(api: Api) -> None:
    ids = {sign_in(api.client, {"name": "ada"})["player_id"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize(
    "name", ["a", "a" * 24, "Zoë", "ada.l", "Bob Smith", "x-y_z", "9lives", "李小龙"]
)
def test_guest_names_that_are_accepted(api: Api, name: str) -> None:
    assert sign_in(api.client, {"name": name})["name"] == name


def test_guest_name_surrounding_whitespace_is_trimmed(api: Api) -> None:
    assert sign_in(api.client, {"name": "  ada  "})["name"] == "ada"


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "a" * 25,
        "a\nb",
        "a\tb",
        "a\x00b",
        "a\x07b",
        "\x1b[31mred",
        "a\u202eb",
        "<b>ada</b>",
        "ada;drop",
    ],
    ids=[
        "empty",
        "blank",
        "too-long",
        "newline",
        "tab",
        "nul",
        "bell",
        "ansi-escape",
        "bidi-override",
        "markup",
        "semicolon",
    ],
)
def test_invalid_guest_names_are_rejected_naming_the_field(api: Api, name: str) -> None:
    message = assert_error(api.client.post(GUEST, json={"name": name}), 422, "invalid_body")
    assert message.startswith("name"), message


@pytest.mark.parametrize("value", [123, 1.5, True, ["ada"], {"first": "ada"}])
def test_guest_name_of_the_wrong_type_is_rejected(api: Api, value: object) -> None:
    message = assert_error(api.client.post(GUEST, json={"name": value}), 422, "invalid_body")
    assert message.startswith("name"), message


def test_guest_sign_in_rejects_unknown_fields(api: Api) -> None:
    resp = api.client.post(GUEST, json={"name": "ada", "admin": True})
    message = assert_error(resp, 422, "invalid_body")
    assert "admin" in message


@pytest.mark.parametrize(
    "raw",
    [b"{bad", b'{"name": "ada"', b"\xff\xfe", b"name=ada", b'{"name": "ada"} trailing'],
    ids=["broken", "unterminated", "not-utf8", "form-encoded", "trailing-garbage"],
)
def test_malformed_json_is_rejected(api: Api, raw: bytes) -> None:
    resp = api.client.post(GUEST, content=raw, headers={"Content-Type": "application/json"})
    assert_error(resp, 422, "invalid_body")


@pytest.mark.parametrize("raw", [b"[]", b'"ada"', b"5", b"null"])
def test_a_body_that_is_not_an_object_is_rejected(api: Api, raw: bytes) -> None:
    resp = api.client.post(GUEST, content=raw, headers={"Content-Type": "application/json"})
    assert_error(resp, 422, "invalid_body")


def test_an_oversized_body_is_rejected(api: Api) -> None:
    raw = b'{"name": "ada", "pad": "' + b"x" * (32 * 1024) + b'"}'
    resp = api.client.post(GUEST, content=raw, headers={"Content-Type": "application/json"})
    assert_error(resp, 413, "too_large")


def test_the_player_token_authenticates_as_that_player(api: Api) -> None:
    ada = api.sign_in("ada")
    resp = ada.post("/v1/lobbies", json={"name": "room", "max_players": 2})
    assert resp.status_code == 201, resp.text
    assert resp.json()["host_id"] == ada.player_id
    assert resp.json()["members"][0]["name"] == "ada"


def test_the_bearer_scheme_is_case_insensitive(api: Api) -> None:
    ada = api.sign_in("ada")
    resp = api.client.get("/v1/lobbies", headers={"Authorization": f"bearer {ada.token}"})
    assert resp.status_code == 200, resp.text


# -- auth failures on every protected route ---------------------------------------------

PROTECTED = [ep for ep in ENDPOINTS if ep.auth]


def concrete(path: str) -> str:
    return (
        path.replace("{ticket_id}", "t_0000000000000000")
        .replace("{lobby_id}", "l_0000000000000000")
        .replace("{match_id}", "m_0000000000000000")
    )


def bad_authorizations(api: Api) -> dict[str, dict[str, str]]:
    """Every way a request can fail to prove who it comes from."""
    good = api.sign_in("ada")
    past = TokenService(SECRET, clock=lambda: time.time() - 2 * DAY)
    expired = past.issue_player(good.player_id, good.name).token
    foreign = TokenService("another-servers-secret-0123456789abc").issue_player(
        good.player_id, good.name
    )
    match_token = api.services.tokens.issue_match(good.player_id, "m_0000000000000000").token
    head, payload, signature = good.token.split(".")
    tampered = ".".join([head, payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB"), signature])
    return {
        "no header": {},
        "empty header": {"Authorization": ""},
        "basic scheme": {"Authorization": "Basic YWRhOnNlY3JldA=="},
        "token scheme": {"Authorization": f"Token {good.token}"},
        "bare token": {"Authorization": good.token},
        "bearer without token": {"Authorization": "Bearer"},
        "bearer blank": {"Authorization": "Bearer   "},
        "garbage": {"Authorization": "Bearer not-a-jwt"},
        "tampered": {"Authorization": f"Bearer {tampered}"},
        "expired": {"Authorization": f"Bearer {expired}"},
        "other secret": {"Authorization": f"Bearer {foreign.token}"},
        "match token": {"Authorization": f"Bearer {match_token}"},
    }


@pytest.mark.parametrize("ep", PROTECTED, ids=[f"{ep.method} {ep.path}" for ep in PROTECTED])
def test_protected_routes_refuse_requests_without_a_valid_player_token(api: Api, ep) -> None:
    body = {"mode": "arena", "name": "room", "max_players": 2, "ready": True}
    for why, headers in bad_authorizations(api).items():
        kwargs = {"json": body} if ep.body is not None else {}
        resp = api.client.request(ep.method, concrete(ep.path), headers=headers, **kwargs)
        assert resp.status_code == 401, (why, resp.status_code, resp.text)
        assert_error(resp, 401, "unauthorized")


def test_an_expired_token_is_reported_as_expired(api: Api) -> None:
    past = TokenService(SECRET, clock=lambda: time.time() - 2 * DAY)
    expired = past.issue_player("p_0000000000000000", "ada").token
    resp = api.client.get("/v1/lobbies", headers={"Authorization": f"Bearer {expired}"})
    assert "expired" in assert_error(resp, 401, "unauthorized")


def test_a_token_is_valid_until_its_expiry(api: Api) -> None:
    """Seconds before expiry the token works; seconds after, it does not."""
    ttl = 3600
    almost = TokenService(SECRET, player_ttl=ttl, clock=lambda: time.time() - ttl + 5)
    late = TokenService(SECRET, player_ttl=ttl, clock=lambda: time.time() - ttl - 5)
    fresh = almost.issue_player("p_0000000000000001", "ada").token
    stale = late.issue_player("p_0000000000000001", "ada").token
    assert api.client.get("/v1/lobbies", headers={"Authorization": f"Bearer {fresh}"}).is_success
    resp = api.client.get("/v1/lobbies", headers={"Authorization": f"Bearer {stale}"})
    assert_error(resp, 401, "unauthorized")


def test_auth_is_checked_before_the_body(api: Api) -> None:
    resp = api.client.post(
        "/v1/matchmaking/tickets",
        content=b"{bad",
        headers={"Content-Type": "application/json"},
    )
    assert_error(resp, 401, "unauthorized")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/v1/modes", 200), ("POST", GUEST, 201)],
)
def test_public_routes_need_no_token(api: Api, method: str, path: str, status: int) -> None:
    assert api.client.request(method, path).status_code == status
