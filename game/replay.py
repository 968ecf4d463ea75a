"""Replaying a match from its seed and its input log: the same states, bit for bit.

The log holds `[tick, slot, message]` entries in the order the server applied them; a
message of None means the player left (and stands still from that tick on). Between
entries a player's last input keeps applying, exactly as in the live match loop.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from game.modes.base import GameMode, Outcome


def replay(
    mode: GameMode[Any, Any],
    players: int,
    seed: int,
    inputs: Iterable[Sequence[Any]],
    ticks: int,
) -> tuple[Any, Outcome | None]:
    """Run `ticks` ticks (or until the match ends); return the final state and outcome."""
    last = deque(replay_steps(mode, players, seed, inputs, ticks), maxlen=1)
    if not last:  # no tick at all
        return mode.initial_state(players, seed), None
    _, state, outcome = last[0]
    return state, outcome


def replay_steps(
    mode: GameMode[Any, Any],
    players: int,
    seed: int,
    inputs: Iterable[Sequence[Any]],
    ticks: int,
) -> Iterator[tuple[int, Any, Outcome | None]]:
    """Each tick of the replay as it is played: (tick, state, outcome); the last one is
    the match's end (an outcome) or tick `ticks`."""
    state = mode.initial_state(players, seed)
    held: list[Any] = [None] * players
    pending = iter(sorted(inputs, key=lambda entry: entry[0]))  # stable: keeps order per tick
    upcoming = next(pending, None)
    for tick in range(1, ticks + 1):
        while upcoming is not None and upcoming[0] <= tick:
            _, slot, message = upcoming
            held[slot] = None if message is None else mode.parse_input(message)
            upcoming = next(pending, None)
        state = mode.step(state, held, tick)
        outcome = mode.outcome(state)
        yield tick, state, outcome
        if outcome is not None:
            return
