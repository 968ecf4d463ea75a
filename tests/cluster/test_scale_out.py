"""Three pods, one service: shared lobbies and matchmaking, matches played across pods.

Real redis-server, real uvicorn pods, real nginx with the shipped configuration, real
WebSocket clients, all on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import orjson
import pytest
from redis import Redis

from game.replay import replay
from realtime.layers import build_layer
from skirmish.base.settings import Settings
from skirmish.sdk.bot import play_connection
from skirmish.sdk.client import MatchAccess, SkirmishClient
from skirmish.server.cluster import Cluster
from tests.support.redis_server import redis_server

pytestmark = pytest.mark.e2e
MODES = Settings(token_secret="x" * 32, arena_time_limit_seconds=6, arena_score_limit=50).modes


async def lobby_match(
    urls: list[str], names: list[str]
) -> tuple[list[SkirmishClient], list[MatchAccess]]:
    """Players sign in through different pods and meet in a lobby hosted on the first."""
    clients = [SkirmishClient(url) for url in urls]
    for client, name in zip(clients, names, strict=True):
        await client.guest(name)
    lobby = await clients[0].create_lobby("arena", "cross-pod", max_players=len(clients))
    for client in clients[1:]:
        await client.join_lobby(lobby.id)
    for client in clients:
        await client.set_ready(lobby.id, True)
    await clients[-1].get_lobby(lobby.id)
    await clients[0].start_lobby(lobby.id)
    accesses = [await c.wait_lobby_started(lobby.id, timeout=10) for c in clients]
    return clients, accesses


async def play_all(clients: list[SkirmishClient], accesses: list[MatchAccess]) -> list[Any]:
    async def play(client: SkirmishClient, access: MatchAccess, seed: int) -> Any:
        conn = await client.connect(access)
        pod = conn.ws.response.headers["x-skirmish-pod"]
        return pod, await play_connection(conn, random.Random(seed))

    return await asyncio.gather(
        *(play(c, a, n) for n, (c, a) in enumerate(zip(clients, accesses, strict=True)))
    )


def metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


def test_a_match_played_from_three_pods_equals_its_replay(redis_cluster: Cluster) -> None:
    pods = redis_cluster.pods
    urls = [pods["pod-1"], pods["pod-2"], pods["pod-3"]]
    before = {name: metric(url, "skirmish_relay_batches_sent_total") for name, url in pods.items()}

    async def scenario() -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
        clients, accesses = await lobby_match(urls, ["ann", "bob", "cy"])
        played = await play_all(clients, accesses)
        match_id = accesses[0].match_id
        stored = await clients[1].request("GET", f"/v1/matches/{match_id}")
        record = await clients[2].request("GET", f"/v1/matches/{match_id}/replay")
        for client in clients:
            await client.aclose()
        return played, stored, record

    played, stored, record = asyncio.run(scenario())
    # Each socket was served by the pod it connected to: one owner, two relaying edges.
    assert sorted(pod for pod, _ in played) == ["pod-1", "pod-2", "pod-3"]
    results = [result for _, result in played]
    assert results[0] is not None and results[0] == results[1] == results[2]
    assert stored["status"] == "finished"
    assert stored["result"] == {k: v for k, v in results[0].items() if k != "type"}
    # The relays carried the play: every pod sent batches over the channel layer.
    after = {name: metric(url, "skirmish_relay_batches_sent_total") for name, url in pods.items()}
    assert all(after[name] > before[name] for name in pods)
    # Every pod publishes its load in its heartbeat.
    with Redis.from_url(redis_cluster.redis_url or "") as redis:
        beats = [redis.hgetall(f"skirmish:pod:{name}") for name in pods]
    for beat in beats:
        assert {b"matches", b"players", b"remote_matches", b"tick_lateness_ms", b"channel"} <= set(
            beat
        )
        assert float(beat[b"tick_lateness_ms"]) < 1000
    # Same seed, same inputs, one process, no network: the very same result.
    _, outcome = replay(MODES["arena"], 3, record["seed"], record["inputs"], record["ticks"])
    assert outcome is not None and outcome.reason == results[0]["reason"]
    expected = [(s.score, s.kills, s.deaths, s.shots, s.hits) for s in outcome.stats]
    got = [
        (p["score"], p["kills"], p["deaths"], p["shots"], p["hits"]) for p in results[0]["players"]
    ]
    assert got == expected and sum(p[3] for p in got) > 0


def test_through_nginx_every_socket_of_a_match_lands_on_its_owner(redis_cluster: Cluster) -> None:
    redis = Redis.from_url(redis_cluster.redis_url or "")

    async def scenario() -> list[tuple[str, str]]:
        seen = []
        for round_ in range(4):  # several matches: they hash to different pods
            clients, accesses = await lobby_match([redis_cluster.url] * 2, ["x", "y"])
            conns = [await c.connect(a) for c, a in zip(clients, accesses, strict=True)]
            owner = redis.get(f"skirmish:lease:{accesses[0].match_id}")
            assert owner is not None, f"round {round_}: nobody owns the match"
            for conn in conns:
                seen.append((conn.ws.response.headers["x-skirmish-pod"], owner.decode()))
                await conn.close()
            for client in clients:
                await client.aclose()
        return seen

    try:
        seen = asyncio.run(scenario())
    finally:
        redis.close()
    for pod, lease in seen:
        assert lease.startswith(pod + "|")


def test_200_tickets_through_three_pods_are_each_matched_exactly_once(
    redis_cluster: Cluster,
) -> None:
    urls = list(redis_cluster.pods.values())

    async def scenario() -> tuple[list[Any], dict[str, list[str]]]:
        clients = [SkirmishClient(urls[n % 3]) for n in range(200)]
        await asyncio.gather(*(c.guest(f"q{n}") for n, c in enumerate(clients)))
        tickets = await asyncio.gather(*(c.create_ticket("arena") for c in clients))
        deadline = asyncio.get_running_loop().time() + 30
        final: list[Any] = []
        for client, ticket in zip(clients, tickets, strict=True):
            while True:
                current = await client.get_ticket(ticket.id)
                if current.status != "searching" or asyncio.get_running_loop().time() > deadline:
                    break
                await asyncio.sleep(0.2)
            final.append((client.player.player_id, current))
        stored = {}
        for ticket in {t.match.match_id for _, t in final if t.match}:
            info = await clients[0].get_match(ticket)
            stored[ticket] = [p["player_id"] for p in info.players]
        for client in clients:
            await client.aclose()
        return final, stored

    final, stored = asyncio.run(scenario())
    assert [t.status for _, t in final].count("matched") == 200  # none lost
    by_match: dict[str, list[str]] = {}
    for player_id, ticket in final:
        by_match.setdefault(ticket.match.match_id, []).append(player_id)
    players = [p for members in by_match.values() for p in members]
    assert len(players) == len(set(players)) == 200  # nobody in two matches
    assert {m: sorted(p) for m, p in stored.items()} == {m: sorted(p) for m, p in by_match.items()}


def test_lobbies_are_shared_by_every_pod(redis_cluster: Cluster) -> None:
    one, two, three = redis_cluster.pods.values()

    async def scenario() -> None:
        host, guest = SkirmishClient(one), SkirmishClient(two)
        await host.guest("host")
        await guest.guest("guest")
        lobby = await host.create_lobby("arena", "shared", max_players=2)
        async with SkirmishClient(three) as viewer:
            await viewer.guest("viewer")
            assert lobby.id in [lb.id for lb in await viewer.list_lobbies()]
        await guest.join_lobby(lobby.id)
        await guest.set_ready(lobby.id, True)
        await host.set_ready(lobby.id, True)
        started = await host.start_lobby(lobby.id)
        assert started.status == "started"
        assert (await guest.wait_lobby_started(lobby.id)).match_id == started.match.match_id
        await host.aclose()
        await guest.aclose()

    asyncio.run(scenario())


def leader(redis_url: str) -> str:
    with Redis.from_url(redis_url) as redis:
        holder = redis.get("skirmish:leader:matcher")
    return holder.decode() if holder else ""


def test_killing_the_matcher_leader_hands_matchmaking_to_another_pod(cluster_factory: Any) -> None:
    cluster: Cluster = cluster_factory(pods=2, env={"SKIRMISH_MATCH_TARGET_SIZE": "2"})
    first = leader(cluster.redis_url or "")
    assert first in cluster.pods
    survivor = next(name for name in cluster.pods if name != first)
    cluster.kill(first)

    async def scenario() -> list[str]:
        clients = [SkirmishClient(cluster.pods[survivor]) for _ in range(4)]
        for n, client in enumerate(clients):
            await client.guest(f"w{n}")
        tickets = [await c.create_ticket("arena") for c in clients]
        statuses = []
        for client, ticket in zip(clients, tickets, strict=True):
            for _ in range(100):  # the old lease expires in 3 s; allow 20 s in all
                current = await client.get_ticket(ticket.id)
                if current.status != "searching":
                    break
                await asyncio.sleep(0.2)
            statuses.append(current.status)
            await client.aclose()
        return statuses

    assert asyncio.run(scenario()) == ["matched"] * 4
    assert leader(cluster.redis_url or "") == survivor


def test_a_layer_sharded_over_two_redis_servers_carries_a_whole_match(
    cluster_factory: Any, tmp_path: Any
) -> None:
    with redis_server(tmp_path / "a") as shard_a, redis_server(tmp_path / "b") as shard_b:
        shards = [shard_a, shard_b]
        env = {**FAST_ENV, "SKIRMISH_CHANNEL_REDIS_URLS": orjson.dumps(shards).decode()}
        cluster: Cluster = cluster_factory(pods=3, env=env)
        urls = list(cluster.pods.values())

        async def scenario() -> list[Any]:
            clients, accesses = await lobby_match(urls, ["left", "mid", "right"])
            played = await play_all(clients, accesses)
            for client in clients:
                await client.aclose()
            return played

        played = asyncio.run(scenario())
        # Which shard serves each pod's channel, as every pod computes it.
        layer = build_layer("redis", shards, capacity=10, expiry=10)
        with Redis.from_url(cluster.redis_url or "") as main:
            channels = [main.hget(f"skirmish:pod:{pod}", "channel") for pod in cluster.pods]
        homes = {layer.consistent_hash(c.decode()) for c in channels if c}
        relayed = []
        for index in sorted(homes):
            with Redis.from_url(shards[index]) as shard:
                relayed.append(shard.info("stats")["total_commands_processed"])
    assert len(channels) == 3 and all(channels)
    assert sorted(pod for pod, _ in played) == ["pod-1", "pod-2", "pod-3"]
    assert played[0][1] is not None and played[0][1] == played[1][1] == played[2][1]
    # ~30 batches a second each way went through the shards that host the pod channels.
    assert all(count > 300 for count in relayed)


FAST_ENV = {
    "SKIRMISH_MATCH_START_WAIT_SECONDS": "5",
    "SKIRMISH_ARENA_TIME_LIMIT_SECONDS": "4",
}


def test_the_pubsub_layer_carries_a_cross_pod_match_too(cluster_factory: Any) -> None:
    env = {**FAST_ENV, "SKIRMISH_CHANNEL_LAYER": "pubsub"}
    cluster: Cluster = cluster_factory(pods=2, env=env)

    async def scenario() -> list[Any]:
        clients, accesses = await lobby_match(list(cluster.pods.values()), ["pub", "sub"])
        played = await play_all(clients, accesses)
        for client in clients:
            await client.aclose()
        return played

    played = asyncio.run(scenario())
    assert sorted(pod for pod, _ in played) == ["pod-1", "pod-2"]
    assert played[0][1] is not None and played[0][1] == played[1][1]
