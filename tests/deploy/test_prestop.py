"""The Deployment's preStop hook, run for real against a stand-in for the pod's
POST /admin/drain: what it sends, and that it reports failure (the kubelet then records a
FailedPreStopHook event) instead of hiding it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.deploy.manifests import container, find, render

TOKEN = "admin-token-for-the-test-0123456789abcdef"


@dataclass
class DrainStandIn:
    """Answers every request with `status`, after `release` is set when `hold` is on."""

    status: int = 200
    hold: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    port: int = 0


@pytest.fixture
def stand_in() -> Iterator[DrainStandIn]:
    state = DrainStandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            state.seen.append((self.command, self.path, self.headers.get("Authorization")))
            if state.hold:
                state.release.wait(10)
            body = b'{"status":"drained"}'
            self.send_response(state.status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def hook_script(port: int) -> str:
    """The script exactly as rendered, but pointed at `port` and without the settle sleep."""
    command = container(find(render("prod"), "Deployment", "skirmish"), "skirmish")
    script = str(command["lifecycle"]["preStop"]["exec"]["command"][2])
    for old, new in (
        ("127.0.0.1:8000", f"127.0.0.1:{port}"),
        ("SETTLE_SECONDS = 5", "SETTLE_SECONDS = 0"),
    ):
        assert script.count(old) == 1, old
        script = script.replace(old, new)
    return script


def run_hook(port: int, drain_timeout: str = "30") -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SKIRMISH_ADMIN_TOKEN": TOKEN,
        "SKIRMISH_DRAIN_TIMEOUT_SECONDS": drain_timeout,
    }
    return subprocess.run(
        [sys.executable, "-c", hook_script(port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def test_hook_posts_the_drain_with_the_admin_token(stand_in: DrainStandIn) -> None:
    result = run_hook(stand_in.port)
    assert result.returncode == 0, result.stdout + result.stderr
    assert stand_in.seen == [("POST", "/admin/drain", f"Bearer {TOKEN}")]
    assert "drain: 200" in result.stdout


def test_hook_fails_when_the_drain_is_refused(stand_in: DrainStandIn) -> None:
    stand_in.status = 401
    result = run_hook(stand_in.port)
    assert result.returncode == 1
    assert "drain failed" in result.stdout and "401" in result.stdout


def test_hook_fails_when_nothing_listens() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_hook(port)
    assert result.returncode == 1
    assert "drain failed" in result.stdout


def test_hook_waits_no_longer_than_the_drain_deadline(stand_in: DrainStandIn) -> None:
    """The HTTP timeout is the drain deadline + 5 s: a deadline of -4.7 leaves 0.3 s."""
    stand_in.hold = True
    result = run_hook(stand_in.port, drain_timeout="-4.7")
    assert result.returncode == 1
    assert "timed out" in result.stdout
