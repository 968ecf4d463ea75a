"""The servers a benchmark run measures, started and stopped by the driver, and their CPU.

- `ceiling`: the bare ASGI app (loadtest/bare_app.py), one process; `ceiling-direct`: the
  same app on the direct-frames path the match consumer takes (realtime/ws_protocol.py).
- `single`: one Skirmish pod, embedded (no Redis), one process.
- `cluster`: two Skirmish pods sharing a private Redis (store, leases, channel layer),
  every match split across them; `cluster-routed`: the same pods, each match's sockets all
  on its owner pod, as deployed behind the ingress's hash of the match path. Both are
  started by `skirmish.server.cluster.Cluster` (which also starts its nginx; the benchmark's
  sockets go to the pods directly, so nginx idles and is not counted).

All listen on 127.0.0.1 on free ports; every process is stopped at the end of its run.
Server CPU is read from /proc: utime + stime of each process and its descendants (Redis
included for the cluster), so it covers every thread of the whole server side.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from skirmish.server.cluster import (
    LOOPBACK,
    Cluster,
    ManagedProcess,
    Pod,
    child_pids,
    free_ports,
    http_ok,
    wait_until,
)

CLOCK_TICK = os.sysconf("SC_CLK_TCK")
ROUTED = "routed"  # `cluster-routed`: every socket of a match on the pod that owns it
# The benchmark makes its matches through REST as fast as the pods answer: the per-client
# REST rate limit (a guard against abuse, not part of the measured workload) is off.
BENCH_SETTINGS = {"SKIRMISH_RATE_LIMIT_ENABLED": "false"}
ROOT = Path(__file__).resolve().parents[1]


def with_root_on_path(env: dict[str, str]) -> dict[str, str]:
    """`python -m loadtest.…` children find this checkout from any working directory."""
    paths = [str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
    return {**env, "PYTHONPATH": os.pathsep.join(paths)}


READY_TIMEOUT = 30.0


def pod_argv(app: str, port: int) -> list[str]:
    return [sys.executable, "-m", "loadtest.pod", "--app", app, "--port", str(port)]


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process, all its threads; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def tree(pids: Iterable[int]) -> set[int]:
    found: set[int] = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(child_pids(pid))
    return found


def cpu_by_process(pids: Iterable[int]) -> dict[str, float]:
    """CPU seconds per process of the trees, keyed `name[pid]` (redis-server, python…)."""
    result = {}
    for pid in tree(pids):
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        result[f"{name}[{pid}]"] = process_cpu(pid)
    return result


def cpu_seconds(pids: Iterable[int]) -> float:
    """CPU seconds of these processes and their descendants."""
    return sum(process_cpu(pid) for pid in tree(pids))


def renice(pids: Iterable[int], niceness: int) -> None:
    """Set the nice value of every thread of these processes and their descendants (root may
    go below 0): on a shared machine the benchmark then takes the CPU before others' jobs."""
    for pid in tree(pids):
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError):
                os.setpriority(os.PRIO_PROCESS, int(task.name), niceness)


def pin(pids: Iterable[int], cpus: set[int]) -> None:
    """Restrict these processes (every thread, descendants too) to `cpus`."""
    for pid in tree(pids):
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError):
                os.sched_setaffinity(int(task.name), cpus)


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (everything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLOCK_TICK


def bench_env(
    variant: str = "direct", patches: str = "", extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = with_root_on_path(dict(os.environ))
    env.update({"PYTHONUNBUFFERED": "1", "BENCH_VARIANT": variant, **BENCH_SETTINGS})
    env["BENCH_PATCHES"] = patches
    env.update(extra or {})
    env.setdefault("SKIRMISH_TOKEN_SECRET", "bench-secret-" + "x" * 40)
    env.pop("REDIS_URL", None)
    return env


class Server:
    """One process: the ceiling or a single pod."""

    def __init__(self, app: str, log_dir: Path, env: dict[str, str]) -> None:
        (port,) = free_ports(1)
        self.urls = [f"http://{LOOPBACK}:{port}"]
        self.process = ManagedProcess(app, pod_argv(app, port), log_dir / f"{app}.log", env)

    def start(self) -> None:
        self.process.start()
        try:
            wait_until(http_ok(f"{self.urls[0]}/readyz"), self.process, READY_TIMEOUT)
        except BaseException:
            self.close()
            raise

    def pids(self) -> list[int]:
        proc = self.process.process
        return [proc.pid] if proc is not None and self.process.alive else []

    def close(self) -> None:
        self.process.stop()


class BenchCluster(Cluster):
    """`skirmish.server.cluster.Cluster` whose pods are benchmark pods (loadtest/pod.py)."""

    def __init__(self, pods: int, log_dir: Path, variant: str, patches: str) -> None:
        env = {"BENCH_VARIANT": variant, "BENCH_PATCHES": patches, **BENCH_SETTINGS}
        env = with_root_on_path(env)
        super().__init__(pods, log_dir=log_dir, env=env)

    def _pod(self, name: str, port: int) -> Pod:
        proc = ManagedProcess(name, pod_argv("skirmish", port), self.log_dir / f"{name}.log")
        return Pod(name, port, proc)

    @property
    def urls(self) -> list[str]:
        return list(self.pods.values())

    def pids(self) -> list[int]:
        procs = [pod.process for pod in self._pods.values()]
        if self._redis is not None:
            procs.append(self._redis)
        return [p.process.pid for p in procs if p.process is not None and p.alive]


BenchServer = Server | BenchCluster


def start_server(target: str, log_dir: Path | None, frame_bytes: int) -> BenchServer:
    """Start what `target` names: `ceiling`, or `single` / `cluster`, each optionally with
    `-VARIANT` and `+PATCH`es (loadtest/variants.py), e.g. `single-stock`,
    `cluster+relay-direct`."""
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="skirmish-bench-"))
    name, *patch_list = target.split("+")
    kind, _, variant = name.partition("-")
    patches = ",".join(patch_list)
    server: BenchServer
    if kind == "ceiling":
        extra = {"BENCH_FRAME_BYTES": str(frame_bytes), "BENCH_BARE_DIRECT": "0"}
        if variant == "direct":  # the bare app on the direct-frames path (bare_app.py)
            extra["BENCH_BARE_DIRECT"] = "1"
        server = Server("bare", log_dir, bench_env(extra=extra))
    elif kind == "single":
        server = Server("skirmish", log_dir, bench_env(variant or "direct", patches))
    elif kind == "cluster":
        variant = "" if variant == ROUTED else variant  # routing is the plan's, not the pod's
        server = BenchCluster(2, log_dir / "cluster", variant or "direct", patches)
    else:
        raise ValueError(f"unknown target {target!r}")
    server.start()
    return server


def stop_server(server: BenchServer) -> None:
    with contextlib.suppress(Exception):
        server.close()
