"""Cross-pod traffic between two pods: per-tick batches against a message per player.

    .venv/bin/python loadtest/relay_bench.py [--matches 100] [--seconds 8]

Two processes stand for two pods sharing a private redis-server. Pod A owns `matches`
matches of 10 players; 5 players of each sit on pod B (players split). Every tick (30 Hz)
A sends B each match's snapshot (a 300-byte body) and the 5 acks, and B sends A the 5
inputs. Variants: `batched` (realtime.relay.PodLink: one layer message per tick per pod
pair and direction), `per-player` (one layer message per snapshot and per input, the
naive design), for RedisChannelLayer and RedisPubSubChannelLayer. Reported per pod:
layer messages and entries per second, entry latency p50/p99, CPU per delivered entry.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

from realtime.layers import build_layer
from realtime.relay import PodLink
from skirmish.server.cluster import free_ports, redis_process, tcp_open, wait_until

RATE = 30
BODY = b"x" * 300
PLAYERS_ON_B = 5


async def run_pod(role: str, args: dict[str, Any], own: Any, peer: Any, out: Any) -> None:
    layer = build_layer(args["layer"], [args["redis"]], capacity=100_000, expiry=30)
    channel = await layer.new_channel(prefix=f"bench.{role}")
    own.send(channel)
    peer_channel = peer.recv()
    latencies: list[float] = []
    received = {"messages": 0, "entries": 0}

    async def receive() -> None:
        while True:
            message = await layer.receive_exclusive(channel)
            received["messages"] += 1
            entries = message["entries"] if "entries" in message else [message["entry"]]
            received["entries"] += len(entries)
            now = time.time()
            latencies.extend(now - e[-1] for e in entries)

    receiver = asyncio.get_running_loop().create_task(receive())
    link = PodLink(layer, channel, role, peer_channel)
    started = time.monotonic()
    sent = await tick(role, args, layer, link, peer_channel)
    elapsed = time.monotonic() - started
    await asyncio.sleep(1.0)  # let the last messages land
    receiver.cancel()
    cpu = time.process_time()
    lat = sorted(latencies) or [0.0]
    out.send(
        {
            "role": role,
            "sent_messages": sent,
            "received_messages": received["messages"],
            "received_entries": received["entries"],
            "latency_p50_ms": statistics.median(lat) * 1000,
            "latency_p99_ms": lat[int(len(lat) * 0.99) - 1 if len(lat) > 1 else 0] * 1000,
            "cpu_s": cpu,
            "elapsed_s": elapsed,
        }
    )


async def tick(role: str, args: dict[str, Any], layer: Any, link: PodLink, peer: str) -> int:
    loop = asyncio.get_running_loop()
    next_at, end = loop.time(), loop.time() + args["seconds"]
    sent = 0
    n = 0
    while next_at < end:
        next_at += 1 / RATE
        await asyncio.sleep(max(next_at - loop.time(), 0))
        n += 1
        now = time.time()
        entries = []
        for m in range(args["matches"]):
            match_id = f"m{m}"
            if role == "owner":
                entries.append(["s", match_id, n, BODY, [[c, n] for c in range(PLAYERS_ON_B)], now])
            else:
                entries.extend(["i", match_id, c, n, {"dx": 0.5}, now] for c in range(PLAYERS_ON_B))
        if args["variant"] == "batched":
            for entry in entries:
                link.add(entry)
            link.flush()
            sent += 1
        else:
            for entry in entries:
                await layer.send(peer, {"type": "relay.entry", "entry": entry})
                sent += 1
    await asyncio.sleep(0.2)
    return link.messages_sent if args["variant"] == "batched" else sent


def pod_process(role: str, args: dict[str, Any], own: Any, peer: Any, out: Any) -> None:
    uvloop.run(run_pod(role, args, own, peer, out))


def run_variant(args: dict[str, Any]) -> list[dict[str, Any]]:
    a_own, b_peer = mp.Pipe()
    b_own, a_peer = mp.Pipe()
    out_a, out_a_child = mp.Pipe()
    out_b, out_b_child = mp.Pipe()
    pods = [
        mp.Process(target=pod_process, args=("owner", args, a_own, a_peer, out_a_child)),
        mp.Process(target=pod_process, args=("edge", args, b_own, b_peer, out_b_child)),
    ]
    for p in pods:
        p.start()
    results = [out_a.recv(), out_b.recv()]
    for p in pods:
        p.join(10)
    return results


def report(args: dict[str, Any], results: list[dict[str, Any]]) -> str:
    """One row per variant: both directions, both pods."""
    owner, edge = results
    offered_inputs = args["matches"] * PLAYERS_ON_B * RATE  # edge → owner, entries/s
    offered_snapshots = args["matches"] * RATE  # owner → edge (each with 5 acks)
    wall = max(owner["elapsed_s"], edge["elapsed_s"], args["seconds"])
    delivered = owner["received_entries"] + edge["received_entries"]
    cpu_us = (owner["cpu_s"] + edge["cpu_s"]) / max(delivered, 1) * 1e6
    to_edge = edge["received_entries"] / wall
    to_owner = owner["received_entries"] / wall
    return (
        f"| {args['layer']} | {args['variant']} "
        f"| {owner['sent_messages'] / wall:,.0f} / {edge['sent_messages'] / wall:,.0f} "
        f"| {to_edge:,.0f} ({100 * to_edge / offered_snapshots:.0f}%) "
        f"/ {to_owner:,.0f} ({100 * to_owner / offered_inputs:.0f}%) "
        f"| {max(owner['latency_p50_ms'], edge['latency_p50_ms']):,.1f} "
        f"/ {max(owner['latency_p99_ms'], edge['latency_p99_ms']):,.1f} "
        f"| {cpu_us:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--matches", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=8.0)
    cli = parser.parse_args()
    (port,) = free_ports(1)
    proc = redis_process(Path(tempfile.mkdtemp(prefix="relay-bench-")), port)
    proc.start()
    try:
        wait_until(tcp_open(port), proc, 10)
        print(
            f"{cli.matches} matches, 5 of 10 players on the other pod, {RATE} Hz, "
            f"{cli.seconds:.0f} s per variant"
        )
        print(
            "| layer | variant | layer msgs/s A→B / B→A | snapshots/s to B / inputs/s to A "
            "(of offered) | latency p50 / p99 ms | CPU µs per delivered entry (both pods) |"
        )
        print("|---|---|---|---|---|---|")
        for layer in ("redis", "pubsub"):
            for variant in ("batched", "per-player"):
                args = {
                    "matches": cli.matches,
                    "seconds": cli.seconds,
                    "layer": layer,
                    "variant": variant,
                    "redis": f"redis://127.0.0.1:{port}/0",
                }
                print(report(args, run_variant(args)), flush=True)
    finally:
        proc.stop()


if __name__ == "__main__":
    main()
