"""Game modes by name."""

from __future__ import annotations

from typing import Any

from game.modes.arena import ArenaMode, ArenaRules
from game.modes.base import GameMode, InputRejected, Outcome, PlayerStats
from game.modes.bench import Arena30Mode
from game.modes.ctf import CtfMode, CtfRules

AnyMode = GameMode[Any, Any]

__all__ = [
    "AnyMode",
    "Arena30Mode",
    "ArenaMode",
    "ArenaRules",
    "CtfMode",
    "CtfRules",
    "GameMode",
    "InputRejected",
    "Outcome",
    "PlayerStats",
    "build_modes",
]


def build_modes(
    arena_rules: ArenaRules | None = None, *, bench: bool = False
) -> dict[str, AnyMode]:
    """The built-in modes, keyed by the name clients ask for: the arena (a free-for-all
    shooter) and ctf (2v2 capture the flag with fog of war, 20 Hz).

    `bench` adds "arena30", the fixed benchmark workload (loadtest/bench.py): not a game,
    so only servers started for a benchmark offer it.
    """
    modes: list[AnyMode] = [ArenaMode(arena_rules), CtfMode()]
    if bench:
        modes.append(Arena30Mode((arena_rules or ArenaRules()).tick_rate))
    return {mode.name: mode for mode in modes}
