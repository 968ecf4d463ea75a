"""Tag: whoever is "it" chases the others; touching one passes it on.

Every tick a player is not "it" scores a point. After `ROUND_SECONDS` the highest score
wins. Players move with `dx`, `dy` in [-1, 1]; everyone sees everything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from skirmish.modes import JSON, InputRejected, Outcome, PlayerStats, rng

TICK_RATE = 30
ROUND_SECONDS = 20
SIZE = 600.0  # the field is SIZE × SIZE units
SPEED = 180.0  # units per second; "it" runs 10 % faster
REACH = 24.0  # "it" touches a player this close
GRACE_TICKS = TICK_RATE  # the new "it" cannot tag straight back

INPUT_SCHEMA: JSON = {
    "type": "object",
    "properties": {
        "dx": {"type": "number", "minimum": -1, "maximum": 1},
        "dy": {"type": "number", "minimum": -1, "maximum": 1},
    },
    "required": ["dx", "dy"],
    "additionalProperties": False,
}


class Move(NamedTuple):
    dx: float
    dy: float


class Runner(NamedTuple):
    x: float
    y: float
    score: int = 0
    tags: int = 0  # how often this player passed "it" on


class TagState(NamedTuple):
    tick: int
    runners: tuple[Runner, ...]
    it: int  # the slot of the player who is "it"
    grace: int  # ticks until "it" may tag
    events: tuple[tuple[Any, ...], ...]  # what happened during the last step


class TagMode:
    name = "tag"
    version = 1
    tick_rate = TICK_RATE
    min_players = 2
    max_players = 8
    teams = 0
    hides_information = False
    input_schema = INPUT_SCHEMA

    def initial_state(self, players: int, seed: int) -> TagState:
        state = rng.seed_state(seed)
        runners = []
        for _ in range(players):
            x, state = rng.uniform(state, 0.0, SIZE)
            y, state = rng.uniform(state, 0.0, SIZE)
            runners.append(Runner(round(x, 1), round(y, 1)))
        it = rng.next_u64(state)[0] % players
        return TagState(0, tuple(runners), it, GRACE_TICKS, ())

    def parse_input(self, fields: Mapping[str, Any]) -> Move:
        unknown = fields.keys() - {"type", "seq", "dx", "dy"}
        if unknown:
            raise InputRejected(f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
        return Move(_direction(fields, "dx"), _direction(fields, "dy"))

    def step(self, state: TagState, inputs: Sequence[Move | None], tick: int) -> TagState:
        runners = [
            _moved(runner, inputs[slot], 1.1 if slot == state.it else 1.0)
            for slot, runner in enumerate(state.runners)
        ]
        it, grace = state.it, max(state.grace - 1, 0)
        events: tuple[tuple[Any, ...], ...] = ()
        caught = None if grace else _caught(runners, it)
        if caught is not None:
            runners[it] = runners[it]._replace(tags=runners[it].tags + 1)
            events, it, grace = (("tag", state.it, caught),), caught, GRACE_TICKS
        scored = tuple(
            r if s == it else r._replace(score=r.score + 1) for s, r in enumerate(runners)
        )
        return TagState(tick, scored, it, grace, events)

    def view(self, state: TagState, slot: int | None) -> JSON:
        body: JSON = {
            "it": state.it,
            "left": max(ROUND_SECONDS * TICK_RATE - state.tick, 0),
            "players": [[s, r.x, r.y, r.score] for s, r in enumerate(state.runners)],
        }
        if state.events:
            body["events"] = [list(e) for e in state.events]
        return body

    def outcome(self, state: TagState) -> Outcome | None:
        if state.tick < ROUND_SECONDS * TICK_RATE:
            return None
        stats = tuple(
            PlayerStats(slot, r.score, kills=r.tags) for slot, r in enumerate(state.runners)
        )
        best = max(r.score for r in state.runners)
        leaders = [s for s, r in enumerate(state.runners) if r.score == best]
        return Outcome(leaders[0] if len(leaders) == 1 else None, "time_limit", stats)

    def client_config(self) -> JSON:
        return {"size": SIZE, "speed": SPEED, "reach": REACH, "round_seconds": ROUND_SECONDS}

    def dump_state(self, state: TagState) -> Any:
        return [state.tick, [list(r) for r in state.runners], state.it, state.grace]

    def load_state(self, data: Any) -> TagState:
        tick, runners, it, grace = data
        return TagState(
            int(tick), tuple(Runner(float(x), float(y), int(s), int(t)) for x, y, s, t in runners),
            int(it), int(grace), (),
        )  # fmt: skip


def _direction(fields: Mapping[str, Any], name: str) -> float:
    value = fields.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputRejected(f"{name}: must be a number")
    if not -1.0 <= value <= 1.0:  # false for NaN too; no float() of a huge int first
        raise InputRejected(f"{name}: must be within [-1, 1]")
    return float(value)


def _moved(runner: Runner, move: Move | None, boost: float) -> Runner:
    if move is None:  # away, or has not moved yet: stands still
        return runner
    length = max(math.hypot(move.dx, move.dy), 1.0)  # diagonals are no faster
    step = SPEED * boost / TICK_RATE / length
    x = min(max(runner.x + move.dx * step, 0.0), SIZE)
    y = min(max(runner.y + move.dy * step, 0.0), SIZE)
    return runner._replace(x=round(x, 1), y=round(y, 1))


def _caught(runners: Sequence[Runner], it: int) -> int | None:
    """The nearest player within reach of "it", if any (the lowest slot on a tie)."""
    chaser = runners[it]
    near = [
        (math.hypot(r.x - chaser.x, r.y - chaser.y), slot)
        for slot, r in enumerate(runners)
        if slot != it
    ]
    reached = [pair for pair in near if pair[0] <= REACH]
    return min(reached)[1] if reached else None
