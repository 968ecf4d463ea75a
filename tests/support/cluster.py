"""Pytest fixtures for a real local cluster (nginx, pods, Redis): skirmish.server.cluster.

    nginx_cluster = cluster_fixture("nginx_cluster", scope="module", redis=False)

in a test module or conftest gives tests a started `Cluster`; `cluster_factory` starts
clusters inside a test (e.g. one that a chaos test may break). Everything started is
stopped at teardown, also when the test fails; put `cluster.logs()` in an assertion's
message to see what the processes said.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from skirmish.server.cluster import Cluster

ClusterFactory = Callable[..., Cluster]
Scope = Literal["session", "package", "module", "class", "function"]
SEARCH_PATH = "/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin"


def require_binaries(options: dict[str, Any]) -> None:
    """Fail loudly where nginx (or redis-server, when the cluster starts its own) is missing:
    a skipped cluster test proves nothing. `.ci/run` installs both from Debian's packages."""
    names = ["nginx"]
    if options.get("redis", True) and not options.get("redis_url"):
        names.append("redis-server")
    for name in names:
        if shutil.which(name, path=SEARCH_PATH) is None:
            pytest.fail(f"{name} is not installed (apt-get install {name})")


def cluster_fixture(name: str, *, scope: Scope = "module", **options: Any) -> Any:
    """A fixture named `name` yielding a started `Cluster(**options)` with its logs under
    pytest's temp dir. Assign the result to a module-level variable of the same name."""

    @pytest.fixture(scope=scope, name=name)
    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
        require_binaries(options)
        log_dir = tmp_path_factory.mktemp(name)
        with Cluster(log_dir=log_dir, **options) as cluster:
            yield cluster

    return fixture


@pytest.fixture
def cluster_factory(tmp_path: Path) -> Iterator[ClusterFactory]:
    """`cluster_factory(pods=3, redis=False, ...)` starts a cluster for this test only."""
    started: list[Cluster] = []

    def start(**options: Any) -> Cluster:
        require_binaries(options)
        cluster = Cluster(log_dir=tmp_path / f"cluster-{len(started) + 1}", **options)
        cluster.start()
        started.append(cluster)
        return cluster

    yield start
    for cluster in reversed(started):
        cluster.close()
