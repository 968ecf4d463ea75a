"""The lobby socket's messages: checking what a client sends, encoding what it is sent.

docs/protocol.md ("Lobby rooms") and the `lobbySocket` definitions of the protocol's JSON
Schema (skirmish/base/protocol_schema.py) describe them; the conformance tests hold the
three together.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from realtime.messages import ProtocolError
from skirmish.base.text import has_invisible

CHAT_MAX_CHARS = 200  # after trimming
CHAT_FIELDS = frozenset({"type", "text"})
# What a lobby event says happened; `snapshot`: the lobby as it is (on connect, or after a
# change this socket missed).
LOBBY_EVENTS = ("snapshot", "joined", "left", "ready", "settings", "started", "closed")


def chat_text(message: dict[str, Any], fields: frozenset[str] = CHAT_FIELDS) -> str:
    """The chat line of a `chat` message, trimmed; ProtocolError (`invalid_message`) if it
    is not 1..200 visible characters or has fields besides `fields`. Never markup: clients
    must show it as text."""
    if message.keys() - fields:
        allowed = ", ".join(repr(f) for f in sorted(fields))
        raise ProtocolError("invalid_message", f"chat: only {allowed} are allowed")
    text = message.get("text")
    if not isinstance(text, str):
        raise ProtocolError("invalid_message", "text: must be a string")
    text = text.strip()
    if not 1 <= len(text) <= CHAT_MAX_CHARS:
        raise ProtocolError(
            "invalid_message", f"text: 1 to {CHAT_MAX_CHARS} characters once trimmed"
        )
    if has_invisible(text):
        raise ProtocolError("invalid_message", "text: no control or invisible characters")
    return text


def timestamp(seconds: float) -> str:
    """ISO 8601 in UTC, as the REST bodies write their times."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def lobby_frame(event: str, lobby: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": "lobby", "event": event, "lobby": lobby})


def chat_frame(line: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {
            "type": "chat",
            "player_id": line["player_id"],
            "name": line["name"],
            "text": line["text"],
            "at": line["at"],
        }
    )


def announcement_frame(notice: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": "announcement", "text": notice["text"], "at": notice["at"]})


def pong(t: float | int) -> bytes:
    return orjson.dumps({"type": "pong", "t": t})


RECONNECT = orjson.dumps({"type": "reconnect", "reason": "server_restarting"})
