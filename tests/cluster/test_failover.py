"""A pod dies mid-match: its players reconnect, another pod claims the match, restores the
last checkpoint and plays it to the end. Real redis-server, pods, nginx and sockets."""

from __future__ import annotations

import asyncio
import math
import random
import signal
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis import Redis

from skirmish.sdk.client import MatchAccess, MatchClosed, SkirmishClient
from skirmish.server.cluster import Cluster
from tests.cluster.test_scale_out import lobby_match

pytestmark = pytest.mark.e2e

FAILOVER_ENV = {
    "SKIRMISH_LEASE_TTL_SECONDS": "2",  # renewed and checkpointed every 2/3 s
    "SKIRMISH_MATCH_START_WAIT_SECONDS": "5",
    "SKIRMISH_ARENA_TIME_LIMIT_SECONDS": "12",
    "SKIRMISH_ARENA_SCORE_LIMIT": "100",
}


@dataclass
class Seen:
    ticks_by_pod: dict[str, list[int]] = field(default_factory=dict)
    result: dict[str, Any] | None = None


async def play_through_failover(client: SkirmishClient, access: MatchAccess, seen: Seen) -> None:
    """Play, and on any abnormal close reconnect (through nginx) until the result."""
    delay = 0.25
    for _ in range(40):
        try:
            conn = await client.connect(access)
        except MatchClosed:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
            continue
        pod = conn.ws.response.headers["x-skirmish-pod"]
        ticks = seen.ticks_by_pod.setdefault(pod, [])
        try:
            async for message in conn:
                if message["type"] == "snapshot":
                    ticks.append(message["tick"])
                    angle = random.random() * math.tau
                    await conn.send_input(
                        dx=math.cos(angle), dy=math.sin(angle), aim=angle, fire=False
                    )
            seen.result = conn.result
            return
        except MatchClosed:
            await asyncio.sleep(delay)
        except Exception:  # the socket died under a send: reconnect like a client would
            await asyncio.sleep(delay)
    raise AssertionError("never got the result")


@pytest.mark.parametrize(
    ("sig", "max_rewind"),
    [
        # Killed: resumes from the last periodic checkpoint, at most ~2/3 s (20 ticks) back.
        (signal.SIGKILL, 40),
        # Stopped (rolling deploy): the pod checkpoints on its way out; nothing is lost.
        (signal.SIGTERM, 0),
    ],
    ids=["sigkill", "sigterm"],
)
def test_losing_the_owner_mid_match_resumes_from_its_checkpoint(
    cluster_factory: Any, sig: signal.Signals, max_rewind: int
) -> None:
    cluster: Cluster = cluster_factory(pods=2, env=FAILOVER_ENV)
    redis = Redis.from_url(cluster.redis_url or "")

    async def scenario() -> tuple[list[Seen], str]:
        clients, accesses = await lobby_match([cluster.url] * 2, ["stay", "put"])
        seen = [Seen(), Seen()]
        players = [
            asyncio.create_task(play_through_failover(c, a, s))
            for c, a, s in zip(clients, accesses, seen, strict=True)
        ]
        for _ in range(300):  # until three seconds into the match
            if any(max(ticks, default=0) > 90 for s in seen for ticks in s.ticks_by_pod.values()):
                break
            await asyncio.sleep(0.1)
        owner = redis.get(f"skirmish:lease:{accesses[0].match_id}").decode().split("|")[0]
        cluster.kill(owner, sig)
        await asyncio.wait_for(asyncio.gather(*players), 60)
        for client in clients:
            await client.aclose()
        return seen, owner

    try:
        seen, dead = asyncio.run(scenario())
    finally:
        redis.close()
    survivor = next(p for p in cluster.pods if p != dead)
    for player in seen:
        before, after = player.ticks_by_pod[dead], player.ticks_by_pod[survivor]
        assert before and after, player.ticks_by_pod
        assert max(before) - max_rewind <= min(after) <= max(before) + 40  # not from tick 0
        assert player.result is not None and player.result["reason"] == "time_limit"
    assert seen[0].result == seen[1].result
