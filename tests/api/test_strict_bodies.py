"""Bodies are strict: no coercion of types, no invisible characters in names."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api, assert_error

GUEST = "/v1/auth/guest"


@pytest.mark.parametrize(
    "name",
    ["a\u200db", "zero\u200cwidth", "bell\x07", "rtl\u202eoverride", "tab\there"],
)
def test_names_with_invisible_or_control_characters_are_refused(api: Api, name: str) -> None:
    assert_error(api.client.post(GUEST, json={"name": name}), 422, "invalid_body")


@pytest.mark.parametrize("name", ["ada's", "Zoë-2", "李小龙", "o.k"])
def test_ordinary_names_in_any_script_are_welcome(api: Api, name: str) -> None:
    resp = api.client.post(GUEST, json={"name": name})
    assert resp.status_code == 201 and resp.json()["name"] == name


def test_ready_must_be_a_real_boolean(api: Api) -> None:
    host = api.sign_in("host")
    lobby = host.post("/v1/lobbies", json={"name": "room", "max_players": 2}).json()
    assert_error(
        host.post(f"/v1/lobbies/{lobby['id']}/ready", {"ready": "yes"}), 422, "invalid_body"
    )
    assert host.get(f"/v1/lobbies/{lobby['id']}").json()["members"][0]["ready"] is False


def test_max_players_must_be_a_real_number(api: Api) -> None:
    host = api.sign_in("host")
    resp = host.post("/v1/lobbies", json={"name": "room", "max_players": "4"})
    assert_error(resp, 422, "invalid_body")


def test_head_is_answered_like_get_without_a_body(api: Api) -> None:
    resp = api.client.head("/v1/modes")
    assert resp.status_code == 200 and resp.content == b""


def test_a_chunked_body_is_cut_off_once_too_large(api: Api) -> None:
    def chunks():  # no Content-Length: the server must count as it reads
        for _ in range(64):
            yield b'{"name":"' + b"x" * 1024

    resp = api.client.post(GUEST, content=chunks(), headers={"content-type": "application/json"})
    assert_error(resp, 413, "too_large")


def test_a_declared_oversized_body_is_refused_before_it_is_read(api: Api) -> None:
    resp = api.client.post(
        GUEST,
        content=b"{}",
        headers={"content-length": str(10**9), "content-type": "application/json"},
    )
    assert_error(resp, 413, "too_large")
