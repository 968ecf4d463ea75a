"""A pod drained mid-match: its players' SDK sessions resume on the other pod, and the
recorded replay shows every input they sent applied exactly once, in order, or reported
dropped (docs/protocol.md, "Reconnecting"). Real redis-server, pods, nginx and sockets.

The drain is what a rolling deploy does: the proxy stops sending new sockets to the pod
(in Kubernetes its endpoint goes when /readyz fails), then the pod's preStop hook posts
/admin/drain: it checkpoints its matches, releases them and closes their sockets with
`reconnect` and 1012."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from skirmish.sdk.reconnect import Reconnector
from skirmish.server.cluster import Cluster
from tests.cluster.conftest import FAST_MATCHES
from tests.cluster.test_scale_out import lobby_match
from tests.support.exactly_once import Played, assert_applied_exactly_once, play

pytestmark = pytest.mark.e2e

ADMIN = "drain-test-admin-token-" + "x" * 16
DRAIN_ENV = {
    **FAST_MATCHES,
    "SKIRMISH_ARENA_TIME_LIMIT_SECONDS": "3",
    "SKIRMISH_ADMIN_TOKEN": ADMIN,
}


async def drain(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        headers = {"Authorization": f"Bearer {ADMIN}"}
        response = await http.post(f"{url}/admin/drain", headers=headers)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


@dataclass
class Drained:
    played: list[Played]
    told: int  # the sockets the drain told to reconnect
    at: float  # when the drain answered
    replay: dict[str, Any]


async def drain_mid_match(cluster: Cluster) -> Drained:
    """Two players through nginx; a second into the match the proxy leaves their pod out
    and the pod is drained; they play on to the result."""
    clients, accesses = await lobby_match([cluster.url] * 2, ["ann", "bob"])
    played = [Played(), Played()]
    sessions = [Reconnector(c, a) for c, a in zip(clients, accesses, strict=True)]
    tasks = [asyncio.create_task(play(s, p)) for s, p in zip(sessions, played, strict=True)]
    async with asyncio.timeout(10):
        while min(p.tick for p in played) < 30:  # noqa: ASYNC110 - the players' tasks
            await asyncio.sleep(0.02)
    (pod,) = set(played[0].pods + played[1].pods)  # the match's owner: both sockets there
    (other,) = set(cluster.pods) - {pod}
    await asyncio.to_thread(cluster.route_to, [other])
    told = (await drain(cluster.pods[pod]))["told"]
    drained_at = time.monotonic()
    async with asyncio.timeout(20):
        await asyncio.gather(*tasks)
    replay = await clients[0].request("GET", f"/v1/matches/{accesses[0].match_id}/replay")
    for client in clients:
        await client.aclose()
    return Drained(played, told, drained_at, replay)


def test_a_drained_pods_players_resume_elsewhere_and_each_input_applies_once(
    cluster_factory: Any,
) -> None:
    drained = asyncio.run(drain_mid_match(cluster_factory(pods=2, env=DRAIN_ENV)))
    assert drained.told == 2
    sessions = [p.session for p in drained.played if p.session is not None]
    assert len(sessions) == 2 and sessions[0].result == sessions[1].result
    assert sessions[0].result is not None and sessions[0].result["reason"] == "time_limit"
    for player, session in zip(drained.played, sessions, strict=True):
        first, second = player.pods
        assert first != second, player.pods  # resumed on the other pod
        assert session.welcome is not None
        seqs = assert_applied_exactly_once(drained.replay, session.welcome["slot"], player)
        assert len(seqs) > 45  # both pods applied inputs
        resumed_at, last_seq, sent_before = player.welcomes[1]
        assert resumed_at - drained.at < 2.0, "slow to resume"
        # The inputs that waited in the drained pod's buffer were not part of its
        # checkpoint: the welcome said so, and the session sent them again.
        assert last_seq < sent_before and session.resent >= 1
    resent, dropped = [s.resent for s in sessions], [len(s.dropped) for s in sessions]
    print(f"\ndrain: resent {resent}, dropped {dropped}")
