"""The Redis store's parts: its key names, its Lua scripts and how records are encoded
(skirmish/base/store/redis.py lists every key with its lifetime)."""

from __future__ import annotations

import asyncio
import math
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from redis.typing import EncodableT

from skirmish.base.store.records import TicketRecord

PACK_INLINE_BYTES = 64 * 1024  # smaller input chunks are compressed on the event loop
TICKET_FIELDS = ("record", "status", "match_id", "player")

# A checkpoint is written only by the lease epoch that wrote the last one, or a later one;
# the inputs applied since the previous checkpoint join the match's input record with it.
# KEYS: checkpoint, its epoch, the input record. ARGV: epoch, checkpoint, ttl, inputs chunk.
SAVE_CHECKPOINT = """
local fenced = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) < fenced then
    return 0
end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if ARGV[4] ~= '' then
    redis.call('RPUSH', KEYS[3], ARGV[4])
    redis.call('EXPIRE', KEYS[3], ARGV[3])
end
return 1
"""

# KEYS: ticket, player's searching claim, searching index.
# ARGV: ticket id, record JSON, status, match_id, player id, created_at, ttl.
ADD_TICKET = """
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'EX', ARGV[7]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'record', ARGV[2], 'status', ARGV[3], 'match_id', ARGV[4],
           'player', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[7])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
return 1
"""

# KEYS: match, searching index, waiting-match index, n tickets, their n players' claims.
# ARGV: match JSON, match ttl, match id, ticket ttl, match created_at, the n ticket ids.
MATCH_TICKETS = """
local n = #ARGV - 5
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 1, n do
  if redis.call('HGET', KEYS[3 + i], 'status') ~= 'searching' then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
for i = 1, n do
  local ticket_id = ARGV[5 + i]
  redis.call('HSET', KEYS[3 + i], 'status', 'matched', 'match_id', ARGV[3])
  redis.call('EXPIRE', KEYS[3 + i], ARGV[4])
  redis.call('ZREM', KEYS[2], ticket_id)
  if redis.call('GET', KEYS[3 + n + i]) == ticket_id then redis.call('DEL', KEYS[3 + n + i]) end
end
return 1
"""


class Keys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.searching_index = f"{prefix}:tickets:searching"
        self.open_index = f"{prefix}:lobbies:open"
        self.waiting_index = f"{prefix}:matches:waiting"

    def player(self, player_id: str) -> str:
        return f"{self.prefix}:player:{player_id}"

    def ticket(self, ticket_id: str) -> str:
        return f"{self.prefix}:ticket:{ticket_id}"

    def searching(self, player_id: str) -> str:
        return f"{self.prefix}:searching:{player_id}"

    def lobby(self, lobby_id: str) -> str:
        return f"{self.prefix}:lobby:{lobby_id}"

    def in_lobby(self, player_id: str) -> str:
        return f"{self.prefix}:in-lobby:{player_id}"

    def lobby_code(self, code: str) -> str:
        return f"{self.prefix}:lobby-code:{code}"

    def match(self, match_id: str) -> str:
        return f"{self.prefix}:match:{match_id}"

    def ratings(self, mode: str) -> str:
        return f"{self.prefix}:ratings:{mode}"

    def replay(self, match_id: str) -> str:
        return f"{self.prefix}:replay:{match_id}"

    def checkpoint(self, match_id: str) -> str:
        return f"{self.prefix}:checkpoint:{match_id}"

    def checkpoint_epoch(self, match_id: str) -> str:
        return f"{self.prefix}:checkpoint-epoch:{match_id}"

    def inputs(self, match_id: str) -> str:
        return f"{self.prefix}:inputs:{match_id}"


async def packed(inputs: Sequence[list[Any]]) -> bytes:
    """A chunk of the input record: JSON, compressed (inputs repeat: about a tenth of the
    size), off the event loop when large (zlib lets go of the GIL)."""
    raw = orjson.dumps(list(inputs))
    if len(raw) < PACK_INLINE_BYTES:
        return zlib.compress(raw, 1)
    return await asyncio.to_thread(zlib.compress, raw, 1)


def unpacked(chunks: Iterable[bytes]) -> list[list[Any]]:
    """The input record's entries, from its chunks in order."""
    return [entry for chunk in chunks for entry in orjson.loads(zlib.decompress(chunk))]


def seconds(ttl: float) -> int:
    return max(1, math.ceil(ttl))


def ticket_fields(ticket: TicketRecord) -> dict[EncodableT, EncodableT]:
    return {
        "record": ticket.model_dump_json(exclude={"status", "match_id"}),
        "status": ticket.status,
        "match_id": ticket.match_id or "",
        "player": ticket.player_id,
    }


def ticket_from(fields: Sequence[Any]) -> TicketRecord | None:
    """From HMGET of TICKET_FIELDS (bytes, or None for a missing ticket)."""
    record, status, match_id, _player = fields
    if record is None or status is None:
        return None
    data = orjson.loads(record)
    data.update(status=status.decode(), match_id=(match_id or b"").decode() or None)
    return TicketRecord.model_validate(data)


def decoded(members: Iterable[Any]) -> list[str]:
    return [member.decode() for member in members]


def text(value: bytes | str) -> str:
    """A Redis reply as text (the client answers bytes unless told to decode)."""
    return value.decode() if isinstance(value, bytes) else value
