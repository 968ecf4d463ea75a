"""The bot that plays a match, by game mode: the input fields of each tick.

- `arena`: `brain.Brain` (keep a distance, strafe, aim, fire).
- `ctf`: `ctf_brain.CtfBrain` (raid the enemy flag, carry it home, tag intruders, sprint).
- any other mode: random inputs that its `input_schema` (GET /v1/modes) allows, from the
  Python SDK's `skirmish.sdk.schema_inputs` (so only that fallback needs Skirmish installed).

A bot reads only its own mode's fields of `welcome.config` and of the snapshots.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, Protocol

from .brain import Brain, Intent
from .ctf_brain import CtfBrain, CtfIntent

Fields = dict[str, Any]  # an input message's mode fields (besides `type` and `seq`)
DECISIONS_PER_SECOND = 10  # about human; between two decisions a bot holds its course


class Bot(Protocol):
    def act(self, snapshot: Mapping[str, Any] | None) -> Fields:
        """The input fields for this tick, given the latest snapshot (None before one)."""
        ...


def think_every(tick_rate: float) -> int:
    """Ticks between two decisions: 3 at 30 Hz, 2 at 20 Hz."""
    return max(round(tick_rate / DECISIONS_PER_SECOND), 1)


class ArenaBot:
    """The arena brain, asked every few ticks; in between the same course, no new shot."""

    def __init__(
        self, slot: int, config: Mapping[str, Any], tick_rate: float, rng: random.Random
    ) -> None:
        self.brain = Brain(slot, config, tick_rate, rng)
        self.every = think_every(tick_rate)
        self.ticks = -1
        self.intent: Intent = (0.0, 0.0, 0.0, False)

    def act(self, snapshot: Mapping[str, Any] | None) -> Fields:
        self.ticks += 1
        if self.ticks % self.every == 0:
            self.intent = self.brain.decide(snapshot)
        else:
            self.intent = (*self.intent[:3], False)
        dx, dy, aim, fire = self.intent
        return {"dx": dx, "dy": dy, "aim": aim, "fire": fire}


class CtfBot:
    """The capture-the-flag brain, asked every few ticks; in between the same course."""

    def __init__(
        self,
        slot: int,
        config: Mapping[str, Any],
        tick_rate: float,
        rng: random.Random,
        teams: int = 2,
    ) -> None:
        self.brain = CtfBrain(slot, config, rng, teams)
        self.every = think_every(tick_rate)
        self.ticks = -1
        self.intent: CtfIntent = (0.0, 0.0, False)

    def act(self, snapshot: Mapping[str, Any] | None) -> Fields:
        self.ticks += 1
        if self.ticks % self.every == 0:
            self.intent = self.brain.decide(snapshot)
        dx, dy, sprint = self.intent
        return {"dx": dx, "dy": dy, "sprint": sprint}


class SchemaBot:
    """Random inputs that the mode's schema allows, each held for 5-20 ticks."""

    def __init__(self, schema: Mapping[str, Any], rng: random.Random) -> None:
        from skirmish.sdk.schema_inputs import SchemaBrain  # the fallback alone needs it

        self.brain = SchemaBrain(dict(schema), rng)

    def act(self, snapshot: Mapping[str, Any] | None) -> Fields:
        return dict(self.brain.decide(dict(snapshot or {})))


def bot_for(
    mode: str,
    slot: int,
    config: Mapping[str, Any],
    tick_rate: float,
    rng: random.Random,
    *,
    teams: int = 0,
    input_schema: Mapping[str, Any] | None = None,
) -> Bot:
    """The bot for a match of `mode`, from its `welcome` (slot, config, tick rate) and its
    entry at GET /v1/modes (teams, input schema)."""
    if mode == "arena":
        return ArenaBot(slot, config, tick_rate, rng)
    if mode == "ctf":
        return CtfBot(slot, config, tick_rate, rng, teams or 2)
    return SchemaBot(input_schema or {}, rng)
