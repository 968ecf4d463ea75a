"""The WebSocket protocol (match and lobby sockets) as one JSON Schema (draft 2020-12) document.

`protocol_schema(modes)` describes every WebSocket message of docs/protocol.md: what a
client sends on a match socket (`clientMessage`: `input`, `ping`) and what the server sends
(`serverMessage`: `welcome`, `waiting`, `start`, `snapshot`, `pong`, `error`, `result`,
`reconnect`, `announcement`, `spectators`), each offered mode's input and view included,
the lobby socket's messages (`lobbySocket`) and the spectator socket's (`spectatorSocket`).
The API serves it at
`GET /v1/protocol.json` (api/protocol.py).

It is built from the definitions the server works with: each mode's `input_schema` (what
its `parse_input` accepts, tests/game/test_input_schemas.py) and its optional
`view_schema` (what its `view` builds), and the envelope definitions below, which are the
one statement of the limits realtime/messages.py checks by hand on the hot path. This
module may not import realtime (the layers import downward only), so the numbers and
codes the realtime layer uses are copied into the tables here, and
tests/realtime/test_protocol_conformance.py checks that both sides agree: what
`messages.decode`, `input_seq` and `ping_time` accept and refuse, the close codes and
their meanings in realtime/close_codes.py, the error codes the socket sends, and every
frame of real matches of each built-in mode.

Layout of the document (`$defs`):

    clientMessage, serverMessage       any message, whatever the match's mode
    input, ping, welcome, waiting, start, snapshot, pong, error, result, reconnect
    inputEnvelope                      the input's own fields: `type`, `seq`
    snapshotFields                     the server's fields of every snapshot
    closeCode, errorCode               documented enums
    lobbySocket/$defs/                 the lobby socket, /ws/lobbies/{lobby_id} (protocol_lobby.py):
        clientMessage, serverMessage   every message either way
        chat, lobby, chatLine, pong    its own messages (it shares ping, error,
                                       announcement and reconnect)
    spectatorSocket/$defs/             the spectator socket, /ws/matches/{id}/spectate
                                       (protocol_spectate.py):
        clientMessage, serverMessage   every message either way
        spectating, result             its own (it shares ping, snapshot, spectators,
                                       pong, error, result and reconnect)
    modes/$defs/<mode>/$defs/          one offered mode:
        inputFields                    its `input_schema`, as GET /v1/modes serves it
        input                          the whole input message of a match of this mode
        view                           its `view_schema`, or any object if it has none
        snapshot                       the snapshot: the server's fields + the view's
        welcome                        the welcome, with its `config`
        clientMessage, serverMessage   every message of a match of this mode

A match's mode is named in its `welcome`: validate that match's messages with
`#/$defs/modes/$defs/<mode>/$defs/serverMessage` (and `.../clientMessage`). The modes
sit under nested `$defs` rather than bare keys so that every `$ref` points at a schema
and strict validators (ajv) take the document as it is.

A mode's schemas are embedded as they are: they must be self-contained (no `$ref`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from game.modes.base import JSON, GameMode
from skirmish.base.protocol_lobby import announcement, lobby_socket, match_chat
from skirmish.base.protocol_spectate import spectator_socket, spectators
from skirmish.base.protocol_tables import (
    CLIENT_MESSAGES,
    CLOSE_CODES,
    COUNT,
    DIALECT,
    ERROR_CODES,
    INPUT_ENVELOPE,
    MATCH_STATUSES,
    MAX_SEQ,
    PING,
    PLAYER_STATS,
    RECONNECT_REASONS,
    SERVER_MESSAGES,
    SLOT,
    SNAPSHOT_FIELDS,
    SUBPROTOCOL,
    TEXT,
)
from skirmish.base.schema_parts import message as _message
from skirmish.base.schema_parts import one_of_consts as _one_of_consts
from skirmish.base.schema_parts import record as _record
from skirmish.base.schema_parts import ref as _ref
from skirmish.base.schema_parts import with_optional as _with_optional


def _any_of(schemas: list[JSON]) -> JSON:
    return {"anyOf": schemas} if schemas else {"not": {}}  # no mode: nothing validates


# -- the messages every mode shares ----------------------------------------------------------


def _shared_messages(names: list[str]) -> JSON:
    player = _record({"slot": SLOT, "player_id": TEXT, "name": {"type": "string"}})
    standing = _record(
        {
            **PLAYER_STATS,
            "rating_before": {"type": "number"},
            "rating_after": {"type": "number"},
        }
    )
    return {
        "welcome": _message(
            "welcome",
            "the first frame on a socket: your seat, the match and the mode's constants",
            {
                "match_id": TEXT,
                "player_id": TEXT,
                "slot": {**SLOT, "description": "your index in the match"},
                "mode": {"enum": names},
                "tick_rate": {"type": "integer", "minimum": 1, "description": "ticks per second"},
                "teams": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "0: every player for themself; T: slot s plays for team s % T",
                },
                "status": {"enum": list(MATCH_STATUSES)},
                "tick": COUNT,
                "last_seq": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": MAX_SEQ,
                    "description": "the last input seq the server has from you: continue above",
                },
                "players": {"type": "array", "items": player},
                "config": {"type": "object", "description": "the mode's constants"},
            },
        ),
        "waiting": _message(
            "waiting",
            "the match waits for its players (it starts when all are in or the wait runs out)",
            {
                "connected": {
                    "type": "array",
                    "items": SLOT,
                    "uniqueItems": True,
                    "description": "the slots online",
                },
                "starts_in_ms": COUNT,
            },
        ),
        "start": _message("start", "the match is running", {"tick": COUNT}),
        "pong": _message(
            "pong",
            "the answer to a ping",
            {
                "t": {"type": "number", "description": "the ping's `t`, echoed"},
                "tick": {**COUNT, "description": "the server's tick now"},
            },
        ),
        "error": _with_optional(
            _message(
                "error",
                "a refused message (it changed nothing), or why the socket is about to close",
                {"code": _ref("errorCode"), "message": TEXT},
            ),
            seq={
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_SEQ,
                "description": "the input the error is about (`input_dropped`)",
            },
        ),
        "result": _message(
            "result",
            "the match is over (the server closes with 1000 next)",
            {
                "match_id": TEXT,
                "winner": {
                    "type": ["string", "null"],
                    "minLength": 1,
                    "description": "the winner's player_id; null for a draw or no contest",
                },
                "reason": {
                    "type": "string",
                    "minLength": 1,
                    "description": (
                        "how it ended, the mode's word (`score_limit`, `capture_limit`, "
                        "`time_limit`…), or `no_contest` when the mode failed on the server "
                        "(then no winner and no players)"
                    ),
                },
                "tick": {**COUNT, "description": "the last tick"},
                "players": {"type": "array", "items": standing},
            },
        ),
        "reconnect": _message(
            "reconnect",
            "the server is going away: reconnect to the same ws_path (close 1012 follows)",
            {"reason": {"enum": list(RECONNECT_REASONS)}},
        ),
        "ping": _message("ping", "answered at once with a `pong`", PING),
        "inputEnvelope": {
            "type": "object",
            "description": "the fields of every input message besides the mode's",
            "properties": INPUT_ENVELOPE,
            "required": list(INPUT_ENVELOPE),
        },
        "snapshotFields": {
            "type": "object",
            "description": "the server's fields of every snapshot, before the mode's view",
            "properties": SNAPSHOT_FIELDS,
            "required": list(SNAPSHOT_FIELDS),
        },
    }


# -- one mode --------------------------------------------------------------------------------


def _embedded(schema: JSON) -> JSON:
    """A mode's schema as a subschema of this document (`$schema` belongs to a root)."""
    return {k: v for k, v in schema.items() if k not in ("$schema", "$id")}


def _extended(schema: JSON, fields: Mapping[str, JSON], owner: str) -> JSON:
    """`schema` (an object schema) with `fields` added to its properties and required:
    its `additionalProperties` stays right, which a plain allOf would break."""
    own = schema.get("properties", {})
    clash = sorted(set(own) & set(fields))
    if clash:
        raise ValueError(f"{owner} must not declare {', '.join(clash)}: the server's fields")
    required = [name for name in schema.get("required", []) if name not in fields]
    return {
        **schema,
        "type": "object",
        "properties": {**fields, **own},
        "required": [*fields, *required],
    }


def _value_schema(value: object) -> JSON:
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list | tuple):
        return {"type": "array"}
    if isinstance(value, dict):
        return {"type": "object"}
    return {"type": "null"} if value is None else {}


def _config_schema(mode: GameMode[Any, Any]) -> JSON:
    """The welcome's `config`: the keys `client_config()` gives, with their JSON types."""
    config = mode.client_config()
    return {
        "type": "object",
        "description": f"the {mode.name} mode's constants, for drawing and prediction",
        "properties": {key: _value_schema(value) for key, value in config.items()},
        "required": list(config),
        "additionalProperties": False,
    }


def mode_schemas(mode: GameMode[Any, Any]) -> JSON:
    """One mode's definitions (`$defs/modes/$defs/<name>`)."""
    name = mode.name
    fields = _embedded(mode.input_schema)
    envelope = {key: {"$ref": f"#/$defs/inputEnvelope/properties/{key}"} for key in INPUT_ENVELOPE}
    declared = getattr(mode, "view_schema", None)
    view = _embedded(declared) if isinstance(declared, dict) else {"type": "object"}
    snapshot_fields = {
        key: {"$ref": f"#/$defs/snapshotFields/properties/{key}"} for key in SNAPSHOT_FIELDS
    }
    snapshot = _extended(view, snapshot_fields, f"{name}'s view_schema")
    snapshot["description"] = f"a snapshot in a match of {name}: the server's fields + the view's"
    welcome = {
        "allOf": [_ref("welcome")],
        "properties": {
            "mode": {"const": name},
            "tick_rate": {"const": mode.tick_rate},
            "teams": {"const": mode.teams},
            "config": _config_schema(mode),
        },
    }
    return {
        "description": (
            f"the {name} mode (version {mode.version}, {mode.tick_rate} Hz, "
            f"{mode.min_players}-{mode.max_players} players"
            + (", hides information" if mode.hides_information else "")
            + ")"
        ),
        "$defs": {
            "inputFields": fields,
            "input": {
                **_extended(fields, envelope, f"{name}'s input_schema"),
                "description": f"an input in a match of {name}: the envelope + the mode's fields",
            },
            "view": view,
            "snapshot": snapshot,
            "welcome": welcome,
            "clientMessage": {"oneOf": [_ref("modes", name, "input"), _ref("ping"), _ref("chat")]},
            "serverMessage": {
                "oneOf": [
                    _ref("modes", name, "welcome"),
                    _ref("waiting"),
                    _ref("start"),
                    _ref("modes", name, "snapshot"),
                    _ref("pong"),
                    _ref("error"),
                    _ref("result"),
                    _ref("reconnect"),
                    _ref("announcement"),
                    _ref("spectators"),
                    _ref("chatLine"),
                ]
            },
        },
    }


# -- the document ----------------------------------------------------------------------------


def protocol_schema(modes: Mapping[str, GameMode[Any, Any]]) -> JSON:
    """The protocol of a server that offers `modes` (by name), as one JSON Schema document.

    The document itself validates any message of the protocol, either way. `modes` is
    `Settings().modes` (what GET /v1/modes lists); each is described under its own name.
    ValueError if a mode's input_schema or view_schema declares a field of the server's."""
    names = [mode.name for mode in modes.values()]
    defs: JSON = {
        "clientMessage": {
            "description": "a message a client sends",
            "oneOf": [_ref(kind) for kind in CLIENT_MESSAGES],
        },
        "serverMessage": {
            "description": "a message the server sends",
            "oneOf": [_ref(kind) for kind in SERVER_MESSAGES],
        },
        "input": {
            "description": "an input, as the match's mode describes it",
            **_any_of([_ref("modes", name, "input") for name in names]),
        },
        "snapshot": {
            "description": "a snapshot, as the match's mode describes its view",
            **_any_of([_ref("modes", name, "snapshot") for name in names]),
        },
        **_shared_messages(names),
        "announcement": announcement(),
        "spectators": spectators(),
        **match_chat(),
        "closeCode": _one_of_consts(
            list(CLOSE_CODES), "every close code the server sends (docs/protocol.md)"
        ),
        "errorCode": _one_of_consts(
            [(code, code, text) for code, text in ERROR_CODES.items()],
            "every `error.code` the match and lobby sockets send",
        ),
        "modes": {
            "description": "the modes this server offers, by name",
            "$defs": {mode.name: mode_schemas(mode) for mode in modes.values()},
        },
        "lobbySocket": lobby_socket(),
        "spectatorSocket": spectator_socket(names),
    }
    document: JSON = {
        "$schema": DIALECT,
        "title": "Skirmish WebSocket protocol (" + SUBPROTOCOL + "): match and lobby sockets",
        "description": (
            "Every WebSocket message of a match (docs/protocol.md section 2): "
            "$defs/clientMessage and $defs/serverMessage; a match's own are "
            "$defs/modes/$defs/<mode>/$defs/clientMessage and .../serverMessage. The lobby "
            "socket's: $defs/lobbySocket/$defs/clientMessage and .../serverMessage; the "
            "spectator socket's: $defs/spectatorSocket/$defs/clientMessage and "
            ".../serverMessage. Frames "
            "hold UTF-8 JSON; numbers are finite. Close codes: $defs/closeCode."
        ),
        "oneOf": [_ref("clientMessage"), _ref("serverMessage")],
        "$defs": defs,
    }
    return copy.deepcopy(document)  # shares nothing with the modes' or these constants
