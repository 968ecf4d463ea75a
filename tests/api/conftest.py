"""REST API tests drive the real Starlette app (routes, auth, validation, the in-memory store,
the matcher) in process through Starlette's TestClient, with the lifespan running so the
services are started exactly as in production."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from api.app import build_app
from skirmish.base.settings import Settings
from skirmish.base.store.records import MatchRecord
from skirmish.server.services import Services, build_services

with warnings.catch_warnings():
    # Starlette >= 1.x asks for `httpx2`; the project still ships plain httpx (works the same).
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

# PyJWT warns about HMAC keys under 32 bytes, and warnings are errors in this suite.
SECRET = "api-test-secret-0123456789-abcdefgh"
POD = "api-test-pod"

# Deterministic by default: the background matcher makes one pass at start-up and then sleeps
# for an hour, so tests form matches by calling `Api.run_matcher()` themselves.
DEFAULTS: dict[str, Any] = {
    "token_secret": SECRET,
    "redis_url": None,
    "pod_name": POD,
    "match_target_size": 2,
    "match_fill_seconds": 0.0,
    "matcher_interval_seconds": 3600.0,
}


def make_settings(**overrides: Any) -> Settings:
    return Settings(**{**DEFAULTS, **overrides})


def assert_error(resp: httpx.Response, status: int, code: str) -> str:
    """The documented error shape: `{"error": {"code", "message"}}` and nothing else."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/json"), resp.headers
    body = resp.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    message = body["error"]["message"]
    assert isinstance(message, str) and message.strip(), body
    return message


def parse_time(value: str) -> float:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"timestamp without a time zone: {value}"
    return parsed.timestamp()


@dataclass(frozen=True)
class Player:
    """A signed-in guest and a client that sends their player token."""

    client: TestClient
    player_id: str
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url: str) -> httpx.Response:
        return self.client.get(url, headers=self.headers)

    def post(self, url: str, json: Any = None) -> httpx.Response:
        return self.client.post(url, json=json, headers=self.headers)

    def post_raw(self, url: str, content: bytes) -> httpx.Response:
        headers = {**self.headers, "Content-Type": "application/json"}
        return self.client.post(url, content=content, headers=headers)

    def delete(self, url: str) -> httpx.Response:
        return self.client.delete(url, headers=self.headers)


@dataclass(frozen=True)
class Api:
    client: TestClient
    services: Services

    def sign_in(self, name: str | None = None) -> Player:
        resp = self.client.post("/v1/auth/guest", json={} if name is None else {"name": name})
        assert resp.status_code == 201, resp.text
        body = resp.json()
        return Player(self.client, body["player_id"], body["name"], body["token"])

    def run_matcher(self) -> list[MatchRecord]:
        """One matchmaking pass on the app's event loop, as the background matcher does."""
        assert self.client.portal is not None, "only inside `with TestClient(app)`"
        created: list[MatchRecord] = self.client.portal.call(self.services.matcher.run_once)
        return created

    def portal_call(self, func: Callable[..., Any], *args: Any) -> Any:
        assert self.client.portal is not None, "only inside `with TestClient(app)`"
        return self.client.portal.call(func, *args)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read the environment: make sure nothing from the shell leaks into tests."""
    for key in list(os.environ):
        if key.startswith("SKIRMISH_") or key in {"REDIS_URL", "POD_NAME"}:
            monkeypatch.delenv(key)


@pytest.fixture
def make_api() -> Iterator[Callable[..., Api]]:
    """A started app built from `make_settings(**overrides)`; stopped after the test."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> Api:
            services = build_services(make_settings(**overrides))
            client = stack.enter_context(TestClient(build_app(services)))
            return Api(client, services)

        yield start


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()
