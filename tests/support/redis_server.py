"""A private, throwaway `redis-server` for tests: its own loopback port, no persistence.

Never the system Redis on Redis's default port: tests must neither depend on it nor touch
its data.

    with redis_server(tmp_path) as url:      # anywhere
        store = RedisStore(url)

or, in a test module / conftest, the module-scoped `redis_url` fixture below (one server per
module; give each test its own key prefix).
"""

from __future__ import annotations

import inspect
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from redis import Redis

from tests.support.processes import free_port, stop

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
# The port a redis-server listens on unless told otherwise (redis-py's default too): the
# machine's own Redis, never ours; and the one the deployment manifests use.
DEFAULT_PORT: int = inspect.signature(Redis).parameters["port"].default


def answers_ping(port: int) -> bool:
    """A raw RESP PING, so that waiting needs no client (and leaves none open)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def wait_for_ping(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode} on port {port}")
        if answers_ping(port):
            return
        time.sleep(0.02)
    raise TimeoutError(f"redis-server on port {port} not answering after {timeout}s")


def private_port() -> int:
    port = free_port()
    while port == DEFAULT_PORT:  # ephemeral ports never are, but make it a certainty
        port = free_port()
    return port


def launch(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    workdir.mkdir(parents=True, exist_ok=True)
    args = [
        REDIS_SERVER,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--save", "",
        "--appendonly", "no",
        "--dir", str(workdir),
        "--daemonize", "no",
    ]  # fmt: skip
    with (workdir / "redis.log").open("wb") as log:
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)


@contextmanager
def redis_server(tmp_path: Path, timeout: float = 10.0) -> Iterator[str]:
    """Run a private redis-server until the block ends; yields its `redis://` URL."""
    # The free port is only free until someone else binds it: retry on a lost race.
    for attempt in range(3):
        port = private_port()
        process = launch(tmp_path / f"redis-{port}", port)
        try:
            wait_for_ping(port, process, timeout)
        except RuntimeError:
            stop(process)
            if attempt == 2:
                raise
            continue
        except BaseException:
            stop(process)
            raise
        break
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One private server per test module (re-export it from a conftest to use it)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url
