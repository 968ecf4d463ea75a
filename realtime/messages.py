"""The WebSocket wire format: decoding client frames, encoding server frames (orjson).

Client messages are checked by hand rather than by a schema library: the input message
arrives 30 times a second per player and this check sits on the hottest path of the
server, where a generic validator costs several times more. The rules are the ones in
docs/protocol.md: a JSON object, a known `type`, exact fields, finite numbers.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

MAX_SEQ = (1 << 53) - 1
PING_FIELDS = frozenset({"type", "t"})


class ProtocolError(ValueError):
    """A client message we refuse; `code` is the documented error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def decode(data: str | bytes) -> dict[str, Any]:
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError("bad_json", "frame is not valid JSON") from exc
    if not isinstance(message, dict):
        raise ProtocolError("bad_json", "a message must be a JSON object")
    return message


def input_seq(message: dict[str, Any]) -> int:
    seq = message.get("seq")
    if type(seq) is int and 0 < seq <= MAX_SEQ:  # the usual case, checked first
        return seq
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise ProtocolError("invalid_message", "seq: must be an integer")
    if not 1 <= seq <= MAX_SEQ:
        raise ProtocolError("invalid_message", f"seq: must be within [1, {MAX_SEQ}]")
    return seq


def ping_time(message: dict[str, Any]) -> float | int:
    t = message.get("t")
    if message.keys() - PING_FIELDS:
        raise ProtocolError("invalid_message", "ping: only 'type' and 't' are allowed")
    if isinstance(t, bool) or not isinstance(t, int | float):
        raise ProtocolError("invalid_message", "t: must be a number")
    if (isinstance(t, float) and not math.isfinite(t)) or (isinstance(t, int) and abs(t) > MAX_SEQ):
        raise ProtocolError("invalid_message", "t: must be a finite number")
    return t


def encode(message: dict[str, Any]) -> bytes:
    return orjson.dumps(message)


def error(code: str, message: str, seq: int | None = None) -> bytes:
    """An `error` frame; `seq` names the input it is about (`input_dropped`)."""
    if seq is None:
        return orjson.dumps({"type": "error", "code": code, "message": message})
    return orjson.dumps({"type": "error", "code": code, "message": message, "seq": seq})


def pong(t: float | int, tick: int) -> bytes:
    return orjson.dumps({"type": "pong", "t": t, "tick": tick})


SNAPSHOT_PREFIX = b'{"type":"snapshot","ack":'


def snapshot_body(tick: int, online: list[int], view: bytes) -> bytes:
    """A snapshot's body, shared by every player who sees the same view: the server's
    `tick` and `online` (the slots whose players are connected), then the mode's encoded
    view's own fields."""
    head = b'{"tick":%d,"online":%s' % (tick, orjson.dumps(online))
    return head + b"}" if view == b"{}" else b"%s,%s" % (head, view[1:])


def snapshot_frame(ack: int, body: bytes) -> bytes:
    """Splice a player's ack into the shared, once-encoded snapshot body `{"tick":…}`."""
    return b"%s%d,%s" % (SNAPSHOT_PREFIX, ack, body[1:])
