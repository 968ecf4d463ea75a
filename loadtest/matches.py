"""Matches for a benchmark run, made through the public REST API, and the socket plan.

Skirmish: per match ten guests sign in, the first creates an `arena30` lobby, the others
join, all get ready, the host starts it and everyone reads their match access from the
lobby (docs/protocol.md). On a cluster, players 0-4 of match i connect to pod i mod 2 and
players 5-9 to the other pod: every match is split across the two pods, half its sockets
local to its loop and half relayed through the channel layer, and the first socket to
arrive (player 0) makes its pod the owner, so ownership alternates between the pods.

The ceiling needs no REST: ten sockets per `/ws/matches/bare-{i}` path.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

PLAYERS = 10
MODE = "arena30"
SETUP_CONCURRENCY = 16  # matches set up at once

Socket = dict[str, Any]  # {"url": ws url, "token": match token or None}


def ws_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://", 1) + path


def bare_plan(base: str, matches: int) -> list[dict[str, Any]]:
    return [
        {"sockets": [{"url": ws_url(base, f"/ws/matches/bare-{i}")} for _ in range(PLAYERS)]}
        for i in range(matches)
    ]


async def skirmish_plan(
    bases: list[str], matches: int, *, split: bool = True
) -> list[dict[str, Any]]:
    """Create `matches` arena30 matches; plan their sockets over the pods at `bases`: with
    `split`, half of each match's players on another pod than its owner (relayed)."""
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)
    limits = httpx.Limits(max_connections=SETUP_CONCURRENCY * 2)
    async with httpx.AsyncClient(trust_env=False, timeout=60.0, limits=limits) as client:

        async def one(i: int) -> dict[str, Any]:
            async with gate:
                rest = bases[i % len(bases)]
                accesses = await lobby_match(client, rest, i)
            sockets = [socket_for(bases, i, slot, a, split) for slot, a in enumerate(accesses)]
            return {"sockets": sockets}

        return list(await asyncio.gather(*(one(i) for i in range(matches))))


def socket_for(
    bases: list[str], match: int, slot: int, access: dict[str, Any], split: bool = True
) -> Socket:
    """Match i is owned by the pod its first socket reaches, bases[i mod pods]; with `split`
    players 5-9 go to the next pod, else every socket goes where the owner is (as the
    ingress's consistent hash of the match path routes them in a deployment)."""
    half = 1 if split and slot >= PLAYERS // 2 else 0
    base = bases[(match + half) % len(bases)]
    return {"url": ws_url(base, access["ws_path"]), "token": access["token"]}


async def call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    token: str | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.request(method, url, json=body, headers=headers)
    if response.status_code >= 400:
        raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:200]}")
    result: dict[str, Any] = response.json()
    return result


async def lobby_match(client: httpx.AsyncClient, base: str, index: int) -> list[dict[str, Any]]:
    """One started lobby of PLAYERS guests; their match accesses in slot order."""
    api = f"{base}/v1"
    players = [
        (await call(client, "POST", f"{api}/auth/guest", body={"name": f"b{index}-{s}"}))["token"]
        for s in range(PLAYERS)
    ]
    host = players[0]
    lobby_body = {"mode": MODE, "name": f"bench {index}", "max_players": PLAYERS}
    lobby = await call(client, "POST", f"{api}/lobbies", host, lobby_body)
    url = f"{api}/lobbies/{lobby['id']}"
    for token in players[1:]:  # one at a time: they all change the same lobby
        await call(client, "POST", f"{url}/join", token)
    for token in players:
        await call(client, "POST", f"{url}/ready", token, {"ready": True})
    started = await call(client, "POST", f"{url}/start", host)
    accesses = [started["match"]]
    for token in players[1:]:
        accesses.append((await call(client, "GET", url, token))["match"])
    return accesses
