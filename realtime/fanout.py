"""Delivering frames to one local socket without ever stalling the tick loop.

An ASGI `send` usually completes at once (the bytes go into the transport buffer), but the
server makes it wait while a slow client's buffer is over its high-water mark. The tick
loop must not wait for one slow player, so a connection steps the send coroutine once
inline — the common, synchronous case costs no task — and only when it suspends hands the
rest to a task. While that task is busy, snapshots are coalesced (the newest replaces the
older: a game state superseded by the next tick is worthless) and other frames queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from realtime.close_codes import CloseCode
from realtime.messages import snapshot_frame

log = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]
MAX_BACKLOG = 64  # frames waiting behind a stuck send; more means the reader is gone or hostile


class Outlet(Protocol):
    """Where a match loop sends one player's frames: a local socket or a relayed one."""

    closed: bool

    def send_snapshot(self, ack: int, body: bytes) -> None: ...
    def send_frame(self, frame: bytes) -> None: ...
    def close(self, code: int, reason: str = "") -> None: ...


class Connection:
    """One player's socket as the match loop sees it."""

    __slots__ = ("_backlog", "_pending_snapshot", "_send", "_writer", "closed", "dropped")

    def __init__(self, send: Send) -> None:
        self._send = send
        self._writer: asyncio.Task[None] | None = None
        self._backlog: deque[dict[str, Any]] = deque()
        self._pending_snapshot: bytes | None = None
        self.closed = False
        self.dropped = 0  # snapshots replaced before they could be sent

    def send_snapshot(self, ack: int, body: bytes) -> None:
        """The tick's shared snapshot body, with this player's ack spliced in."""
        frame = snapshot_frame(ack, body)
        if self._writer is not None:
            if self._pending_snapshot is not None:
                self.dropped += 1
            self._pending_snapshot = frame
            return
        self._start({"type": "websocket.send", "bytes": frame})

    def send_frame(self, frame: bytes) -> None:
        """A frame that must not be dropped (welcome, pong, result, error)."""
        self._submit({"type": "websocket.send", "bytes": frame})

    def close(self, code: int, reason: str = "") -> None:
        self._submit({"type": "websocket.close", "code": code, "reason": reason})

    def _submit(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        if message["type"] == "websocket.close":
            self.closed = True
        if self._writer is None:
            self._start(message)
        elif len(self._backlog) < MAX_BACKLOG:
            self._backlog.append(message)
        else:  # it does not read what it asks for (pongs, errors): cut it off
            self._backlog.clear()
            self._backlog.append(
                {"type": "websocket.close", "code": CloseCode.POLICY, "reason": "too slow"}
            )
            self.closed = True

    def _start(self, message: dict[str, Any]) -> None:
        coro = self._send(message)  # an ASGI send is a coroutine function
        try:
            blocker = coro.send(None)
        except StopIteration:
            return  # sent synchronously: the usual case
        except Exception:  # the peer is gone; the consumer will see the disconnect
            self.closed = True
            return
        self._writer = asyncio.get_running_loop().create_task(self._finish(coro, blocker))

    async def _finish(self, coro: Coroutine[Any, Any, None], blocker: Any) -> None:
        try:
            await _resume(coro, blocker)
            while not self.closed or self._backlog:
                if self._backlog:
                    await self._send(self._backlog.popleft())
                elif self._pending_snapshot is not None:
                    frame, self._pending_snapshot = self._pending_snapshot, None
                    await self._send({"type": "websocket.send", "bytes": frame})
                else:
                    break
        except Exception:
            self.closed = True
            log.debug("send failed; socket is gone", exc_info=True)
        finally:
            self._writer = None


async def _resume(coro: Coroutine[Any, Any, None], blocker: Any) -> None:
    """Drive a coroutine that already suspended once on `blocker` to its end.

    This is what an asyncio Task does with a coroutine; we only took the first step
    ourselves so that the synchronous case needs no task at all. The coroutine's own
    `await` re-raises the future's exception when resumed, so we only wait for it.
    """
    while True:
        try:
            if blocker is None:  # a bare yield, as in asyncio.sleep(0)
                await asyncio.sleep(0)
            else:
                await asyncio.wait([blocker])
        except asyncio.CancelledError as exc:
            coro.throw(exc)
            raise
        try:
            blocker = coro.send(None)
        except StopIteration:
            return
