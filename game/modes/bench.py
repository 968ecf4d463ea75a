"""Arena-30: the fixed benchmark workload (`make bench`), as a game mode.

Defined so that any game server can run the identical workload: every player has
`{x, y, vx, vy, hp, score}`; each tick sets `vx = dx * 200`, `vy = dy * 200` from the
player's last input and moves `x = clamp(x + vx / 30, 0, 1000)`, likewise `y`. Nobody
fires, nobody scores: the work is the I/O around a tiny step, which is the point.

Inputs are `{"type": "input", "seq": n, "dx": d, "dy": d}` with `dx`, `dy` finite numbers
in [-1, 1]. The snapshot is compact rows, numbers rounded so that a 10-player state
message stays well under 400 bytes on the wire:

    {"tick": t, "players": [[slot, x, y, vx, vy, hp, score], ...]}

x, y to 0.1 unit, vx, vy to whole units per second (the realtime layer appends each row's
`online` flag and splices the player's `ack` in front).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from game.modes.base import JSON, InputRejected, Outcome, PlayerStats
from game.modes.schemas import DIRECTION, input_schema

INPUT_FIELDS = frozenset({"type", "seq", "dx", "dy"})
WIDTH = 1000.0
HEIGHT = 1000.0
SPEED = 200.0  # units per second at |d| = 1
MAX_HP = 100
LIMIT = 1 << 53


Arena30Input = tuple[float, float]  # (dx, dy)


# (x, y, vx, vy, hp, score): a plain tuple, built with a literal on the hot path (a
# NamedTuple's constructor costs several times more, ten times per match per tick).
Player = tuple[float, float, float, float, int, int]


class Arena30State(NamedTuple):
    tick: int
    players: tuple[Player, ...]


def _direction(fields: Mapping[str, Any], name: str) -> float:
    value = fields.get(name)
    if type(value) is float and -1.0 <= value <= 1.0:  # the usual case, checked first
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputRejected(f"{name}: must be a number")
    if isinstance(value, int) and abs(value) > LIMIT:
        raise InputRejected(f"{name}: out of range")
    result = float(value)
    if not -1.0 <= result <= 1.0:  # NaN fails this too
        raise InputRejected(f"{name}: must be a finite number within [-1, 1]")
    return result


def start_position(slot: int, players: int) -> tuple[float, float]:
    """Players start evenly spaced on a circle around the centre (no RNG needed)."""
    angle = math.tau * slot / max(players, 1)
    return round(500.0 + 300.0 * math.cos(angle), 1), round(500.0 + 300.0 * math.sin(angle), 1)


# The fields of an input message besides the envelope's `type` and `seq`.
INPUT_SCHEMA = input_schema(dx=DIRECTION, dy=DIRECTION)


class Arena30Mode:
    """The arena-30 benchmark mode (see the module docstring for the rules)."""

    name = "arena30"
    version = 1
    teams = 0
    hides_information = False
    input_schema = INPUT_SCHEMA
    min_players = 2
    max_players = 10

    def __init__(self, tick_rate: int = 30, time_limit_ticks: int = 30 * 600) -> None:
        self.tick_rate = tick_rate
        self.time_limit_ticks = time_limit_ticks  # ends abandoned benchmark matches

    def initial_state(self, players: int, seed: int) -> Arena30State:
        rows = tuple(
            (*start_position(slot, players), 0.0, 0.0, MAX_HP, 0) for slot in range(players)
        )
        return Arena30State(0, rows)

    def parse_input(self, fields: Mapping[str, Any]) -> Arena30Input:
        if not fields.keys() <= INPUT_FIELDS:
            unknown = sorted(map(str, fields.keys() - INPUT_FIELDS))
            raise InputRejected(f"unknown field(s): {', '.join(unknown)}")
        return (_direction(fields, "dx"), _direction(fields, "dy"))

    def step(
        self, state: Arena30State, inputs: Sequence[Arena30Input | None], tick: int
    ) -> Arena30State:
        rate = self.tick_rate
        moved: list[Player] = []
        count = len(inputs)
        for slot, (x, y, _, _, hp, score) in enumerate(state.players):
            command = inputs[slot] if slot < count else None
            if command is None:  # never sent anything, or away: stands still
                moved.append((x, y, 0.0, 0.0, hp, score))
                continue
            vx, vy = command[0] * SPEED, command[1] * SPEED
            x += vx / rate
            y += vy / rate
            x = 0.0 if x < 0.0 else WIDTH if x > WIDTH else x
            y = 0.0 if y < 0.0 else HEIGHT if y > HEIGHT else y
            moved.append((x, y, vx, vy, hp, score))
        return Arena30State(tick, tuple(moved))

    def view(self, state: Arena30State, slot: int | None) -> JSON:
        # round(v * 10) / 10 rather than round(v, 1): the same tenths, several times faster.
        return {
            "players": [
                [slot, round(x * 10) / 10, round(y * 10) / 10, round(vx), round(vy), hp, score]
                for slot, (x, y, vx, vy, hp, score) in enumerate(state.players)
            ],
        }

    def outcome(self, state: Arena30State) -> Outcome | None:
        if state.tick < self.time_limit_ticks:
            return None
        stats = tuple(PlayerStats(slot, p[5]) for slot, p in enumerate(state.players))
        return Outcome(None, "time_limit", stats)

    def dump_state(self, state: Arena30State) -> Any:
        return [state.tick, [list(p) for p in state.players]]

    def load_state(self, data: Any) -> Arena30State:
        tick, players = data
        rows: tuple[Player, ...] = tuple(
            (float(x), float(y), float(vx), float(vy), int(hp), int(score))
            for x, y, vx, vy, hp, score in players
        )
        return Arena30State(int(tick), rows)

    def client_config(self) -> JSON:
        return {"width": WIDTH, "height": HEIGHT, "speed": SPEED, "max_hp": MAX_HP}
