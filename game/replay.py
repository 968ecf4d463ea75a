"""Replaying a match from its seed and its input log: the same states, bit for bit.

The log holds `[tick, slot, message]` entries in the order the server applied them; a
message of None means the player left (and stands still from that tick on). Between
entries a player's last input keeps applying, exactly as in the live match loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
        if outcome is not None:
            return state, outcome
    return state, None
