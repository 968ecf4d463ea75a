"""A benchmark told to stop (SIGTERM: a CI job's timeout, `kill`) stops what it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state
        tree.setdefault(parent, []).append(int(entry))
    return tree


def processes() -> dict[int, str]:
    """Every process's command line: nginx runs with its prefix in the test's directory."""
    found = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        found[int(entry)] = command.replace(b"\0", b" ").decode(errors="replace")
    return found


def descendants(pid: int) -> dict[int, str]:
    tree, commands, found, todo = children(), processes(), {}, [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child in commands:
                found[child] = commands[child]
                todo.append(child)
    return found


def left_in(directory: Path) -> dict[int, str]:
    """Live processes of this test's bench, even unseen ones: each has the directory in its
    command line (nginx's prefix) or writes its output there (pods, Redis)."""
    found = {}
    for pid, command in processes().items():
        try:
            outputs = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in (1, 2)]
        except OSError:
            outputs = []
        if alive(pid) and any(str(directory) in text for text in [command, *outputs]):
            found[pid] = command
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def note(seen: dict[int, str], now: dict[int, str]) -> None:
    """Add what is running now; a process on its way out shows an empty command line, so
    what was seen of a process before is kept."""
    for pid, command in now.items():
        if command or pid not in seen:
            seen[pid] = command


def starting(tree: dict[int, str], out: str) -> bool:
    return any("redis-server" in command for command in tree.values())  # first of a cluster


def measuring(tree: dict[int, str], out: str) -> bool:
    return "measuring" in out


@pytest.mark.timeout(200)
@pytest.mark.parametrize("when", [starting, measuring], ids=["starting", "measuring"])
def test_sigterm_stops_every_process_the_bench_started(
    tmp_path: Path, when: Callable[[dict[int, str], str], bool]
) -> None:
    out = tmp_path / "bench.out"
    argv = [sys.executable, "-m", "loadtest.bench", "--rs", "1", "--targets", "cluster"]
    argv += ["--duration", "120", "--warmup", "1", "--quiet-wait", "0", "--retries", "0"]
    argv += ["--no-write", "--logs", str(tmp_path / "logs")]
    with out.open("w") as sink:
        bench = subprocess.Popen(argv, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    started: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 90
        while not when(started, out.read_text()):
            assert bench.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            note(started, descendants(bench.pid))
            time.sleep(0.05)

        bench.send_signal(signal.SIGTERM)
        while bench.poll() is None and time.monotonic() < deadline + 60:
            note(started, descendants(bench.pid))  # a start under way goes on, then is undone
            time.sleep(0.05)

        assert bench.wait(1) == 128 + signal.SIGTERM, out.read_text()
        commands = " ".join(started.values())
        expected = ["redis-server", "loadtest.pod"]  # (a start may run nginx only briefly)
        expected += ["nginx", "loadtest.loadgen"] if when is measuring else []
        assert all(part in commands for part in expected), started
        note(started, left_in(tmp_path))
        deadline = time.monotonic() + 15
        while any(alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert {pid: cmd for pid, cmd in started.items() if alive(pid)} == {}
        started.clear()  # all gone: nothing for the cleanup below to kill
    finally:  # (a failed test must not leave its processes behind either)
        for pid in [bench.pid, *started, *descendants(bench.pid), *left_in(tmp_path)]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        bench.wait()
