"""A slow client must never stall the tick: frames to it coalesce instead of blocking."""

from __future__ import annotations

import asyncio
from typing import Any

from realtime.fanout import Connection
from realtime.messages import snapshot_frame


class GatedSend:
    """An ASGI send that blocks while the gate is closed, like a full transport buffer."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        self.sent: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        await self.gate.wait()
        self.sent.append(message)


def payloads(send: GatedSend) -> list[bytes | int]:
    return [m.get("bytes", m.get("code")) for m in send.sent]


async def test_a_writable_socket_is_written_synchronously() -> None:
    send = GatedSend()
    conn = Connection(send)
    conn.send_snapshot(1, b"{}")
    conn.send_frame(b"pong")
    assert payloads(send) == [snapshot_frame(1, b"{}"), b"pong"]  # no task, no await needed


async def test_a_blocked_socket_coalesces_snapshots_and_keeps_other_frames() -> None:
    send = GatedSend()
    conn = Connection(send)
    send.gate.clear()
    for n in range(1, 6):  # five ticks while the client is stuck
        conn.send_snapshot(n, b"{}")
    conn.send_frame(b"result")
    conn.close(1000)
    assert send.sent == []  # nothing blocked the caller
    send.gate.set()
    for _ in range(10):
        await asyncio.sleep(0)
    # s1 was in flight; s2..s4 were superseded; the result and the close still went out.
    assert payloads(send)[0] == snapshot_frame(1, b"{}")
    assert b"result" in payloads(send) and payloads(send)[-1] == 1000
    assert snapshot_frame(2, b"{}") not in payloads(send) and conn.dropped >= 3


async def test_a_failing_send_marks_the_connection_closed() -> None:
    async def broken(message: dict[str, Any]) -> None:
        raise ConnectionResetError

    conn = Connection(broken)
    conn.send_snapshot(1, b"{}")
    assert conn.closed
