"""Game modes by name."""

from __future__ import annotations

from typing import Any

from game.modes.arena import ArenaMode, ArenaRules
from game.modes.base import GameMode, InputRejected, Outcome, PlayerStats

AnyMode = GameMode[Any, Any]

__all__ = [
    "AnyMode",
    "ArenaMode",
    "ArenaRules",
    "GameMode",
    "InputRejected",
    "Outcome",
    "PlayerStats",
    "build_modes",
]


def build_modes(arena_rules: ArenaRules | None = None) -> dict[str, AnyMode]:
    """The registry of playable modes, keyed by the name clients ask for."""
    modes: list[AnyMode] = [ArenaMode(arena_rules)]
    return {mode.name: mode for mode in modes}
