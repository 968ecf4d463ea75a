"""A flooding match client, run as its own process by the flood test so that its sending
competes with the server for CPU, not with the bystanders' measurements.

    python -m tests.security.flood_client WS_URL TOKEN SECONDS

Sends valid inputs as fast as the socket takes them until the server closes the socket;
then reconnects at once and floods again, until SECONDS have passed (a socket the server
never closes is given up after FLOOD_CAP seconds, reported as close code null). Prints one
JSON line: how many messages it sent, at what rate, the close codes it got and the errors
it was sent.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

BATCH = 50
FLOOD_CAP = 10.0


def frame(seq: int) -> str:
    return f'{{"type":"input","seq":{seq},"dx":1,"dy":0,"aim":0.5,"fire":true}}'


def drain(ws: ClientConnection, errors: list[str]) -> None:
    """Read what the server sent until the socket is closed."""
    try:
        while True:
            message = ws.recv(timeout=3)
            if isinstance(message, bytes) and b'"type":"error"' in message:
                errors.append(json.loads(message)["code"])
    except (ConnectionClosed, TimeoutError):
        pass


def flood_once(url: str, token: str, report: dict[str, Any]) -> None:
    protocols: Any = ["skirmish.v1", f"token.{token}"]
    with connect(url, subprotocols=protocols, max_queue=None, close_timeout=3) as ws:
        seq = json.loads(ws.recv(timeout=5))["last_seq"]
        started = time.perf_counter()
        sent = 0
        try:
            while time.perf_counter() - started < FLOOD_CAP:
                for _ in range(BATCH):
                    seq += 1
                    ws.send(frame(seq))
                sent += BATCH
        except ConnectionClosed:
            pass
        report["seconds_flooding"] += time.perf_counter() - started
        report["sent"] += sent
        drain(ws, report["errors"])
        report["closes"].append(ws.close_code if ws.close_code != 1000 else None)


def main() -> None:
    url, token, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    deadline = time.monotonic() + seconds
    report: dict[str, Any] = {"sent": 0, "seconds_flooding": 0.0, "closes": [], "errors": []}
    while time.monotonic() < deadline:
        flood_once(url, token, report)
    report["rate"] = report["sent"] / max(report["seconds_flooding"], 1e-9)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
