"""A local cluster on one machine: a private Redis, N pods and nginx in front of them.

For people (`skirmish cluster`), tests (`tests/support/cluster.py`) and benchmarks. Every
process listens on 127.0.0.1 only, on a free port, and writes its log under one directory;
nothing under /etc or /var is touched, so it runs without root. nginx renders the shipped
`skirmish/server/nginx.conf.template`, the same file a deployment uses.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

LOOPBACK = "127.0.0.1"
TEMPLATE = Path(__file__).with_name("nginx.conf.template")  # package data: ships with the code
# Passive health check of every pod in every upstream: this many failed connects within the
# window take a pod out for the window. Short enough that a dead pod costs one retry, long
# enough that a pod restarting in place is not hammered.
SERVER_PARAMS = "max_fails=2 fail_timeout=10s"
STOP_TIMEOUT = 10.0  # uvicorn's graceful shutdown is 10 s (skirmish/server/asgi.py, server_options)
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
# Debian keeps nginx and redis-server in sbin/bin dirs that an unprivileged PATH may lack.
EXTRA_BIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin")


class ClusterError(RuntimeError):
    """A process of the cluster failed to start or to become ready."""


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports: all held open at once, so none repeats."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind((LOOPBACK, 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def find_executable(name: str) -> str:
    path = os.pathsep.join([os.environ.get("PATH", ""), *EXTRA_BIN_DIRS])
    found = shutil.which(name, path=path)
    if found is None:
        raise ClusterError(f"{name} not found (Debian: apt-get install {name})")
    return found


def raise_open_files_limit() -> int:
    """Lift our soft RLIMIT_NOFILE to the hard one (children inherit it): a benchmark's
    sockets cost nginx two descriptors each and a pod one. Returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def skirmish_argv() -> list[str]:
    """The `skirmish` script next to this interpreter, or the module when not installed."""
    script = Path(sys.executable).with_name("skirmish")
    return [str(script)] if script.exists() else [sys.executable, "-m", "skirmish.server.cli"]


def render_nginx_config(
    listen: str,
    pods: Sequence[str],
    *,
    worker_processes: int | str = 1,
    worker_connections: int = 4096,
    error_log_level: str = "notice",
    template: Path = TEMPLATE,
) -> str:
    """The shipped template with its placeholders filled; `pods` are `host:port` addresses."""
    if not pods:
        raise ValueError("nginx needs at least one pod")
    servers = "\n".join(f"        server {pod} {SERVER_PARAMS};" for pod in pods)
    values = {
        "listen": listen,
        "rest_servers": servers,
        "ws_servers": servers,
        "watch_servers": servers,
        "worker_processes": str(worker_processes),
        "worker_connections": str(worker_connections),
        "error_log_level": error_log_level,
    }

    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise ValueError(f"{template}: unknown placeholder {match.group(0)}")
        return values[match.group(1)]

    return PLACEHOLDER.sub(fill, template.read_text())


@dataclass
class ManagedProcess:
    """One child process with its log file; started in its own session so that a Ctrl-C in
    the terminal reaches only the harness, which then stops everything in order."""

    name: str
    argv: list[str]
    log_path: Path
    env: Mapping[str, str] | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(self.env) if self.env is not None else None,
                start_new_session=True,
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive:
            assert self.process is not None
            self.process.send_signal(sig)

    def wait(self, timeout: float) -> None:
        """Wait for the exit; kill it when the timeout runs out."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        self.signal(signal.SIGTERM)
        self.wait(timeout)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def wait_until(ready: Callable[[], bool], proc: ManagedProcess, timeout: float) -> None:
    """Poll `ready` until it holds; fail fast when the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive:
            raise ClusterError(f"{proc.name} exited before it was ready:\n{proc.log_tail()}")
        if ready():
            return
        time.sleep(0.05)
    raise ClusterError(f"{proc.name} not ready after {timeout}s:\n{proc.log_tail()}")


def http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            # trust_env off: a proxy from the environment must never see loopback traffic.
            return httpx.get(url, timeout=1.0, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def tcp_open(port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return True
        except OSError:
            return False

    return check


def redis_process(directory: Path, port: int) -> ManagedProcess:
    """A throwaway redis-server: no persistence, loopback only, its files in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    argv = [find_executable("redis-server"), "--port", str(port), "--bind", LOOPBACK]
    argv += ["--save", "", "--appendonly", "no", "--dir", str(directory)]
    return ManagedProcess("redis", argv, directory / "redis.log")


def nginx_argv(prefix: Path, conf: Path, *options: str) -> list[str]:
    # -e: nginx opens its compiled-in error log (/var/log/nginx) before reading the config.
    paths = ["-p", f"{prefix}/", "-e", "logs/error.log", "-c", str(conf)]
    return [find_executable("nginx"), *options, *paths]


def write_nginx_config(prefix: Path, config: str) -> Path:
    """Install `config` as `prefix/nginx.conf` once `nginx -t` accepts it: a reload with a
    broken file would leave nginx on the old one with nothing but a line in its log."""
    for sub in ("logs", "tmp"):  # the template keeps logs, pid and temp paths in here
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    candidate = prefix / "nginx.conf.new"
    candidate.write_text(config)
    check = subprocess.run(
        nginx_argv(prefix, candidate, "-t", "-q"), capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        raise ClusterError(f"nginx rejects {candidate}:\n{check.stderr}")
    return candidate.replace(prefix / "nginx.conf")


def child_pids(parent: int) -> set[int]:
    """The processes whose parent is `parent`, from /proc (Linux): nginx's workers."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")".
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                children.add(int(stat.parent.name))
    return children


@dataclass
class Pod:
    name: str
    port: int
    process: ManagedProcess

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"


class Cluster:
    """Private Redis (unless `redis_url` is given), `pods` pods and nginx, started in that
    order and stopped in the reverse one. `redis=False` runs the pods embedded (no shared
    state between them): enough to test routing, not to play across pods.
    """

    def __init__(
        self,
        pods: int = 3,
        *,
        nginx_port: int | None = None,
        redis: bool = True,
        redis_url: str | None = None,
        env: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
        serve_args: Sequence[str] = ("--no-access-log",),
        ready_timeout: float = 30.0,
    ) -> None:
        if pods < 1:
            raise ValueError("a cluster needs at least one pod")
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="skirmish-cluster-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # Every port up front, in one go: distinct, and fixed for restarts and reloads.
        *pod_ports, self._redis_port, free_nginx_port = free_ports(pods + 2)
        self.nginx_port = nginx_port or free_nginx_port
        self.redis_url = redis_url
        self.token_secret = secrets.token_urlsafe(48)  # every pod must verify every token
        self.ready_timeout = ready_timeout
        self._want_redis = redis and redis_url is None
        self._env = dict(env or {})
        self._serve_args = list(serve_args)
        self._pods = {
            f"pod-{i}": self._pod(f"pod-{i}", port) for i, port in enumerate(pod_ports, 1)
        }
        self._redis: ManagedProcess | None = None
        self._nginx: ManagedProcess | None = None
        self._open_files = 1024

    # -- what callers use -------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.nginx_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{LOOPBACK}:{self.nginx_port}"

    @property
    def pods(self) -> dict[str, str]:
        return {name: pod.url for name, pod in self._pods.items()}

    @property
    def nginx_prefix(self) -> Path:
        return self.log_dir / "nginx"

    @property
    def access_log(self) -> Path:
        return self.nginx_prefix / "logs" / "access.log"

    @property
    def error_log(self) -> Path:
        return self.nginx_prefix / "logs" / "error.log"

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        try:
            self._open_files = raise_open_files_limit()
            self._start_redis()
            for pod in self._pods.values():  # all at once: they boot in parallel
                pod.process.start()
            for pod in self._pods.values():
                wait_until(http_ok(f"{pod.url}/readyz"), pod.process, self.ready_timeout)
            self._start_nginx()
        except BaseException:  # Ctrl-C included: never leave half a cluster behind
            self.close()
            raise

    def close(self) -> None:
        """Stop nginx, then every pod (all signalled first, then awaited), then Redis."""
        if self._nginx is not None:
            self._nginx.stop()
        for pod in self._pods.values():
            pod.process.signal(signal.SIGTERM)
        for pod in self._pods.values():
            pod.process.wait(STOP_TIMEOUT)
        if self._redis is not None:
            self._redis.stop()

    def kill(self, pod: str, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to a pod; after SIGKILL wait until the process is gone."""
        process = self._pods[pod].process
        process.signal(sig)
        if sig == signal.SIGKILL:
            process.wait(STOP_TIMEOUT)

    def stop_pod(self, pod: str) -> None:
        self._pods[pod].process.stop()

    def start_pod(self, pod: str) -> None:
        """(Re)start a pod on its old port: the proxies' hash ring keys on its address."""
        entry = self._pods[pod]
        if entry.process.alive:
            raise ClusterError(f"{pod} is already running")
        entry.process.start()
        wait_until(http_ok(f"{entry.url}/readyz"), entry.process, self.ready_timeout)

    def route_to(self, pods: Iterable[str]) -> None:
        """Proxy to these pods only, as a scale-in or scale-out looks to the proxy: rewrite
        the config and reload nginx; returns once new connections see the new ring."""
        if self._nginx is None or self._nginx.process is None:
            raise ClusterError("nginx is not running")
        write_nginx_config(self.nginx_prefix, self._nginx_config(pods))
        old_workers = child_pids(self._nginx.process.pid)
        self._nginx.signal(signal.SIGHUP)

        def reloaded() -> bool:
            return all(self._retired(pid) for pid in old_workers)

        wait_until(reloaded, self._nginx, self.ready_timeout)

    def alive(self) -> dict[str, bool]:
        """Which processes run right now (redis, pods, nginx)."""
        procs = [self._redis, *(pod.process for pod in self._pods.values()), self._nginx]
        return {proc.name: proc.alive for proc in procs if proc is not None}

    def logs(self, lines: int = 20) -> str:
        """The tail of every log, for a failing test's message."""
        procs = [self._redis, *(pod.process for pod in self._pods.values()), self._nginx]
        tails = [f"== {p.name} ({p.log_path})\n{p.log_tail(lines)}" for p in procs if p]
        if self.error_log.exists():
            tail = "\n".join(self.error_log.read_text(errors="replace").splitlines()[-lines:])
            tails.append(f"== nginx error.log\n{tail}")
        return "\n".join(tails)

    # -- the parts ------------------------------------------------------------------

    def _pod(self, name: str, port: int) -> Pod:
        argv = [*skirmish_argv(), "serve", "--host", LOOPBACK, "--port", str(port)]
        proc = ManagedProcess(name, argv + self._serve_args, self.log_dir / f"{name}.log")
        return Pod(name, port, proc)

    def _pod_env(self, name: str) -> dict[str, str]:
        env = {**os.environ, **self._env, "POD_NAME": name, "PYTHONUNBUFFERED": "1"}
        env["SKIRMISH_TOKEN_SECRET"] = self.token_secret
        env.pop("REDIS_URL", None)  # embedded unless this cluster has a Redis
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return env

    def _start_redis(self) -> None:
        if self._want_redis:
            self._redis = redis_process(self.log_dir / "redis", self._redis_port)
            self._redis.start()
            wait_until(tcp_open(self._redis_port), self._redis, self.ready_timeout)
            self.redis_url = f"redis://{LOOPBACK}:{self._redis_port}/0"
        for name, pod in self._pods.items():  # the URL is known only now
            pod.process.env = self._pod_env(name)

    def _nginx_config(self, pods: Iterable[str]) -> str:
        addresses = [f"{LOOPBACK}:{self._pods[pod].port}" for pod in pods]
        # Within the descriptor limit, or nginx warns and refuses connections past it.
        connections = max(256, min(8192, self._open_files - 64))
        listen = f"{LOOPBACK}:{self.nginx_port}"
        return render_nginx_config(listen, addresses, worker_connections=connections)

    def _start_nginx(self) -> None:
        conf = write_nginx_config(self.nginx_prefix, self._nginx_config(self._pods))
        stderr = self.nginx_prefix / "logs" / "stderr.log"
        self._nginx = ManagedProcess("nginx", nginx_argv(self.nginx_prefix, conf), stderr)
        self._nginx.start()
        wait_until(http_ok(f"{self.url}/readyz"), self._nginx, self.ready_timeout)

    def _retired(self, worker: int) -> bool:
        # An old worker logs this as it stops accepting; it lives on while it still carries
        # sockets, and those stay where they are.
        if not Path(f"/proc/{worker}").exists():
            return True
        return f"{worker}#{worker}: gracefully shutting down" in self.error_log.read_text()


# -- `skirmish cluster` -------------------------------------------------------------------


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pods", type=int, default=3, help="number of pods (default 3)")
    parser.add_argument("--port", type=int, default=8080, help="nginx port (default 8080)")
    parser.add_argument("--redis-url", help="use this Redis instead of a private one")
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="pods without Redis: nothing shared between them (routing demos only)",
    )
    parser.add_argument("--log-dir", type=Path, help="logs here (default: a new temp dir)")


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the harness the way Ctrl-C does


def _announce(cluster: Cluster) -> None:
    print(f"Skirmish cluster: open {cluster.url}/ in your browser (nginx)", flush=True)
    for name, url in cluster.pods.items():
        print(f"  {name}: {url}  (metrics: {url}/metrics)", flush=True)
    print(f"  redis: {cluster.redis_url or 'none (embedded pods)'}", flush=True)
    print(f"  logs: {cluster.log_dir}\nCtrl-C stops everything.", flush=True)


def _watch(cluster: Cluster) -> None:
    """Run until interrupted; say once when a process dies (a chaos test may do that)."""
    reported: set[str] = set()
    while True:
        time.sleep(1.0)
        for name, alive in cluster.alive().items():
            if not alive and name not in reported:
                reported.add(name)
                print(f"{name} has exited (log under {cluster.log_dir})", flush=True)


def cluster_command(args: argparse.Namespace) -> int:
    for sig in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a `&` job starts with it ignored
        signal.signal(sig, _raise_interrupt)
    cluster = Cluster(
        args.pods,
        nginx_port=args.port or None,
        redis=not args.embedded,
        redis_url=args.redis_url,
        log_dir=args.log_dir,
    )
    try:
        cluster.start()  # cleans up after itself when it fails or is interrupted
    except ClusterError as exc:
        print(f"cluster failed to start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    try:
        _announce(cluster)
        _watch(cluster)
    except KeyboardInterrupt:
        print("stopping…", flush=True)
    finally:
        # A second Ctrl-C must not cut the teardown short and leave processes behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cluster.close()
    return 0
