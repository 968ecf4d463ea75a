"""Start and stop real server processes on free loopback ports, for e2e tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

SKIRMISH = str(Path(sys.executable).with_name("skirmish"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    url: str
    ws_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before it was ready")
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout}s")


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def skirmish_server(
    tmp_path: Path,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    args: Sequence[str] = (),
) -> Iterator[ServerProcess]:
    """`skirmish serve` as a real uvicorn process on a free loopback port."""
    port = port or free_port()
    log_path = tmp_path / f"server-{port}.log"
    full_env = {**os.environ, "SKIRMISH_TOKEN_SECRET": "e2e-secret-" + "x" * 32, **(env or {})}
    if "REDIS_URL" not in (env or {}):
        full_env.pop("REDIS_URL", None)  # embedded unless the test asks for Redis
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [SKIRMISH, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        yield ServerProcess(url, f"ws://127.0.0.1:{port}", process, log_path)
    finally:
        stop(process)
