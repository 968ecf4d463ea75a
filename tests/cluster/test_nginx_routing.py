"""The shipped nginx config in front of three real pods: which pod serves what.

The `x-skirmish-pod` header (on every HTTP response and on the WebSocket accept) names the
pod. The pods run embedded: no test here needs shared state, only the routing.
"""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from realtime.close_codes import CloseCode
from skirmish.base.tokens import TokenService
from skirmish.server.cluster import Cluster
from tests.support.cluster import ClusterFactory

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

SUBPROTOCOL = Subprotocol("skirmish.v1")


@dataclass(frozen=True)
class Landing:
    pod: str
    subprotocol: str | None
    close_code: int | None


async def land(
    cluster: Cluster, match_id: str, token: str | None = None, *, suffix: str = ""
) -> Landing:
    """Open the match socket (the spectator socket with suffix "/spectate") through nginx
    and see where it landed and how it ended.

    The app accepts first and closes right after (4001 without a valid token, 4004 for a
    match it does not know): the handshake already says which pod took the socket."""
    offered = [SUBPROTOCOL] + ([Subprotocol(f"token.{token}")] if token else [])
    url = f"{cluster.ws_url}/ws/matches/{match_id}{suffix}"
    async with connect(url, subprotocols=offered, proxy=None, open_timeout=5) as ws:
        assert ws.response is not None
        pod = ws.response.headers["x-skirmish-pod"]
        await asyncio.wait_for(ws.wait_closed(), 5)
    return Landing(pod, ws.subprotocol, ws.close_code)


async def pods_of(cluster: Cluster, match_ids: list[str]) -> dict[str, str]:
    landings = await asyncio.gather(*(land(cluster, match_id) for match_id in match_ids))
    return {match_id: landing.pod for match_id, landing in zip(match_ids, landings, strict=True)}


def rest_pods(cluster: Cluster, path: str, count: int) -> list[str]:
    with httpx.Client(base_url=cluster.url, trust_env=False, timeout=5) as client:
        responses = [client.get(path) for _ in range(count)]
    assert all(r.status_code == 200 for r in responses), cluster.logs()
    return [r.headers["x-skirmish-pod"] for r in responses]


def match_token(cluster: Cluster, match_id: str) -> str:
    """A token every pod accepts: signed with the cluster's shared secret."""
    return TokenService(cluster.token_secret).issue_match("p_routing", match_id).token


def spectate_token(cluster: Cluster, match_id: str) -> str:
    return TokenService(cluster.token_secret).issue_spectate("p_watcher", match_id).token


def wait_for_log(path: Path, needle: str, timeout: float = 5.0) -> str:
    """nginx writes a socket's access line when the socket ends, a moment after the client
    sees the close."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if needle in text:
            return text
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} never reached {path}")


async def test_sockets_of_one_match_share_a_pod_and_matches_spread(nginx_cluster: Cluster) -> None:
    repeated = [f"m_same{i}" for i in range(5)]
    landings = await asyncio.gather(*(land(nginx_cluster, m) for m in repeated for _ in range(5)))
    by_match: dict[str, set[str]] = {}
    for match_id, landing in zip([m for m in repeated for _ in range(5)], landings, strict=True):
        by_match.setdefault(match_id, set()).add(landing.pod)
    assert all(len(pods) == 1 for pods in by_match.values()), by_match

    spread = await pods_of(nginx_cluster, [f"m_spread{i}" for i in range(60)])
    assert set(spread.values()) == set(nginx_cluster.pods), spread


async def test_spectators_of_one_match_spread_while_its_players_share_a_pod(
    nginx_cluster: Cluster,
) -> None:
    """Spectator sockets go by least_conn, not by the ring: a popular match's audience is
    spread over every pod, while the match's own sockets still meet on one."""
    match_id = "m_watched"
    token = spectate_token(nginx_cluster, match_id)
    suffixes = ["/spectate", "/spectate?speed=2", "/spectate"] * 3  # a query changes nothing
    watchers = await asyncio.gather(
        *(land(nginx_cluster, match_id, token, suffix=suffix) for suffix in suffixes)
    )
    players = await asyncio.gather(*(land(nginx_cluster, match_id) for _ in range(6)))

    assert len({landing.pod for landing in players}) == 1, players
    assert {landing.pod for landing in watchers} == set(nginx_cluster.pods), watchers
    # Each reached a pod's spectator route with its token intact (4004: embedded pods, no
    # such match; a bad token or another route would close otherwise).
    assert {landing.close_code for landing in watchers} == {CloseCode.NOT_FOUND}, watchers
    access = wait_for_log(nginx_cluster.access_log, f"/ws/matches/{match_id}/spectate")
    assert token not in access
    assert "speed=" not in access


def test_rest_is_balanced_over_pods(nginx_cluster: Cluster) -> None:
    assert len(set(rest_pods(nginx_cluster, "/healthz", 9))) > 1


def test_metrics_is_not_exposed_through_the_proxy(nginx_cluster: Cluster) -> None:
    with httpx.Client(base_url=nginx_cluster.url, trust_env=False, timeout=5) as client:
        assert client.get("/metrics").status_code == 404
        assert client.get("/v1/modes").status_code == 200


async def test_subprotocols_reach_the_pod(nginx_cluster: Cluster) -> None:
    without_token = await land(nginx_cluster, "m_subprotocol")
    with_token = await land(
        nginx_cluster, "m_subprotocol", match_token(nginx_cluster, "m_subprotocol")
    )

    assert with_token.subprotocol == without_token.subprotocol == SUBPROTOCOL
    # Without a token the pod refuses with 4001; with one it got past the token check
    # (and then found no such match): so the token.<jwt> subprotocol reached it intact.
    assert without_token.close_code == 4001
    assert with_token.close_code not in (None, 4001), with_token


async def test_access_log_holds_no_token(nginx_cluster: Cluster) -> None:
    token = match_token(nginx_cluster, "m_logged")
    await land(nginx_cluster, "m_logged", token)

    access = wait_for_log(nginx_cluster.access_log, "/ws/matches/m_logged")
    error_log = (nginx_cluster.nginx_prefix / "logs" / "error.log").read_text()
    for text in (access, error_log):
        assert "token." not in text
        assert token not in text


def assert_only_moved_off(victim: str, before: dict[str, str], after: dict[str, str]) -> None:
    """Consistent hashing: the victim's matches go elsewhere, every other match stays put."""
    for match_id, pod in before.items():
        if pod == victim:
            assert after[match_id] != victim, match_id
        else:
            assert after[match_id] == pod, (match_id, pod, after[match_id])


def busiest(before: dict[str, str]) -> str:
    pods = list(before.values())
    return max(set(pods), key=pods.count)


async def test_scaling_the_ring_moves_only_one_pods_matches(nginx_cluster: Cluster) -> None:
    """Dropping a pod from the upstream list (a scale-in, config reload) and adding it back:
    a plain modulo hash would reshuffle most matches; ketama moves only that pod's."""
    match_ids = [f"m_scale{i}" for i in range(45)]
    before = await pods_of(nginx_cluster, match_ids)
    victim = busiest(before)
    try:
        nginx_cluster.route_to(set(nginx_cluster.pods) - {victim})
        scaled_in = await pods_of(nginx_cluster, match_ids)
    finally:
        nginx_cluster.route_to(nginx_cluster.pods)  # the module's cluster, as it was
    assert_only_moved_off(victim, before, scaled_in)
    assert await pods_of(nginx_cluster, match_ids) == before


async def test_killing_a_pod_moves_only_its_matches(cluster_factory: ClusterFactory) -> None:
    cluster = cluster_factory(pods=3, redis=False)
    match_ids = [f"m_ring{i}" for i in range(45)]
    before = await pods_of(cluster, match_ids)
    victim = busiest(before)

    cluster.kill(victim, signal.SIGKILL)

    assert_only_moved_off(victim, before, await pods_of(cluster, match_ids))
    assert set(rest_pods(cluster, "/healthz", 6)) <= set(cluster.pods) - {victim}
