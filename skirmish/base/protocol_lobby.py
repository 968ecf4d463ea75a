"""The lobby socket's part of the protocol document (`$defs/lobbySocket`), the
`announcement` that lobby and match sockets share, and the match socket's chat: see
protocol_schema.py, which puts them in the document, and docs/protocol.md, "Lobby rooms"."""

from __future__ import annotations

from game.modes.base import JSON
from skirmish.base.protocol_tables import (
    CHAT_MAX_CHARS,
    LOBBY_CLIENT_MESSAGES,
    LOBBY_EVENTS,
    LOBBY_FIELDS,
    LOBBY_SERVER_MESSAGES,
    SLOT,
    TEXT,
)
from skirmish.base.schema_parts import message, one_of_consts, ref, with_optional

LOBBY_OWN = {"lobby": "lobby", "chat": "chatLine", "pong": "pong"}  # type → its definition
AT: JSON = {"type": "string", "format": "date-time"}
LOBBY_BODY: JSON = {
    "type": "object",
    "description": (
        "the lobby as GET /v1/lobbies/{lobby_id} gives it to you (LobbyOut in /openapi.json): "
        "`match` is your own match access once started, `code` a private lobby's join code; "
        "the higher `revision`, the newer"
    ),
    "properties": {"revision": {"type": "integer", "minimum": 0}},
    "required": list(LOBBY_FIELDS),
}
CHAT_TEXT: JSON = {
    "type": "string",
    "minLength": 1,
    "description": (
        f"1 to {CHAT_MAX_CHARS} characters once surrounding white space is trimmed; no "
        "control or invisible characters. Plain text: never render it as markup"
    ),
}


def announcement() -> JSON:
    return message(
        "announcement",
        "a word from the operators, to every socket (POST /admin/announce); show it as text",
        {"text": TEXT, "at": AT},
    )


def match_chat() -> JSON:
    """The match socket's chat: `chat` (a player's line; `team`: to their team only) and
    `chatLine` (a line as its readers get it)."""
    line = {**CHAT_TEXT, "maxLength": CHAT_MAX_CHARS, "description": "the line, trimmed; as text"}
    team = {"type": "boolean", "description": "to your team only (a mode with teams)"}
    return {
        "chat": with_optional(
            message("chat", "a line for the match's players", {"text": CHAT_TEXT}), team=team
        ),
        "chatLine": message(
            "chat",
            "a player's line (yours too): to every player, or (`team`) to the sender's team",
            {
                "player_id": TEXT,
                "name": TEXT,
                "slot": SLOT,
                "team": {"type": "boolean"},
                "text": line,
                "at": AT,
            },
        ),
    }


def lobby_socket() -> JSON:
    """`$defs/lobbySocket`: the messages of /ws/lobbies/{lobby_id}."""
    client = [
        ref("lobbySocket", "chat") if kind == "chat" else ref(kind)
        for kind in LOBBY_CLIENT_MESSAGES
    ]
    server = [
        ref("lobbySocket", LOBBY_OWN[kind]) if kind in LOBBY_OWN else ref(kind)
        for kind in LOBBY_SERVER_MESSAGES
    ]
    return {
        "description": "the lobby socket, /ws/lobbies/{lobby_id} (docs/protocol.md, Lobby rooms)",
        "$defs": {
            "clientMessage": {"oneOf": client},
            "serverMessage": {"oneOf": server},
            **_own_messages(),
        },
    }


def _own_messages() -> JSON:
    """The lobby socket's own messages (it shares ping, error, announcement, reconnect)."""
    line = {**CHAT_TEXT, "maxLength": CHAT_MAX_CHARS, "description": "the line, trimmed; as text"}
    events = one_of_consts([(e, e, d) for e, d in LOBBY_EVENTS], "what happened")
    return {
        "chat": message("chat", "a chat line for the lobby's members", {"text": CHAT_TEXT}),
        "lobby": message(
            "lobby",
            "the lobby changed (or, `snapshot`, as it is): as you see it",
            {"event": events, "lobby": LOBBY_BODY},
        ),
        "chatLine": message(
            "chat",
            "a member's chat line (yours too)",
            {"player_id": TEXT, "name": TEXT, "text": line, "at": AT},
        ),
        "pong": message(
            "pong", "the answer to a ping", {"t": {"type": "number", "description": "echoed"}}
        ),
    }
