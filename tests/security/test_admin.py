"""Admin routes: a secret of their own, absent without it, and a drain that hands sockets
over (`reconnect`, then 1012) and takes the pod out of rotation (/readyz 503)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.api.conftest import Api, assert_error
from tests.realtime.conftest import HarnessFactory, close_code, receive, receive_until

ADMIN = "admin-secret-0123456789abcdef0123456789"


@pytest.mark.parametrize(("method", "path"), [("GET", "/admin/stats"), ("POST", "/admin/drain")])
def test_without_an_admin_token_configured_admin_routes_do_not_exist(
    make_api: Callable[..., Api], method: str, path: str
) -> None:
    api = make_api()
    for headers in ({}, {"Authorization": f"Bearer {ADMIN}"}):
        assert_error(api.client.request(method, path, headers=headers), 404, "not_found")
    assert_error(api.client.request("DELETE", path), 404, "not_found")  # no 405 hint either
    assert api.services.ready


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", f"Basic {ADMIN}", f"Bearer {ADMIN}x", "Bearer PLAYER"],
)
def test_a_wrong_or_missing_admin_token_is_401(
    make_api: Callable[..., Api], authorization: str | None
) -> None:
    api = make_api(admin_token=ADMIN)
    if authorization == "Bearer PLAYER":  # a valid player token is not an admin token
        authorization = f"Bearer {api.sign_in('ada').token}"
    headers = {"Authorization": authorization} if authorization else {}
    for method, path in (("GET", "/admin/stats"), ("POST", "/admin/drain")):
        resp = api.client.request(method, path, headers=headers)
        assert_error(resp, 401, "unauthorized")
        assert resp.headers["www-authenticate"].startswith("Bearer")
    assert api.services.ready and api.client.get("/readyz").status_code == 200


def test_stats_with_the_admin_token(make_api: Callable[..., Api]) -> None:
    api = make_api(admin_token=ADMIN)
    headers = {"Authorization": f"Bearer {ADMIN}"}
    resp = api.client.get("/admin/stats", headers=headers)
    assert resp.status_code == 200
    body = resp.json()
    assert body["ready"] is True and body["draining"] is False
    assert body["matches"] == 0 and body["sockets"] == 0 and body["pod"] == "api-test-pod"
    assert_error(api.client.post("/admin/stats", headers=headers), 405, "method_not_allowed")


def test_admin_routes_are_not_in_the_openapi_document(make_api: Callable[..., Api]) -> None:
    doc = make_api(admin_token=ADMIN).client.get("/openapi.json").json()
    assert not [path for path in doc["paths"] if path.startswith("/admin")]


def test_short_admin_tokens_are_refused_at_start() -> None:
    from skirmish.base.settings import Settings

    with pytest.raises(ValueError, match="at least 32"):
        Settings(admin_token="short")


async def test_drain_tells_every_socket_to_reconnect_then_closes_1012(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(admin_token=ADMIN)
    match = await harness.new_match(players=2)
    a, _ = await harness.join(match, 0)
    b, _ = await harness.join(match, 1)
    await receive_until(a, lambda m: m["type"] == "snapshot")
    transport = httpx.ASGITransport(app=harness.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pod") as http:
        assert (await http.get("/readyz")).status_code == 200
        resp = await http.post("/admin/drain", headers={"Authorization": f"Bearer {ADMIN}"})
        assert resp.status_code == 200 and resp.json()["told"] == 2
        for ws in (a, b):
            notice = await receive_until(ws, lambda m: m["type"] == "reconnect")
            assert notice == {"type": "reconnect", "reason": "server_restarting"}
            assert await close_code(ws) == 1012
        assert (await http.get("/readyz")).status_code == 503
        stats = await http.get("/admin/stats", headers={"Authorization": f"Bearer {ADMIN}"})
        assert stats.json()["ready"] is False and stats.json()["draining"] is True
        assert stats.json()["matches"] == 0 and stats.json()["sockets"] == 0
    # A drained pod takes no match: a late socket is sent on with 1012 as well.
    late = harness.communicator(match.id, harness.token(match, 0))
    await late.connect()
    assert (await receive(late))["type"] == "error"
    assert await close_code(late) == 1012
