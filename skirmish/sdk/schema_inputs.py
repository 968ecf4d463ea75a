"""Inputs for any game mode, made from the JSON Schema it publishes at GET /v1/modes.

What the bots play when they know nothing of a mode's rules: random inputs that the
mode's schema allows, each held for a moment, as a restless player would send them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

Schema = dict[str, Any]


def random_value(schema: Schema, rng: random.Random) -> Any:
    """A value that `schema` (one property's) allows: enum, boolean, integer, number,
    string or null; anything else is left out (None)."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = rng.choice(kind)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "integer":
        return rng.randint(int(schema.get("minimum", -10)), int(schema.get("maximum", 10)))
    if kind == "number":
        low = float(schema.get("minimum", -math.pi))
        high = float(schema.get("maximum", math.pi))
        return round(rng.uniform(low, high), 3)
    if kind == "string":
        return "x" * int(schema.get("minLength", 0))
    return None


def random_input(schema: Schema, rng: random.Random) -> dict[str, Any]:
    """One input message's mode fields: every property of the schema that has a value."""
    fields = {}
    for name, prop in (schema.get("properties") or {}).items():
        value = random_value(prop, rng)
        if value is not None or prop.get("type") == "null":
            fields[name] = value
    return fields


@dataclass(slots=True)
class SchemaBrain:
    """Random valid inputs for any mode, each held for 5-20 ticks."""

    schema: Schema
    rng: random.Random
    held: dict[str, Any] = field(default_factory=dict)
    ticks_left: int = 0

    def decide(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        if self.ticks_left <= 0:
            self.held = random_input(self.schema, self.rng)
            self.ticks_left = self.rng.randint(5, 20)
        self.ticks_left -= 1
        return self.held
