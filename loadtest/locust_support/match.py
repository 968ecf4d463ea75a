"""One player's match socket under gevent, reporting to Locust's stats.

websocket-client opens the socket (handshake, subprotocols, TLS); `frames.FrameSocket`
reads and writes the frames after it. Two greenlets per socket: one reads every frame
(snapshots, pongs, the result), one ticks at the input rate (an input per tick once the
match runs, a ping every `ping_interval`). The inputs come from the bot of the match's
game mode (`bots.py`), at the tick rate that `welcome` announces.

Stats (request type `WS`; the caller's `report` adds the game mode to each name):
- `connect`: WebSocket handshake time (TCP, TLS, HTTP upgrade); failures when it fails.
- `ping→pong`: from sending `ping {t}` to its `pong`.
- `input→ack`: from sending an input to the first snapshot whose `ack` ≥ its seq.
- `snapshot`: one per snapshot received; its rate is snapshots received per second, its
  "response time" the gap since the previous snapshot (delivery jitter), its size the bytes.
- `match`: one per socket when it ends, timed from connect; a failure unless the server
  sent `result` and closed with 1000.
- `error`: failures only, one per server `error` message (`code: message`).
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent
import websocket  # websocket-client: the handshake
from gevent.event import Event

from .bots import Bot, bot_for
from .frames import CLOSE, PING, PONG, ConnectionLost, FrameSocket
from .modes import ModeInfo
from .options import Settings

try:  # orjson parses a snapshot several times faster; json works as well
    from orjson import loads
except ImportError:  # pragma: no cover
    from json import loads  # type: ignore[assignment]

Report = Callable[..., None]  # report(name, ms, length=0, exc=None)
SUBPROTOCOL = "skirmish.v1"
# Protocol §Reconnecting: reconnect on anything else (4001 with a fresh match token).
NO_RECONNECT = frozenset({1000, 4003, 4004, 4009, 4010})
ABNORMAL = 1006  # the connection dropped without a close frame


class WsFailure(Exception):
    """A failure as Locust's stats show it: the message is the error text."""


@dataclass(frozen=True, slots=True)
class Outcome:
    finished: bool  # got `result`, then a 1000 close
    code: int | None  # close code; None when the handshake failed
    reason: str = ""

    @property
    def reconnectable(self) -> bool:
        return not self.finished and self.code not in NO_RECONNECT


def ws_url(host: str, ws_path: str) -> str:
    """http(s)://host[/prefix] + ws_path → ws(s)://host[/prefix]/ws/matches/…"""
    base = host.rstrip("/")
    if base.startswith("http"):
        base = "ws" + base[len("http") :]
    return base + ws_path


def open_socket(url: str, token: str, timeout: float, rng: random.Random) -> FrameSocket:
    """The handshake by websocket-client; the frames, after it, by FrameSocket."""
    ws = websocket.create_connection(
        url,
        timeout=timeout,
        subprotocols=[SUBPROTOCOL, f"token.{token}"],
        suppress_origin=True,  # not a browser: no Origin header
    )
    sock = ws.sock
    if sock is None:  # pragma: no cover - create_connection raises instead
        raise ConnectionLost("no socket after the handshake")
    sock.settimeout(None)  # no timer per read: the tick loop watches for silence
    return FrameSocket(sock, rng, keep=ws)


def now_ms() -> float:
    return time.perf_counter() * 1000.0


class MatchSocket:
    """Plays on one open socket until the match ends, the socket closes or it times out."""

    def __init__(
        self,
        ws: FrameSocket,
        report: Report,
        settings: Settings,
        rng: random.Random,
        mode: ModeInfo,
    ) -> None:
        self.ws = ws
        self.report = report
        self.settings = settings
        self.rng = rng
        self.mode = mode  # what GET /v1/modes says of the mode queued for
        self.done = Event()
        self.opened_ms = now_ms()
        self.tick_rate = mode.tick_rate
        self.bot: Bot | None = None
        self.running = False
        self.latest: dict[str, Any] | None = None
        self.result: dict[str, Any] | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self.seq = 0
        self.last_snapshot_ms: float | None = None
        self.last_message_ms = self.opened_ms
        self.pending_acks: deque[tuple[int, float]] = deque()
        self.pending_pings: deque[float] = deque()
        self.handlers: dict[str, Callable[[dict[str, Any], int], None]] = {
            "welcome": self._on_welcome,
            "waiting": lambda msg, size: None,
            "start": self._on_start,
            "snapshot": self._on_snapshot,
            "pong": self._on_pong,
            "result": self._on_result,
            "error": self._on_error,
            "reconnect": lambda msg, size: None,  # a 1012 close follows
        }

    # -- the two loops ----------------------------------------------------------------------

    def run(self) -> Outcome:
        reader = gevent.spawn(self._read_loop)
        try:
            self._tick_loop()
        finally:
            reader.kill()
            self._shutdown()
        finished = self.result is not None and self.close_code == 1000
        return Outcome(
            finished, self.close_code if self.close_code else ABNORMAL, self.close_reason
        )

    def _read_loop(self) -> None:
        try:
            while True:
                opcode, data = self.ws.receive()
                if opcode == CLOSE:
                    self._closed(data)
                    return
                if opcode == PING:
                    self.ws.send(data, PONG)
                elif opcode != PONG:
                    self._dispatch(data)
        except (ConnectionLost, OSError) as exc:
            self.close_reason = f"{type(exc).__name__}: {exc}"
        finally:
            self.done.set()

    def _tick_loop(self) -> None:
        next_ping = now_ms()
        next_tick = now_ms()
        while not self.done.is_set():
            now = now_ms()
            if self._overdue(now):
                return
            if now >= next_ping:
                next_ping = now + self.settings.ping_interval * 1000
                self._send_ping(now)
            if self.running and self.result is None:
                self._send_input(now)
            self._expire(now)
            rate = self.settings.input_rate or self.tick_rate
            next_tick = max(next_tick + 1000.0 / rate, now)  # fell behind: no burst
            # A plain sleep, cheaper than waiting on `done`; the loop notices it a tick later.
            gevent.sleep(max(next_tick - now_ms(), 0.0) / 1000.0)

    def _overdue(self, now: float) -> bool:
        if now - self.last_message_ms > self.settings.silence_timeout * 1000:
            self.close_reason = f"no message for {self.settings.silence_timeout:g} s"
        elif now - self.opened_ms > self.settings.match_timeout * 1000:
            self.close_reason = f"match still running after {self.settings.match_timeout:g} s"
        else:
            return False
        return True

    # -- sending ---------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self.ws.send(json.dumps(message, separators=(",", ":")).encode())
        except OSError:
            self.done.wait(1.0)  # the reader sees why and ends the socket

    def _send_ping(self, now: float) -> None:
        t = round(now, 3)
        self.pending_pings.append(t)
        self._send({"type": "ping", "t": t})

    def _send_input(self, now: float) -> None:
        if self.bot is None:  # no welcome yet: nothing known of the match
            return
        fields = self.bot.act(self.latest)
        self.seq += 1
        if self.seq % max(self.settings.ack_sample, 1) == 0:
            self.pending_acks.append((self.seq, now))
        message: dict[str, Any] = {"type": "input", "seq": self.seq}
        message.update((k, v) for k, v in fields.items() if k not in message)
        self._send(message)

    def _expire(self, now: float) -> None:
        """An input or ping unanswered for `ack_timeout` is a failure of its stat."""
        limit = self.settings.ack_timeout * 1000
        if self.pending_acks and now - self.pending_acks[0][1] > limit:
            _, sent = self.pending_acks.popleft()
            self.report("input→ack", now - sent, exc=WsFailure(f"no ack within {limit:g} ms"))
        if self.pending_pings and now - self.pending_pings[0] > limit:
            sent = self.pending_pings.popleft()
            self.report("ping→pong", now - sent, exc=WsFailure(f"no pong within {limit:g} ms"))

    # -- receiving -------------------------------------------------------------------------

    def _dispatch(self, data: bytes | str) -> None:
        self.last_message_ms = now_ms()
        try:
            message = loads(data)
            handler = self.handlers.get(message.get("type"))
        except (ValueError, AttributeError):
            self.report("error", 0, exc=WsFailure(f"not a JSON object: {data[:60]!r}"))
            return
        if handler is None:
            self.report("error", 0, exc=WsFailure(f"unknown type {message.get('type')!r}"))
            return
        handler(message, len(data))

    def _on_welcome(self, msg: dict[str, Any], size: int) -> None:
        self.tick_rate = float(msg.get("tick_rate") or self.mode.tick_rate)
        self.seq = int(msg.get("last_seq") or 0)  # continue above it after a reconnect
        self.bot = bot_for(
            str(msg.get("mode") or self.mode.name),
            int(msg["slot"]),
            msg.get("config") or {},
            self.tick_rate,
            self.rng,
            teams=self.mode.teams,
            input_schema=self.mode.input_schema,
        )
        self.running = msg.get("status") == "running"

    def _on_start(self, msg: dict[str, Any], size: int) -> None:
        self.running = True

    def _on_snapshot(self, msg: dict[str, Any], size: int) -> None:
        now = self.last_message_ms  # when it arrived
        gap = now - self.last_snapshot_ms if self.last_snapshot_ms is not None else 0.0
        self.last_snapshot_ms = now
        self.report("snapshot", gap, size)
        self.running = True
        self.latest = msg
        ack = int(msg.get("ack") or 0)
        while self.pending_acks and self.pending_acks[0][0] <= ack:
            _, sent = self.pending_acks.popleft()
            self.report("input→ack", now - sent)

    def _on_pong(self, msg: dict[str, Any], size: int) -> None:
        now = self.last_message_ms
        t = float(msg.get("t", 0))
        while self.pending_pings and self.pending_pings[0] <= t:
            self.pending_pings.popleft()
        self.report("ping→pong", now - t, size)

    def _on_result(self, msg: dict[str, Any], size: int) -> None:
        self.result = msg
        self.running = False
        self.pending_acks.clear()  # inputs after the last tick are never acknowledged

    def _on_error(self, msg: dict[str, Any], size: int) -> None:
        code = msg.get("code")
        if code == "not_running" and self.result is not None:
            return  # an input crossed the result on the wire
        self.report("error", 0, exc=WsFailure(f"{code}: {msg.get('message')}"))

    def _closed(self, data: bytes) -> None:
        self.close_code = int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
        self.close_reason = data[2:].decode("utf-8", "replace")
        with contextlib.suppress(OSError):
            self.ws.send_close(self.close_code if len(data) >= 2 else 1000)  # the echo

    def _shutdown(self) -> None:
        """Close from our side (1000) unless the server did; then drop the connection."""
        try:
            if self.close_code is None:
                self.ws.send_close(1000)
        except OSError:
            pass
        finally:
            self.ws.shutdown()
