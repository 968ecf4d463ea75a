"""The published shapes of the built-in modes' messages: the JSON Schemas of their input
fields (GET /v1/modes) and of their views (the WebSocket protocol's schema,
GET /v1/protocol.json). Each must describe exactly what its mode accepts and builds:
tests hold parse_input to the input schemas and every frame of real matches to the views.
"""

from __future__ import annotations

from game.modes.base import JSON

DIRECTION: JSON = {"type": "number", "minimum": -1, "maximum": 1}
FLAG: JSON = {"type": "boolean"}


def input_schema(**fields: JSON) -> JSON:
    """An input's fields: every one required, no other allowed."""
    return {
        "type": "object",
        "properties": fields,
        "required": list(fields),
        "additionalProperties": False,
    }


def settings_schema(**fields: JSON) -> JSON:
    """A mode's settings: each optional (its `default` applies), no other allowed."""
    return {"type": "object", "properties": fields, "additionalProperties": False}


def time_limit(default: float) -> JSON:
    return {
        "type": "number",
        "minimum": 1,
        "maximum": 3600,
        "default": default,
        "description": "seconds until the match ends on time",
    }


# -- arena ---------------------------------------------------------------------------------

# The fields of an input message besides the envelope's `type` and `seq`.
ARENA_INPUT = input_schema(
    dx=DIRECTION, dy=DIRECTION, aim={"type": "number", "description": "radians"}, fire=FLAG
)


# What view() builds, besides the snapshot's server fields: published in the WebSocket
# protocol's schema (GET /v1/protocol.json). Rows are arrays, one column per item.
ARENA_VIEW: JSON = {
    "type": "object",
    "properties": {
        "left": {"type": "integer", "minimum": 0, "description": "ticks until the time limit"},
        "players": {
            "type": "array",
            "description": "every fighter, by slot",
            "items": {
                "type": "array",
                "description": "[slot, x, y, aim, hp, score, alive]: x, y to 0.1, aim to 0.01",
                "prefixItems": [
                    {"type": "integer", "minimum": 0, "title": "slot"},
                    {"type": "number", "title": "x"},
                    {"type": "number", "title": "y"},
                    {"type": "number", "minimum": -3.14, "maximum": 3.14, "title": "aim"},
                    {"type": "integer", "minimum": 0, "title": "hp"},
                    {"type": "integer", "minimum": 0, "title": "score"},
                    {"enum": [0, 1], "title": "alive"},
                ],
                "minItems": 7,
                "items": False,
            },
        },
        "shots": {
            "type": "array",
            "description": "the shots in flight",
            "items": {
                "type": "array",
                "description": "[id, owner_slot, x, y, vx, vy]: to 0.1, velocity in units/s",
                "prefixItems": [
                    {"type": "integer", "minimum": 1, "title": "id"},
                    {"type": "integer", "minimum": 0, "title": "owner_slot"},
                    {"type": "number", "title": "x"},
                    {"type": "number", "title": "y"},
                    {"type": "number", "title": "vx"},
                    {"type": "number", "title": "vy"},
                ],
                "minItems": 6,
                "items": False,
            },
        },
        "events": {
            "type": "array",
            "description": "what happened during the last step; only when something did",
            "minItems": 1,
            "items": {
                "type": "array",
                "oneOf": [
                    {
                        "description": '["hit", shooter, victim, hp_left]',
                        "prefixItems": [
                            {"const": "hit"},
                            {"type": "integer", "minimum": 0},
                            {"type": "integer", "minimum": 0},
                            {"type": "integer", "minimum": 0},
                        ],
                        "minItems": 4,
                        "items": False,
                    },
                    {
                        "description": '["kill", killer, victim]',
                        "prefixItems": [
                            {"const": "kill"},
                            {"type": "integer", "minimum": 0},
                            {"type": "integer", "minimum": 0},
                        ],
                        "minItems": 3,
                        "items": False,
                    },
                    {
                        "description": '["respawn", slot]',
                        "prefixItems": [{"const": "respawn"}, {"type": "integer", "minimum": 0}],
                        "minItems": 2,
                        "items": False,
                    },
                ],
            },
        },
    },
    "required": ["left", "players", "shots"],
    "additionalProperties": False,
}


def arena_settings(score_limit: int, time_limit_seconds: float) -> JSON:
    """What a lobby or a queue may choose for an arena match (defaults: the server's)."""
    return settings_schema(
        score_limit={
            "type": "integer",
            "minimum": 1,
            "maximum": 1000,
            "default": score_limit,
            "description": "kills that win the match",
        },
        time_limit_seconds=time_limit(time_limit_seconds),
    )


# -- ctf ----------------------------------------------------------------------------------

# The fields of an input message besides the envelope's `type` and `seq`.
CTF_INPUT = input_schema(dx=DIRECTION, dy=DIRECTION, sprint=FLAG)


# What view() builds, besides the snapshot's server fields: published in the WebSocket
# protocol's schema (GET /v1/protocol.json). Rows are arrays, one column per item.
def ctf_settings(capture_limit: int, time_limit_seconds: int) -> JSON:
    """What a lobby or a queue may choose for a capture-the-flag match."""
    return settings_schema(
        capture_limit={
            "type": "integer",
            "minimum": 1,
            "maximum": 20,
            "default": capture_limit,
            "description": "captures that win the match",
        },
        time_limit_seconds=time_limit(time_limit_seconds) | {"type": "integer"},
    )


CTF_VIEW: JSON = {
    "type": "object",
    "properties": {
        "left": {"type": "integer", "minimum": 0, "description": "ticks until the time limit"},
        "score": {
            "type": "array",
            "description": "captures by team: [team 0, team 1]",
            "items": {"type": "integer", "minimum": 0},
            "minItems": 2,
            "maxItems": 2,
        },
        "players": {
            "type": "array",
            "description": "the players the viewer's team sees, by slot",
            "items": {
                "type": "array",
                "description": "[slot, team, x, y, carrying, jailed, stamina]: x, y to 0.1",
                "prefixItems": [
                    {"type": "integer", "minimum": 0, "title": "slot"},
                    {"enum": [0, 1], "title": "team"},
                    {"type": "number", "title": "x"},
                    {"type": "number", "title": "y"},
                    {"enum": [0, 1], "title": "carrying"},
                    {"enum": [0, 1], "title": "jailed"},
                    {
                        "type": ["integer", "null"],
                        "minimum": 0,
                        "maximum": 100,
                        "title": "stamina",
                        "description": "null for an enemy",
                    },
                ],
                "minItems": 7,
                "items": False,
            },
        },
        "flags": {
            "type": "array",
            "description": "the flags the viewer's team sees",
            "maxItems": 2,
            "items": {
                "type": "array",
                "description": "[team, x, y, status]: x, y null for one's own flag carried "
                "by a hidden enemy",
                "prefixItems": [
                    {"enum": [0, 1], "title": "team"},
                    {"type": ["number", "null"], "title": "x"},
                    {"type": ["number", "null"], "title": "y"},
                    {"enum": ["home", "carried", "dropped"], "title": "status"},
                ],
                "minItems": 4,
                "items": False,
            },
        },
        "events": {
            "type": "array",
            "description": "what happened during the last step, if anything; a slot the "
            "viewer may not see is null",
            "minItems": 1,
            "items": {
                "type": "array",
                "oneOf": [
                    {
                        "description": '["tag", tagger, victim]',
                        "prefixItems": [
                            {"const": "tag"},
                            {"type": ["integer", "null"], "minimum": 0},
                            {"type": ["integer", "null"], "minimum": 0},
                        ],
                        "minItems": 3,
                        "items": False,
                    },
                    {
                        "description": '["pickup" | "drop" | "return" | "capture", slot, '
                        "team]: the flag's team (the scoring team for a capture); the slot "
                        "of a return is null when the flag went home by itself",
                        "prefixItems": [
                            {"enum": ["pickup", "drop", "return", "capture"]},
                            {"type": ["integer", "null"], "minimum": 0},
                            {"enum": [0, 1]},
                        ],
                        "minItems": 3,
                        "items": False,
                    },
                ],
            },
        },
    },
    "required": ["left", "score", "players", "flags"],
    "additionalProperties": False,
}
