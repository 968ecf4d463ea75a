"""The spectator socket's part of the protocol document (`$defs/spectatorSocket`), and the
`spectators` count that spectators and players share: see protocol_schema.py, which puts
them in the document, and docs/protocol.md, "Spectators"."""

from __future__ import annotations

from game.modes.base import JSON
from skirmish.base.protocol_tables import (
    COUNT,
    MATCH_STATUSES,
    PLAYER_STATS,
    SLOT,
    SPECTATOR_CLIENT_MESSAGES,
    SPECTATOR_SERVER_MESSAGES,
    TEXT,
)
from skirmish.base.schema_parts import message, record, ref

SPECTATOR_OWN = {  # type → its definition under spectatorSocket
    "spectating": "spectating",
    "result": "result",
}


def spectators() -> JSON:
    return message(
        "spectators",
        "how many watch the match now (players and spectators get it; at most once a "
        "second, when it changed)",
        {"count": COUNT},
    )


def spectator_socket(modes: list[str]) -> JSON:
    """`$defs/spectatorSocket`: the messages of /ws/matches/{match_id}/spectate."""
    server = [
        ref("spectatorSocket", SPECTATOR_OWN[kind]) if kind in SPECTATOR_OWN else ref(kind)
        for kind in SPECTATOR_SERVER_MESSAGES
    ]
    return {
        "description": (
            "the spectator socket, /ws/matches/{match_id}/spectate (docs/protocol.md, "
            "Spectators): snapshots carry the mode's spectator view, with `ack` 0"
        ),
        "$defs": {
            "clientMessage": {"oneOf": [ref(kind) for kind in SPECTATOR_CLIENT_MESSAGES]},
            "serverMessage": {"oneOf": server},
            "spectating": _spectating(modes),
            "result": {
                "description": "the end: the players' `result` (live), or the recording's",
                "oneOf": [ref("result"), _replayed()],
            },
        },
    }


def _spectating(modes: list[str]) -> JSON:
    player = record({"slot": SLOT, "player_id": TEXT, "name": {"type": "string"}})
    return message(
        "spectating",
        "the first frame on a spectator socket: the match, and how it is shown",
        {
            "match_id": TEXT,
            "mode": {"enum": modes},
            "tick_rate": {"type": "integer", "minimum": 1},
            "teams": COUNT,
            "players": {"type": "array", "items": player},
            "config": {"type": "object", "description": "the mode's constants"},
            "live": {"type": "boolean", "description": "false: a recording is played"},
            "status": {"enum": list(MATCH_STATUSES)},
            "delay_ms": {**COUNT, "description": "how far behind the match the view runs"},
            "rate_hz": {"type": "number", "exclusiveMinimum": 0},
            "speed": {"type": "number", "exclusiveMinimum": 0},
        },
    )


def _replayed() -> JSON:
    return message(
        "result",
        "a recording's end: the outcome the replay reached (the server closes with 1000)",
        {
            "match_id": TEXT,
            "winner": {"type": ["string", "null"], "minLength": 1},
            "reason": TEXT,
            "tick": COUNT,
            "players": {"type": "array", "items": record(PLAYER_STATS)},
            "replayed": {"const": True},
        },
    )
