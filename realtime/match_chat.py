"""Chat inside a match: a player's line to every player of the match, or (`team`, in a
mode with teams) to their own team only.

A line is checked where the player's socket is (lobby chat's rules: 1..200 visible
characters, plain text) and said by the match's owner: a socket on another pod sends it
through the relay (`["m", match_id, conn, text, team]`, relay_owner.py), and the owner's
frame reaches each player as the match's other frames do, so a line is never shown out of
order with the match. Spectators do not get the players' lines: a team's line would tell
them what the delayed view hides.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from realtime.lobby_messages import chat_text, timestamp
from realtime.messages import ProtocolError

CHAT_FIELDS = frozenset({"type", "text", "team"})


def parse(message: dict[str, Any], teams: int) -> tuple[str, bool]:
    """The line and whether it is for the sender's team; ProtocolError if it is bad."""
    text = chat_text(message, CHAT_FIELDS)
    team = message.get("team", False)
    if not isinstance(team, bool):
        raise ProtocolError("invalid_message", "team: must be true or false")
    if team and teams < 2:
        raise ProtocolError("invalid_message", "team: this mode has no teams")
    return text, team


def frame(player_id: str, name: str, slot: int, text: str, team: bool) -> bytes:
    """The line as its readers get it."""
    return orjson.dumps(
        {
            "type": "chat",
            "player_id": player_id,
            "name": name,
            "slot": slot,
            "team": team,
            "text": text,
            "at": timestamp(time.time()),
        }
    )
