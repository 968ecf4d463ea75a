"""Health, readiness, metrics, routing errors and the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import build_app
from api.routing import ENDPOINTS
from skirmish.server.services import build_services
from tests.api.conftest import POD, Api, assert_error, make_settings

# -- health and metrics -----------------------------------------------------------------


def test_healthz_is_ok(api: Api) -> None:
    resp = api.client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "pod": POD}


def test_readyz_is_ready_once_started(api: Api) -> None:
    resp = api.client.get("/readyz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ready", "pod": POD}


def test_readyz_is_503_before_start_and_after_shutdown() -> None:
    client = TestClient(build_app(build_services(make_settings())))
    # No lifespan yet: the services have not started.
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.json() == {"status": "not_ready", "pod": POD}
    with client:
        assert client.get("/readyz").status_code == 200
    # Lifespan over: the pod is draining / gone.
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.json()["status"] == "not_ready"
    # Liveness does not depend on readiness.
    assert client.get("/healthz").status_code == 200


def test_metrics_is_prometheus_text(api: Api) -> None:
    resp = api.client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    assert "version=" in resp.headers["content-type"]
    assert "# TYPE skirmish_matches_hosted gauge" in resp.text
    assert re.search(r"^skirmish_matches_hosted [0-9.e+-]+$", resp.text, re.M), resp.text[:500]


def test_the_web_client_is_served_at_the_root(api: Api) -> None:
    resp = api.client.get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")


# -- routing errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/nope", "/v1", "/v1/lobby", "/v2/modes", "/v1/matches/m_1/tokens"]
)
def test_unknown_routes_are_404_with_an_error_body(api: Api, path: str) -> None:
    assert_error(api.client.get(path), 404, "not_found")
    assert_error(api.client.post(path, json={}), 404, "not_found")


def test_a_missing_static_file_is_404_with_an_error_body(api: Api) -> None:
    assert_error(api.client.get("/static/no-such-file.js"), 404, "not_found")


def test_every_response_names_the_pod_that_served_it(api: Api) -> None:
    ada = api.sign_in("ada")
    responses = [
        api.client.post("/v1/auth/guest", json={"name": "bob"}),  # 201
        api.client.get("/v1/modes"),  # 200, public
        ada.get("/v1/lobbies"),  # 200, authenticated
        api.client.get("/v1/lobbies"),  # 401
        ada.post("/v1/lobbies", json={}),  # 422
        ada.get("/v1/matches/m_0000000000000000"),  # 404 from a handler
        api.client.get("/nope"),  # 404 from the router
        api.client.put("/v1/lobbies"),  # 405
        api.client.get("/healthz"),
        api.client.get("/readyz"),
        api.client.get("/metrics"),
        api.client.get("/openapi.json"),
        api.client.get("/"),
    ]
    for resp in responses:
        assert resp.headers.get("x-skirmish-pod") == POD, (resp.request.url, resp.headers)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/auth/guest"),
        ("DELETE", "/v1/modes"),
        ("PUT", "/v1/lobbies"),
        ("DELETE", "/v1/lobbies/l_1"),
        ("GET", "/v1/lobbies/l_1/join"),
        ("GET", "/v1/lobbies/l_1/start"),
        ("PATCH", "/v1/matchmaking/tickets/t_1"),
        ("GET", "/v1/matchmaking/tickets"),
        ("DELETE", "/v1/matches/m_1"),
        ("GET", "/v1/matches/m_1/token"),
        ("POST", "/healthz"),
        ("POST", "/openapi.json"),
    ],
)
def test_wrong_method_is_405_with_an_error_body(api: Api, method: str, path: str) -> None:
    assert_error(api.client.request(method, path), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/auth/guest", "POST"),
        ("POST", "/v1/modes", "GET"),
        ("GET", "/v1/lobbies/l_1/join", "POST"),
        ("POST", "/healthz", "GET"),
    ],
)
def test_wrong_method_names_the_allowed_ones(
    api: Api, method: str, path: str, allowed: str
) -> None:
    """HTTP requires a 405 to carry `Allow` (RFC 9110 §15.5.6)."""
    resp = api.client.request(method, path)
    assert_error(resp, 405, "method_not_allowed")
    assert allowed in [m.strip() for m in resp.headers.get("allow", "").split(",")], resp.headers


# -- OpenAPI ----------------------------------------------------------------------------

# What docs/protocol.md promises for every REST call: the success status and the error
# statuses a client must be ready for.
DOCUMENTED: dict[tuple[str, str], tuple[int, set[int]]] = {
    ("POST", "/v1/auth/guest"): (201, {413, 422}),
    ("GET", "/v1/modes"): (200, set()),
    ("POST", "/v1/matchmaking/tickets"): (201, {401, 404, 409, 413, 422}),
    ("GET", "/v1/matchmaking/tickets/{ticket_id}"): (200, {401, 404}),
    ("DELETE", "/v1/matchmaking/tickets/{ticket_id}"): (200, {401, 404, 409}),
    ("POST", "/v1/lobbies"): (201, {400, 401, 404, 413, 422}),
    ("GET", "/v1/lobbies"): (200, {401}),
    ("GET", "/v1/lobbies/{lobby_id}"): (200, {401, 404}),
    ("POST", "/v1/lobbies/{lobby_id}/join"): (200, {401, 404, 409}),
    ("POST", "/v1/lobbies/join"): (200, {401, 404, 409, 413, 422}),
    ("POST", "/v1/lobbies/{lobby_id}/leave"): (200, {401, 403, 404, 409}),
    ("POST", "/v1/lobbies/{lobby_id}/ready"): (200, {401, 403, 404, 409, 413, 422}),
    ("POST", "/v1/lobbies/{lobby_id}/settings"): (200, {401, 403, 404, 409, 413, 422}),
    ("POST", "/v1/lobbies/{lobby_id}/start"): (200, {401, 403, 404, 409}),
    ("GET", "/v1/matches/{match_id}"): (200, {401, 404}),
    ("POST", "/v1/matches/{match_id}/token"): (200, {401, 403, 404, 409}),
    ("GET", "/v1/matches/{match_id}/replay"): (200, {401, 403, 404, 409, 422}),
    ("POST", "/v1/matches/{match_id}/spectate"): (200, {401, 403, 404, 409, 413, 422}),
}

PUBLIC = {("POST", "/v1/auth/guest"), ("GET", "/v1/modes")}
WITH_BODY = {
    ("POST", "/v1/auth/guest"),
    ("POST", "/v1/matchmaking/tickets"),
    ("POST", "/v1/lobbies"),
    ("POST", "/v1/lobbies/join"),
    ("POST", "/v1/lobbies/{lobby_id}/ready"),
    ("POST", "/v1/lobbies/{lobby_id}/settings"),
    ("POST", "/v1/matches/{match_id}/spectate"),
}


@pytest.fixture
def openapi(api: Api) -> dict[str, Any]:
    resp = api.client.get("/openapi.json")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    doc: dict[str, Any] = resp.json()
    return doc


def operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, item in doc["paths"].items()
        for method, op in item.items()
    }


def test_every_documented_call_is_a_declared_endpoint() -> None:
    declared = {(ep.method, ep.path) for ep in ENDPOINTS}
    assert declared == set(DOCUMENTED)
    assert len(ENDPOINTS) == len(declared), "an endpoint is declared twice"


def test_openapi_lists_every_endpoint_with_its_method(openapi: dict[str, Any]) -> None:
    assert openapi["openapi"].startswith("3.1")
    assert openapi["info"]["title"] == "Skirmish"
    assert openapi["info"]["version"]
    assert set(operations(openapi)) == {(ep.method, ep.path) for ep in ENDPOINTS}


def test_each_operation_has_the_documented_responses(openapi: dict[str, Any]) -> None:
    for key, op in operations(openapi).items():
        success, errors = DOCUMENTED[key]
        responses = op["responses"]
        assert str(success) in responses, key
        assert {int(s) for s in responses} >= {success, *errors}, (key, sorted(responses))
        for status, response in responses.items():
            assert response["description"], (key, status)
            schema = response["content"]["application/json"]["schema"]
            if int(status) >= 400:
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (key, status)
            else:
                assert schema["$ref"].startswith("#/components/schemas/"), (key, status)


QUERY_PARAMETERS = {
    ("GET", "/v1/lobbies"): {"limit", "after"},
    ("GET", "/v1/matches/{match_id}/replay"): {"code"},
}


def test_operations_declare_auth_body_and_path_parameters(openapi: dict[str, Any]) -> None:
    assert openapi["components"]["securitySchemes"]["player"] == {
        "type": "http",
        "scheme": "bearer",
    }
    ids = set()
    for (method, path), op in operations(openapi).items():
        key = (method, path)
        ids.add(op["operationId"])
        assert op["summary"], key
        assert ("security" in op) == (key not in PUBLIC), key
        if key not in PUBLIC:
            assert op["security"] == [{"player": []}], key
        assert ("requestBody" in op) == (key in WITH_BODY), key
        if key in WITH_BODY:
            assert op["requestBody"]["required"] is True
            assert "$ref" in op["requestBody"]["content"]["application/json"]["schema"]
        names = re.findall(r"{(\w+)}", path)
        params = op.get("parameters", [])
        in_path = [p for p in params if p["in"] == "path"]
        assert [p["name"] for p in in_path] == names, key
        assert all(p["required"] for p in in_path), key
        in_query = {p["name"]: p for p in params if p["in"] == "query"}
        assert set(in_query) == QUERY_PARAMETERS.get(key, set()), key
        assert not any(p["required"] for p in in_query.values()), key
        for param in in_query.values():  # a query string carries text or nothing, never null
            assert "anyOf" not in param["schema"] and param["schema"].get("type") != "null", key
        assert len(in_path) + len(in_query) == len(params), key
    assert len(ids) == len(DOCUMENTED), "operationIds must be unique"
    lobbies = {
        p["name"]: p["schema"] for p in operations(openapi)[("GET", "/v1/lobbies")]["parameters"]
    }
    assert lobbies["after"] == {
        "type": "string",
        "pattern": "^l_[0-9a-f]{16}$",
        "title": "After",
        "description": "the `next` of the previous page: the id of its last lobby",
    }


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def test_every_ref_resolves_inside_components_schemas(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    found = list(refs(openapi))
    assert found, "the document uses no $ref at all"
    prefix = "#/components/schemas/"
    for ref in found:
        assert ref.startswith(prefix), ref
        assert ref.removeprefix(prefix) in schemas, ref


def test_the_error_schema_is_the_documented_shape(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    error_out = schemas["ErrorOut"]
    assert error_out["required"] == ["error"]
    detail_ref = error_out["properties"]["error"]["$ref"].removeprefix("#/components/schemas/")
    assert set(schemas[detail_ref]["required"]) == {"code", "message"}


def test_response_schemas_name_the_documented_fields(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    documented = {
        "GuestOut": {"player_id", "name", "token", "expires_at"},
        "TicketOut": {"id", "player_id", "mode", "status", "created_at", "match"},
        "MatchAccess": {"match_id", "ws_path", "token", "expires_at"},
        "LobbyOut": {
            "id",
            "name",
            "mode",
            "host_id",
            "max_players",
            "status",
            "members",
            "created_at",
            "match",
        },
        "MatchOut": {"id", "mode", "status", "players", "created_at", "result"},
        "ModeOut": {"name", "min_players", "max_players", "tick_rate"},
    }
    for name, fields in documented.items():
        assert fields <= set(schemas[name]["properties"]), name


def test_the_lobby_cursor_pattern_fits_every_lobby_id_and_nothing_else() -> None:
    import re

    from api.openapi import _query_value
    from skirmish.base.store.records import id_pattern, new_id

    pattern = re.compile(id_pattern("l"))
    assert all(pattern.match(new_id("l")) for _ in range(100))
    assert not any(pattern.match(x) for x in (new_id("m"), "l_", "l_" + "0" * 15, "5"))
    # An optional field of several types keeps them all, without the null a query lacks.
    several = {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]}
    assert _query_value({**several, "default": None}) == {
        "anyOf": [{"type": "integer"}, {"type": "string"}]
    }
