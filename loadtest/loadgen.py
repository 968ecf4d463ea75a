"""A load generator fast enough not to be the limit: picows sockets on uvloop, several processes.

The driver (`LoadGenerator`, used by loadtest/bench.py) starts worker processes
(`python -m loadtest.loadgen --worker`) and talks to each over its stdin/stdout, one JSON
object a line:

    driver → worker   the plan: {"tick_rate", "seed", "matches": [{"sockets": [{"url", "token"}]}]}
    worker → driver   {"event": "connected", "ok", "failed"}
    driver → worker   {"cmd": "go", "start", "end"}      (time.monotonic(), shared by all)
    worker → driver   {"event": "progress", ...} every second, then {"event": "result", ...}

A worker holds whole matches. Per match it connects the first socket and waits for its first
frame (on a cluster that socket's pod claims the match), then the others. From "go" every
socket sends `input {seq, dx: cos(a0 + 0.1 seq), dy: sin(a0 + 0.1 seq)}` at the tick rate
(random a0, and a random send slot within the tick so sockets do not send in one burst) and
one `ping {t}` a second; between `start` and `end` it counts what arrives: state messages
and their bytes, the gap between a socket's state messages, ping RTT, input→ack (time from
sending an input to the first state message acknowledging its seq), each match's tick rate
as its state messages tell it, and how late the generator itself sent (its send lateness).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from loadtest.histogram import Histogram
from loadtest.servers import with_root_on_path

SNAP = b'{"type":"snapshot","ack":'
SNAP_LEN = len(SNAP)
TICK_KEY_LEN = len(b'"tick":')
SLOTS_PER_TICK = 8  # send slots per tick: sockets are spread over them
RING = 128  # remembered send times per socket (input→ack)
CONNECT_CONCURRENCY = 64
FIRST_FRAME_TIMEOUT = 15.0


class Stats:
    """One worker's counts over the measured window."""

    def __init__(self) -> None:
        self.measuring = False
        self.seen = 0  # state messages over the whole run (for the progress line)
        self.snapshots = 0
        self.snapshot_bytes = 0
        self.inputs_sent = 0
        self.pings_sent = 0
        self.pongs = 0
        self.errors = 0
        self.closed = 0
        self.reasons: dict[str, int] = {}  # error codes and close codes seen, for diagnosis
        self.rtt = Histogram()
        self.ack = Histogram()
        self.gap = Histogram()
        self.lateness = Histogram()

    def note(self, reason: str) -> None:
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


class Client(WSListener):
    """One player's socket."""

    def __init__(self, stats: Stats, a0: float, observer: bool) -> None:
        self.stats = stats
        self.a0 = a0
        self.observer = observer  # one socket per match notes the tick numbers
        self.transport: WSTransport | None = None
        self.seq = 0
        self.sent = [0.0] * RING
        self.last_ack = 0
        self.last_snap = 0.0
        self.ticks: list[tuple[int, float]] = []  # (tick, time) first and last in the window
        self.first_frame: asyncio.Future[None] | None = None
        self.slot = 0
        self.ping_phase = 0

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.transport = None
        self.stats.closed += 1

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.BINARY or kind is WSMsgType.TEXT:
            self.on_message(frame.get_payload_as_bytes())
        elif kind is WSMsgType.CLOSE:
            self.stats.note(f"close {frame.get_close_code().value} {frame.get_close_reason()}")
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_message(self, payload: bytes) -> None:
        now = time.monotonic()
        if payload.startswith(SNAP):
            self.on_snapshot(payload, now)
            return
        if self.first_frame is not None and not self.first_frame.done():
            self.first_frame.set_result(None)
        message = orjson.loads(payload)
        kind = message.get("type")
        stats = self.stats
        if kind == "pong":
            if stats.measuring:
                stats.pongs += 1
                stats.rtt.add(now - message["t"])
        elif kind == "error":
            stats.errors += 1
            stats.note(f"error {message.get('code')}")

    def on_snapshot(self, payload: bytes, now: float) -> None:
        comma = payload.index(b",", SNAP_LEN)
        ack = int(payload[SNAP_LEN:comma])
        stats = self.stats
        stats.seen += 1
        if stats.measuring:
            stats.snapshots += 1
            stats.snapshot_bytes += len(payload)
            if self.last_snap:
                stats.gap.add(now - self.last_snap)
            if ack > self.last_ack and ack > self.seq - RING:
                stats.ack.add(now - self.sent[ack % RING])
            if self.observer:
                start = comma + 1 + TICK_KEY_LEN
                tick = int(payload[start : payload.index(b",", start)])
                self.note_tick(tick, now)
        elif self.first_frame is not None and not self.first_frame.done():
            self.first_frame.set_result(None)
        self.last_snap = now
        if ack > self.last_ack:
            self.last_ack = ack

    def note_tick(self, tick: int, now: float) -> None:
        if self.ticks:
            self.ticks[1:] = [(tick, now)]
        else:
            self.ticks.append((tick, now))

    def send_input(self, now: float) -> None:
        transport = self.transport
        if transport is None:
            return
        self.seq = seq = self.seq + 1
        angle = self.a0 + 0.1 * seq
        data = b'{"type":"input","seq":%d,"dx":%.4f,"dy":%.4f}' % (
            seq,
            math.cos(angle),
            math.sin(angle),
        )
        self.sent[seq % RING] = now
        transport.send(WSMsgType.TEXT, data)
        if self.stats.measuring:
            self.stats.inputs_sent += 1

    def send_ping(self, now: float) -> None:
        if self.transport is not None:
            self.transport.send(WSMsgType.TEXT, b'{"type":"ping","t":%r}' % now)
            if self.stats.measuring:
                self.stats.pings_sent += 1

    def tick_rate(self) -> float | None:
        if len(self.ticks) < 2 or self.ticks[1][1] <= self.ticks[0][1]:
            return None
        (t0, at0), (t1, at1) = self.ticks
        return (t1 - t0) / (at1 - at0)


# -- the worker process -------------------------------------------------------------------


class Worker:
    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.tick_rate = int(plan["tick_rate"])
        self.slots = int(plan.get("slots", SLOTS_PER_TICK))
        self.rng = random.Random(plan.get("seed", 1))
        self.stats = Stats()
        self.clients: list[Client] = []
        self.observers: list[Client] = []
        self.failed = 0
        self._gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect_all(self) -> None:
        await asyncio.gather(*(self.connect_match(m["sockets"]) for m in self.plan["matches"]))
        rate = self.tick_rate
        for client in self.clients:
            client.slot = self.rng.randrange(self.slots)
            client.ping_phase = self.rng.randrange(rate)

    async def connect_match(self, sockets: list[dict[str, Any]]) -> None:
        first = await self.connect(sockets[0], observer=True)
        if first is None:
            self.failed += len(sockets) - 1
            return
        with contextlib.suppress(TimeoutError):
            assert first.first_frame is not None
            await asyncio.wait_for(first.first_frame, FIRST_FRAME_TIMEOUT)
        await asyncio.gather(*(self.connect(s, observer=False) for s in sockets[1:]))

    async def connect(self, socket: dict[str, Any], observer: bool) -> Client | None:
        offered = "skirmish.v1" + (f", token.{socket['token']}" if socket.get("token") else "")
        client = Client(self.stats, self.rng.uniform(0, math.tau), observer)
        client.first_frame = asyncio.get_running_loop().create_future()
        try:
            async with self._gate:
                await ws_connect(
                    lambda: client,
                    socket["url"],
                    extra_headers={"Sec-WebSocket-Protocol": offered},
                    websocket_handshake_timeout=30,
                )
        except Exception:
            self.failed += 1
            return None
        self.clients.append(client)
        if observer:
            self.observers.append(client)
        return client

    async def run(self, start: float, end: float, report: Callable[[dict[str, Any]], None]) -> None:
        """Send until `end`; count between `start` and `end`; report progress every second."""
        loop = asyncio.get_running_loop()
        loop.call_later(max(start - time.monotonic(), 0), self._set_measuring, True)
        progress = loop.create_task(self._progress(report))
        try:
            await self._send_loop(end)
        finally:
            self.stats.measuring = False
            progress.cancel()

    def _set_measuring(self, on: bool) -> None:
        self.stats.measuring = on

    async def _progress(self, report: Callable[[dict[str, Any]], None]) -> None:
        while True:
            await asyncio.sleep(1.0)
            stats = self.stats
            report({"event": "progress", "seen": stats.seen, "closed": stats.closed})

    async def _send_loop(self, end: float) -> None:
        slots = self.slots
        by_slot: list[list[Client]] = [[] for _ in range(slots)]
        for client in self.clients:
            by_slot[client.slot].append(client)
        period = 1.0 / (self.tick_rate * slots)
        stats, rate = self.stats, self.tick_rate
        send_inputs = self.plan.get("inputs", True)  # False: a receive-only experiment
        next_at, n = time.monotonic(), 0
        while next_at < end:
            next_at += period
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                if delay < -5 * period:  # hopelessly behind: do not burst to catch up
                    next_at = time.monotonic()
                await asyncio.sleep(0)  # still let the sockets be read
            now = time.monotonic()
            if stats.measuring:
                stats.lateness.add(now - next_at)
            tick, slot = divmod(n, slots)
            n += 1
            phase = tick % rate
            for client in by_slot[slot]:
                if send_inputs:
                    client.send_input(now)
                if client.ping_phase == phase:
                    client.send_ping(now)

    def result(self) -> dict[str, Any]:
        s = self.stats
        rates = [r for r in (c.tick_rate() for c in self.observers) if r is not None]
        return {
            "event": "result",
            "sockets": len(self.clients),
            "failed": self.failed,
            "snapshots": s.snapshots,
            "snapshot_bytes": s.snapshot_bytes,
            "inputs_sent": s.inputs_sent,
            "pings_sent": s.pings_sent,
            "pongs": s.pongs,
            "errors": s.errors,
            "closed": s.closed,
            "reasons": s.reasons,
            "tick_rates": rates,
            "rtt": s.rtt.to_json(),
            "ack": s.ack.to_json(),
            "gap": s.gap.to_json(),
            "lateness": s.lateness.to_json(),
        }

    async def close(self) -> None:
        for client in self.clients:
            if client.transport is not None:
                client.transport.send_close()
                client.transport.disconnect()
        await asyncio.sleep(0.2)


# -- the driver's side ----------------------------------------------------------------------

COUNTS: tuple[str, ...] = ("sockets", "failed", "snapshots", "snapshot_bytes", "inputs_sent")
COUNTS += ("pings_sent", "pongs", "errors", "closed")
HISTOGRAMS = ("rtt", "ack", "gap", "lateness")


class LoadGenerator:
    """Worker processes sharing the matches of a plan; whole matches per worker."""

    def __init__(
        self, matches: list[dict[str, Any]], tick_rate: int, workers: int, inputs: bool = True
    ) -> None:
        self.tick_rate = tick_rate
        self.inputs = inputs
        count = max(1, min(workers, len(matches)))
        self.shares = [matches[i::count] for i in range(count)]
        self.procs: list[asyncio.subprocess.Process] = []
        self.progress: dict[int, dict[str, Any]] = {}

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    async def start(self, timeout: float) -> dict[str, int]:
        """Start the workers and wait until every socket is connected (or failed)."""
        for index, share in enumerate(self.shares):
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "loadtest.loadgen",
                "--worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=1 << 26,  # a result line carries whole histograms
                env=with_root_on_path(dict(os.environ)),
            )
            self.procs.append(proc)
            plan = {"tick_rate": self.tick_rate, "seed": index + 1, "matches": share}
            plan["inputs"] = self.inputs
            plan["slots"] = int(os.environ.get("BENCH_SEND_SLOTS", SLOTS_PER_TICK))
            self._write(proc, plan)
        answers = await asyncio.wait_for(
            asyncio.gather(*(self._read(p) for p in self.procs)), timeout
        )
        return {"ok": sum(a["ok"] for a in answers), "failed": sum(a["failed"] for a in answers)}

    async def run(self, start: float, end: float) -> dict[str, Any]:
        """Tell every worker the window; return their results added up."""
        for proc in self.procs:
            self._write(proc, {"cmd": "go", "start": start, "end": end})
        results = await asyncio.gather(*(self._result(i, p) for i, p in enumerate(self.procs)))
        return aggregate(results)

    def seen(self) -> int:
        """State messages received so far, from the workers' last progress lines."""
        return sum(p.get("seen", 0) for p in self.progress.values())

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.stdin is not None and not proc.stdin.is_closing():
                proc.stdin.close()
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 5.0)
            except TimeoutError:
                proc.kill()
                await proc.wait()

    def _write(self, proc: asyncio.subprocess.Process, message: dict[str, Any]) -> None:
        assert proc.stdin is not None
        proc.stdin.write(orjson.dumps(message) + b"\n")

    async def _read(self, proc: asyncio.subprocess.Process) -> dict[str, Any]:
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        if not line:
            raise RuntimeError(f"load generator worker {proc.pid} exited early")
        result: dict[str, Any] = orjson.loads(line)
        return result

    async def _result(self, index: int, proc: asyncio.subprocess.Process) -> dict[str, Any]:
        while True:
            message = await self._read(proc)
            if message.get("event") == "result":
                return message
            self.progress[index] = message


def aggregate(results: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {key: sum(r[key] for r in results) for key in COUNTS}
    for key in HISTOGRAMS:
        total[key] = Histogram.merged(r[key] for r in results)
    total["tick_rates"] = sorted(rate for r in results for rate in r["tick_rates"])
    reasons: dict[str, int] = {}
    for r in results:
        for reason, count in r["reasons"].items():
            reasons[reason] = reasons.get(reason, 0) + count
    total["reasons"] = reasons
    return total


async def worker_main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def report(message: dict[str, Any]) -> None:
        sys.stdout.buffer.write(orjson.dumps(message) + b"\n")
        sys.stdout.buffer.flush()

    worker = Worker(orjson.loads(await reader.readline()))
    await worker.connect_all()
    report({"event": "connected", "ok": len(worker.clients), "failed": worker.failed})
    command = orjson.loads(await reader.readline())
    if command.get("cmd") == "go":
        await worker.run(float(command["start"]), float(command["end"]), report)
        report(worker.result())
    await worker.close()


def main() -> int:
    import uvloop

    if sys.argv[1:] != ["--worker"]:
        print("usage: python -m loadtest.loadgen --worker  (started by loadtest/bench.py)")
        return 2
    uvloop.run(worker_main())
    return 0


if __name__ == "__main__":
    sys.exit(main())
