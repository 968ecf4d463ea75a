"""`SKIRMISH_LOG_FORMAT=json`: every line a pod writes is one JSON object, requests with
their parts as fields, and no token in any of it. Real `skirmish serve`, real requests."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.support.processes import skirmish_server

pytestmark = pytest.mark.e2e


def test_a_json_logging_pod_writes_only_json_lines(tmp_path: Path) -> None:
    with skirmish_server(tmp_path, {"SKIRMISH_LOG_FORMAT": "json"}) as server:
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
        signed_in = httpx.post(f"{server.url}/v1/auth/guest", json={"name": "ada"}, timeout=5)
        token = signed_in.json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{server.url}/v1/lobbies/l_nope", headers=headers).status_code == 404
        log_path = server.log_path
    text = log_path.read_text()
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert records, "the pod wrote nothing"
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    assert any("open http://" in record["message"] for record in records)  # the banner too
    requests = {(r["method"], r["path"], r["status"]) for r in records if "path" in r}
    assert ("GET", "/healthz", 200) in requests
    assert ("POST", "/v1/auth/guest", 201) in requests
    assert ("GET", "/v1/lobbies/l_nope", 404) in requests
    assert token not in text and "\x1b[" not in text  # no secret, no terminal colours
