"""The game-mode contract, as a studio's code imports it: `from skirmish.modes import ...`.

A mode is a set of pure functions over its own state (see `GameMode`); the server steps
it, sends what it describes and records how the match ended. Studio code names only this
module, never the server's internals. `rng` is a deterministic random number generator
whose whole state is one int, to carry inside a mode's state (docs/modes.md).
"""

from __future__ import annotations

from game import rng
from game.modes.base import JSON, GameMode, InputRejected, Outcome, PlayerStats

__all__ = ["JSON", "GameMode", "InputRejected", "Outcome", "PlayerStats", "rng"]
