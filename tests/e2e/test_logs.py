"""`SKIRMISH_LOG_FORMAT=json`: every line a pod writes is one JSON object, requests with
their parts as fields, and no token in any of it. Real `skirmish serve`, real requests."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests.support.processes import skirmish_server

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("level", ["info", "trace"])  # trace: every handshake header
def test_a_json_logging_pod_writes_only_json_lines(tmp_path: Path, level: str) -> None:
    json_logs = {"SKIRMISH_LOG_FORMAT": "json"}
    with skirmish_server(tmp_path, json_logs, args=["--log-level", level]) as server:
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
        signed_in = httpx.post(f"{server.url}/v1/auth/guest", json={"name": "ada"}, timeout=5)
        token = signed_in.json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{server.url}/v1/lobbies/l_nope", headers=headers).status_code == 404
        # A socket offering a token the way clients do (a subprotocol); refused, as it is
        # a player token, not a match token, after the handshake headers were logged.
        offered = [Subprotocol("skirmish.v1"), Subprotocol(f"token.{token}")]
        url = f"{server.ws_url}/ws/matches/m_nope"
        with (
            contextlib.suppress(InvalidStatus, ConnectionClosed),
            connect(url, subprotocols=offered) as ws,
        ):
            ws.recv(timeout=2)
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
    assert token.split(".")[2] not in text  # not even its signature
    if level == "trace":
        assert "[token]" in text  # the handshake was logged, with the token taken out
