"""The edges of a real `skirmish serve` (uvicorn, websockets-sansio, httptools): refused
tokens, oversized frames, foreign origins, slow handshakes, the access log, and a flood
from a separate process while the other players of the match keep their 30 Hz."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from skirmish.base.tokens import TokenService
from skirmish.sdk.client import MatchAccess, SkirmishClient
from tests.support.processes import ServerProcess, skirmish_server

pytestmark = pytest.mark.e2e

SECRET = "e2e-secret-" + "x" * 32  # what tests/support/processes.py gives the server
OLD_SECRET = "previous-secret-" + "y" * 32
ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "SKIRMISH_TOKEN_PREVIOUS_SECRETS": OLD_SECRET,
    "SKIRMISH_MATCH_START_WAIT_SECONDS": "1",
    "SKIRMISH_ARENA_TIME_LIMIT_SECONDS": "120",
    "SKIRMISH_ARENA_SCORE_LIMIT": "1000",
    "SKIRMISH_HANDSHAKE_TIMEOUT_SECONDS": "1",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with skirmish_server(tmp_path_factory.mktemp("edges"), ENV) as process:
        yield process


async def lobby_match(url: str, players: int) -> tuple[list[SkirmishClient], list[MatchAccess]]:
    clients = [SkirmishClient(url) for _ in range(players)]
    for n, client in enumerate(clients):
        await client.guest(f"edge-{n}")
    lobby = await clients[0].create_lobby("arena", "edges", max_players=players)
    for client in clients[1:]:
        await client.join_lobby(lobby.id)
    for client in clients:
        await client.set_ready(lobby.id, True)
    await clients[0].start_lobby(lobby.id)
    return clients, [await c.wait_lobby_started(lobby.id, timeout=10) for c in clients]


@pytest.fixture
async def match(server: ServerProcess) -> AsyncIterator[list[MatchAccess]]:
    clients, accesses = await lobby_match(server.url, 2)
    yield accesses
    for client in clients:
        await client.aclose()


def protocols(token: str | None) -> list[Subprotocol]:
    offered = [Subprotocol("skirmish.v1")]
    return offered + ([Subprotocol(f"token.{token}")] if token is not None else [])


async def refusal(
    server: ServerProcess, match_id: str, token: str | None, **options: Any
) -> tuple[dict[str, Any], int | None]:
    """Connect; the server's first message, and the code it closed with (None: a welcome,
    after which we close)."""
    url = f"{server.ws_url}/ws/matches/{match_id}"
    async with connect(url, subprotocols=protocols(token), **options) as ws:
        first = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        if first["type"] == "welcome":
            return first, None
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        return first, ws.close_code


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


def tamper(token: str, **changes: str) -> str:
    header, _, signature = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({**claims(token), **changes}).encode())
    return f"{header}.{forged.rstrip(b'=').decode()}.{signature}"


async def test_refused_tokens_get_the_documented_codes(
    server: ServerProcess, match: list[MatchAccess]
) -> None:
    mine, theirs = match
    others, (elsewhere, _) = await lobby_match(server.url, 2)
    guest = SkirmishClient(server.url)
    player_token = (await guest.guest("aud")).token
    for client in [*others, guest]:
        await client.aclose()
    me = claims(mine.token)["sub"]
    past = TokenService(SECRET, match_ttl=60, clock=lambda: time.time() - 120)
    cases = {
        "missing": (None, 4001, "missing token"),
        "garbage": ("garbage", 4001, "invalid token"),
        # My token, edited to act as the other player of my match: the signature breaks.
        "tampered": (tamper(mine.token, sub=claims(theirs.token)["sub"]), 4001, "signature"),
        "expired": (past.issue_match(me, mine.match_id).token, 4001, "token expired"),
        "wrong-audience": (player_token, 4001, "invalid token"),
        "other-secret": (
            TokenService("z" * 40).issue_match(me, mine.match_id).token,
            4001,
            "signature",
        ),
        "other-match": (elsewhere.token, 4003, "another match"),
    }
    for name, (token, code, text) in cases.items():
        first, closed = await refusal(server, mine.match_id, token)
        assert (first["type"], closed) == ("error", code), (name, first, closed)
        assert text in first["message"], (name, first)
    # Rotation, live: a token signed with the previous secret is still good.
    old = TokenService(OLD_SECRET).issue_match(me, mine.match_id).token
    first, _ = await refusal(server, mine.match_id, old)
    assert first["type"] == "welcome" and first["player_id"] == me


async def test_an_oversized_frame_is_closed_with_1009_by_uvicorn(
    server: ServerProcess, match: list[MatchAccess]
) -> None:
    url = f"{server.ws_url}/ws/matches/{match[0].match_id}"
    async with connect(url, subprotocols=protocols(match[0].token), max_queue=None) as ws:
        assert orjson.loads(await ws.recv())["type"] == "welcome"
        at_limit = orjson.dumps({"type": "ping", "t": 1, "pad": ""})
        at_limit = at_limit.replace(b'""', b'"' + b"x" * (4096 - len(at_limit)) + b'"')
        assert len(at_limit) == 4096
        await ws.send(at_limit)  # 4 KiB exactly: refused as a message, not as a frame
        while (answer := orjson.loads(await ws.recv()))["type"] != "error":
            pass
        assert answer["code"] == "invalid_message"
        await ws.send(b"x" * 4097)
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 1009


async def test_foreign_origins_are_refused_and_the_own_one_is_not(
    server: ServerProcess, match: list[MatchAccess]
) -> None:
    access = match[0]
    evil, code = await refusal(server, access.match_id, access.token, origin="https://evil.example")
    assert (evil["code"], code) == ("origin_not_allowed", 4003)
    own = server.url  # a page served by this server: its origin is the server's own
    first, _ = await refusal(server, access.match_id, access.token, origin=own)
    assert first["type"] == "welcome"


def closes_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closes this raw connection (fails after `seconds`)."""
    started = time.monotonic()
    sock.settimeout(seconds)
    while True:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            pytest.fail(f"connection still open after {seconds}s")
        except ConnectionResetError:
            return time.monotonic() - started


def test_connections_that_send_no_whole_request_in_time_are_closed(
    server: ServerProcess,
) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as silent:
        assert 0.8 < closes_within(silent, 5) < 3
    with socket.create_connection(("127.0.0.1", port)) as slowloris:
        slowloris.sendall(b"GET /ws/matches/m_x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
        time.sleep(0.5)
        slowloris.sendall(b"Connection: Upgrade\r\n")  # still dribbling: no new deadline
        assert closes_within(slowloris, 5) < 2
    with socket.create_connection(("127.0.0.1", port)) as prompt:  # a whole request is fine
        prompt.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        prompt.settimeout(5)
        assert prompt.recv(4096).startswith(b"HTTP/1.1 200")


async def test_the_access_log_holds_no_token(
    server: ServerProcess, match: list[MatchAccess]
) -> None:
    access = match[0]
    first, _ = await refusal(server, access.match_id, access.token)
    assert first["type"] == "welcome"
    await refusal(server, access.match_id, "garbage-" + access.token[:20])
    logged = ""
    for _ in range(50):  # uvicorn writes its access line when the socket is accepted
        logged = server.log()
        if f'"WebSocket /ws/matches/{access.match_id}"' in logged:
            break
        await asyncio.sleep(0.1)
    assert f'"WebSocket /ws/matches/{access.match_id}" [accepted]' in logged, logged[-2000:]
    assert '"GET /v1/lobbies/' in logged  # REST calls are logged too, with their player token
    for secret in (access.token, match[1].token, access.token.split(".")[2], "token."):
        assert secret not in logged
    assert "eyJ" not in logged  # no JWT of any kind (they all start with the same header)


# -- a flood, from another process, while two players play ---------------------------------


async def bystander(url: str, access: MatchAccess, seconds: float) -> list[tuple[float, int]]:
    """Play like a client (an input per snapshot); (arrival, tick) of each snapshot."""
    seen: list[tuple[float, int]] = []
    async with connect(url, subprotocols=protocols(access.token), max_queue=None) as ws:
        welcome = orjson.loads(await ws.recv())
        assert welcome["type"] == "welcome"
        seq, deadline = 0, time.monotonic() + seconds
        while time.monotonic() < deadline:
            message = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
            if message["type"] == "snapshot":
                seen.append((time.perf_counter(), message["tick"]))
                seq += 1
                await ws.send(
                    orjson.dumps(
                        {
                            "type": "input",
                            "seq": seq,
                            "dx": 0.5,
                            "dy": -0.5,
                            "aim": 1.0,
                            "fire": seq % 10 == 0,
                        }
                    ).decode()
                )
            assert message["type"] != "error", message
    return seen


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def test_a_flooding_client_is_throttled_and_closed_while_the_others_keep_30_hz(
    server: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    clients, (flooder, *players) = await lobby_match(server.url, 3)
    url = f"{server.ws_url}/ws/matches/{flooder.match_id}"
    measured = [asyncio.create_task(bystander(url, a, 6.0)) for a in players]
    await asyncio.sleep(1.5)  # the match starts once all are in, or after 1 s
    flood = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.security.flood_client",
        url,
        flooder.token,
        "4",
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    out, _ = await flood.communicate()
    report = json.loads(out)
    seen = await asyncio.gather(*measured)
    for client in clients:
        await client.aclose()

    assert report["rate"] > 2000, report  # thousands of messages a second
    assert report["closes"] and set(report["closes"]) == {1008}, report
    assert "rate_limited" in report["errors"], report  # warned before being closed
    assert report["errors"].count("rate_limited") == len(report["closes"])  # once per socket
    lines = []
    for n, snapshots in enumerate(seen):
        ticks = [tick for _, tick in snapshots]
        gaps_ms = [(b - a) * 1000 for (a, _), (b, _) in itertools.pairwise(snapshots)]
        p50, p99 = statistics.median(gaps_ms), percentile(gaps_ms, 0.99)
        rate = (len(snapshots) - 1) / (snapshots[-1][0] - snapshots[0][0])
        lines.append(
            f"player {n + 1}: {len(snapshots)} snapshots at {rate:.1f} Hz, tick interval "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(gaps_ms):.1f} ms"
        )
        assert ticks == list(range(ticks[0], ticks[0] + len(ticks))), "a tick went missing"
        assert rate > 28.5, lines
        assert p99 < 100, lines  # three tick intervals
    with capsys.disabled():
        print(
            f"\nflood: {report['sent']} messages at {report['rate']:.0f}/s over "
            f"{len(report['closes'])} sockets, each closed {set(report['closes'])}\n"
            + "\n".join(lines)
        )
