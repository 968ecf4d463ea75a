"""One hosted match: its seats, input buffers, and the authoritative step of each tick.

No awaits in here: the pod's tick scheduler calls `advance()` for every match it hosts, and
each call steps the pure game mode once, encodes the snapshot once and hands the frames to
the local connections (which never block, see fanout.py).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import orjson

from game.modes import AnyMode, Outcome
from realtime import match_chat, messages, metrics
from realtime.fanout import Outlet
from realtime.input_record import Entry, InputRecord
from skirmish.base.store.records import MatchRecord

INPUT_BUFFER = 4  # inputs waiting per player; the oldest is dropped, and said so (latency)
BUDGET_SHARE = 0.25  # of the tick interval: a step taking longer overruns its budget
OVERRUN_LIMIT = 10  # overruns within any one second of ticks that end the match


class StepOverrun(RuntimeError):
    """The mode's step ran past its time budget too often: the match cannot keep time."""


@dataclass(frozen=True, slots=True)
class StepBudget:
    """How long one step may take, and how many overruns in a second of ticks end a match."""

    seconds: float
    overrun_limit: int = OVERRUN_LIMIT

    @classmethod
    def for_rate(cls, tick_rate: int, budget: float | None = None) -> StepBudget:
        return cls(BUDGET_SHARE / tick_rate if budget is None else budget)


@dataclass(slots=True)
class Seat:
    """A player's place in a match, kept while they are away."""

    player_id: str
    name: str
    slot: int
    # (seq, parsed input, the message as received: kept for the replay log)
    inbox: deque[tuple[int, Any, dict[str, Any]]] = field(
        default_factory=lambda: deque(maxlen=INPUT_BUFFER)
    )
    last_seq: int = 0  # highest seq received and held (queued or applied)
    applied_seq: int = 0  # seq of the input applied most recently
    held: Any = None  # the input that keeps applying while no new one arrives
    connection: Outlet | None = None
    conn: int = 0  # on an edge pod: the relay id of this seat's socket


class HostedMatch:
    def __init__(
        self,
        record: MatchRecord,
        mode: AnyMode,
        start_deadline: float,
        clock: Callable[[], float],
        record_inputs: bool = False,
        budget: StepBudget | None = None,
        record_limit: int = 200_000,
    ) -> None:
        self.id = record.id
        self.clock = clock
        self.record = record
        self.mode = mode
        self.state = mode.initial_state(len(record.players), record.seed)
        self.tick = 0
        self.status = "waiting"
        self.start_deadline = start_deadline
        self.seats = [Seat(p.player_id, p.name, p.slot) for p in record.players]
        self.outcome: Outcome | None = None
        # Every input as applied, [tick, slot, message] (None: the player left and stands
        # still): with the seed it replays the match exactly (realtime/input_record.py).
        self.record_limit = record_limit
        self.inputs = InputRecord(record_limit) if record_inputs else None
        # Held by whoever writes the record (a checkpoint, a drain's, the replay): two
        # writes in flight at once would send the same unsaved inputs twice.
        self.saving = asyncio.Lock()
        self.budget = budget or StepBudget.for_rate(mode.tick_rate)
        # ticks whose step overran the budget, the last `overrun_limit + 1` of them
        self.overruns: deque[int] = deque(maxlen=self.budget.overrun_limit + 1)

    # -- membership ----------------------------------------------------------------------

    def seat_of(self, player_id: str) -> Seat | None:
        return next((s for s in self.seats if s.player_id == player_id), None)

    def connect(self, seat: Seat, connection: Outlet) -> Outlet | None:
        """Seat a socket; returns the socket it replaces, if any."""
        previous, seat.connection = seat.connection, connection
        connection.send_frame(self.welcome(seat))
        self._announce_presence()
        return previous

    def disconnect(self, seat: Seat, connection: Outlet) -> None:
        if seat.connection is connection:
            seat.connection = None
            seat.held = None  # an absent player stands still
            # What waited is forgotten, and `welcome.last_seq` says so: the client resends it.
            seat.inbox.clear()
            seat.last_seq = seat.applied_seq
            if self.inputs is not None and self.status == "running":
                self.inputs.add([self.tick + 1, seat.slot, None])
            self._announce_presence()

    @property
    def connected_slots(self) -> list[int]:
        return [s.slot for s in self.seats if s.connection is not None]

    def welcome(self, seat: Seat) -> bytes:
        return messages.encode(
            {
                "type": "welcome",
                "match_id": self.id,
                "player_id": seat.player_id,
                "slot": seat.slot,
                "mode": self.mode.name,
                "tick_rate": self.mode.tick_rate,
                "teams": self.mode.teams,
                "status": self.status,
                "tick": self.tick,
                "last_seq": seat.last_seq,
                "players": [
                    {"slot": s.slot, "player_id": s.player_id, "name": s.name} for s in self.seats
                ],
                "config": self.mode.client_config(),
            }
        )

    # -- input ---------------------------------------------------------------------------

    def accept_input(self, seat: Seat, seq: int, message: dict[str, Any]) -> bool:
        """Validate (InputRejected if bad) and queue one input for the next ticks.

        A seq not above the last one held is a duplicate or a resend: ignored. An input
        that finds the buffer full pushes the oldest out, and its sender is told which.
        """
        command = self.mode.parse_input(message)
        if seq <= seat.last_seq:
            return False
        seat.last_seq = seq
        inbox = seat.inbox
        if len(inbox) == inbox.maxlen:
            self._dropped(seat, inbox[0][0])
        inbox.append((seq, command, message))
        return True

    def _dropped(self, seat: Seat, seq: int) -> None:
        """Input `seq` was pushed out of a full buffer: never applied. Not a bad message."""
        metrics.WS_ERRORS.labels("input_dropped").inc()
        if seat.connection is not None:
            text = f"input {seq} dropped: more than {INPUT_BUFFER} inputs were waiting"
            seat.connection.send_frame(messages.error("input_dropped", text, seq=seq))

    # -- the tick ------------------------------------------------------------------------

    def advance(self, now: float) -> Outcome | None:
        """One tick: start if due, step, fan the snapshot out. Returns the outcome at the end."""
        if self.status == "waiting":
            if len(self.connected_slots) < len(self.seats) and now < self.start_deadline:
                return None
            self.status = "running"
            self.broadcast({"type": "start", "tick": self.tick})
        if self.status != "running":
            return None
        tick = self.tick + 1  # counted once stepped: a step that raises leaves the last one
        inputs, record = [], self.inputs
        for seat in self.seats:  # each seat's next input, or the one it holds (inlined: hot)
            if seat.inbox:
                seat.applied_seq, seat.held, message = seat.inbox.popleft()
                if record is not None:
                    record.add([tick, seat.slot, message])
            inputs.append(seat.held)
        began = perf_counter()
        self.state = self.mode.step(self.state, inputs, tick)
        self.tick = tick
        if perf_counter() - began > self.budget.seconds:
            self._overran(tick)
        self._send_snapshot()
        self.outcome = self.mode.outcome(self.state)
        if self.outcome is not None:
            self.status = "finished"
        return self.outcome

    def _overran(self, tick: int) -> None:
        metrics.STEP_OVERRUNS.inc()
        overruns = self.overruns
        overruns.append(tick)
        if len(overruns) == overruns.maxlen and tick - overruns[0] < self.mode.tick_rate:
            raise StepOverrun(
                f"its step overran {self.budget.seconds * 1000:.1f} ms on "
                f"{len(overruns)} of {tick - overruns[0] + 1} ticks"
            )

    # -- checkpoints ---------------------------------------------------------------------

    def checkpoint(self) -> dict[str, Any]:
        """Enough to carry on elsewhere: the state and each seat's input sequence. Write it
        with `unsaved_inputs()`: `inputs_at` counts them in."""
        return {
            "version": 1,
            "match_id": self.id,
            "mode_version": self.mode.version,
            "tick": self.tick,
            "status": self.status,
            "state": self.mode.dump_state(self.state),
            "seats": [[s.last_seq, s.applied_seq] for s in self.seats],
            "inputs_at": None if self.inputs is None else len(self.inputs),
            # past its bound: the record is abandoned, on whichever pod plays on
            "inputs_given_up": self.inputs is not None and self.inputs.given_up,
        }

    def unsaved_inputs(self) -> list[Entry]:
        """The inputs recorded since the last checkpoint was written."""
        return [] if self.inputs is None else self.inputs.pending()

    def inputs_saved(self, count: int) -> None:
        """A checkpoint was written with the first `count` unsaved inputs."""
        if self.inputs is not None:
            self.inputs.written(count)

    def restore(self, checkpoint: dict[str, Any]) -> None:
        """Continue from a checkpoint: the players reconnect and stand still until they act.

        The inputs that were waiting are not part of the state: each seat holds up to the
        last one applied, so `welcome.last_seq` has the players resend the rest."""
        self.state = self.mode.load_state(checkpoint["state"])
        self.tick = int(checkpoint["tick"])
        self.status = checkpoint["status"]
        for seat, (_, applied_seq) in zip(self.seats, checkpoint["seats"], strict=True):
            seat.last_seq = seat.applied_seq = int(applied_seq)
        if self.inputs is not None:
            self.inputs = self._record_from(checkpoint)
            # Between that checkpoint and now the players stood still (held inputs reset).
            for seat in self.seats:
                self.inputs.add([self.tick + 1, seat.slot, None])

    def _record_from(self, checkpoint: dict[str, Any]) -> InputRecord:
        if checkpoint.get("inputs_given_up"):
            record = InputRecord(self.record_limit)
            record.given_up = True
            return record
        saved = checkpoint.get("inputs_at")
        if isinstance(saved, int):
            return InputRecord(self.record_limit, saved)
        record = InputRecord(self.record_limit)  # written by a version that kept them inside
        for entry in checkpoint.get("inputs") or ():
            record.add(entry)
        return record

    def replay(self) -> dict[str, Any]:
        """What game.replay needs besides the inputs (the record: see `unsaved_inputs`)."""
        return {
            "match_id": self.id,
            "mode": self.mode.name,
            "mode_version": self.mode.version,
            "settings": self.record.settings,
            "seed": self.record.seed,
            "players": len(self.seats),
            "ticks": self.tick,
        }

    def _send_snapshot(self) -> None:
        seats, mode, state = self.seats, self.mode, self.state
        online = [s.slot for s in seats if s.connection is not None]
        if not mode.hides_information:  # one view for all, encoded once
            body = messages.snapshot_body(self.tick, online, orjson.dumps(mode.view(state, None)))
        for seat in seats:
            connection = seat.connection
            if connection is None:
                continue
            if mode.hides_information:  # each player's own view, and nothing more
                view = orjson.dumps(mode.view(state, seat.slot))
                body = messages.snapshot_body(self.tick, online, view)
            connection.send_snapshot(seat.applied_seq, body)

    def chat(self, seat: Seat, text: str, team: bool) -> None:
        """A player's line (checked by match_chat.parse), to all, or to their team."""
        line = match_chat.frame(seat.player_id, seat.name, seat.slot, text, team)
        teams = self.mode.teams
        for other in self.seats:
            if other.connection is not None and (
                not team or other.slot % teams == seat.slot % teams
            ):
                other.connection.send_frame(line)

    def broadcast(self, message: dict[str, Any]) -> None:
        self.broadcast_frame(messages.encode(message))

    def broadcast_frame(self, frame: bytes) -> None:
        for seat in self.seats:
            if seat.connection is not None:
                seat.connection.send_frame(frame)

    def _announce_presence(self) -> None:
        if self.status == "waiting":
            starts_in = max(self.start_deadline - self.clock(), 0.0)
            self.broadcast(
                {
                    "type": "waiting",
                    "connected": self.connected_slots,
                    "starts_in_ms": round(starts_in * 1000),
                }
            )

    def close_all(self, code: int, reason: str = "") -> None:
        for seat in self.seats:
            if seat.connection is not None:
                seat.connection.close(code, reason)
                seat.connection = None
