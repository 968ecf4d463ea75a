"""The shared store: Redis, for several pods. Behaves exactly like `MemoryStore`.

Every read-modify-write is atomic across processes: `update_*` runs the pure `change` under
WATCH/MULTI/EXEC and retries when another writer got in first; the multi-key writes that
must not be split (one searching ticket per player, all-or-nothing matching) are Lua
scripts, which Redis runs without interleaving.

Keys (`P` is the prefix, default "skirmish"), and how long they live:

    P:player:{player_id}          string, PlayerRecord JSON         player_ttl (the guest's
                                                                      token lifetime and one
                                                                      ticket's, ~1 day)
    P:ticket:{ticket_id}          hash: record (TicketRecord JSON   ticket_ttl (1 h), renewed
                                  without status/match_id), status,  on every write
                                  match_id ("" = none), player
    P:searching:{player_id}       string: the player's searching     as its ticket; deleted
                                  ticket id (the uniqueness claim)    when the ticket leaves
                                                                      "searching"
    P:tickets:searching           sorted set ticket_id → created_at  while non-empty; entries
                                                                      whose ticket expired are
                                                                      pruned by readers
    P:lobby:{lobby_id}            string, LobbyRecord JSON           lobby_ttl (1 h), renewed
                                                                      on every write
    P:lobbies:open                sorted set lobby_id → created_at   as P:tickets:searching
    P:in-lobby:{player_id}        string: the open lobby the player  as its lobby, renewed
                                  is in (one at a time)               with it; deleted when
                                                                      the player leaves it
    P:match:{match_id}            string, MatchRecord JSON           1 day while waiting or
                                                                      running, 7 days finished
    P:matches:waiting             sorted set match_id → created_at   entries leave when the
                                                                      match stops waiting;
                                                                      readers prune the rest
    P:ratings:{mode}              hash player_id → rating            persistent
    P:replay:{match_id}           string, replay JSON (opt-in)       7 days
    P:checkpoint:{match_id}       string, checkpoint JSON            1 day; dropped at the end
    P:checkpoint-epoch:{match_id} string, lease epoch of its writer  as P:checkpoint

A ticket keeps `status` and `match_id` in hash fields of their own because the matching
script must change them, and Redis's cjson re-encodes numbers with 14 significant digits,
which would corrupt `created_at` and `rating` if the script rewrote the JSON.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError
from redis.typing import EncodableT

from skirmish.base.errors import AlreadyInLobby, Conflict, NotFound
from skirmish.base.store.protocols import Mutation, RatingChange, finishes
from skirmish.base.store.records import LobbyRecord, MatchRecord, PlayerRecord, TicketRecord
from skirmish.base.store.ttl import ACTIVE_MATCH_TTL, FINISHED_MATCH_TTL, PLAYER_TTL, match_ttl

T = TypeVar("T")

# Enough for every writer of a busy lobby to get its turn (a WATCH fails only because
# another write succeeded), bounded so that a pathological hot key ends in a 409, not a hang.
MAX_ATTEMPTS = 32
TICKET_FIELDS = ("record", "status", "match_id", "player")

# KEYS: ticket, player's searching claim, searching index.
# ARGV: ticket id, record JSON, status, match_id, player id, created_at, ttl.
# A checkpoint is written only by the lease epoch that wrote the last one, or a later one.
SAVE_CHECKPOINT = """
local fenced = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) < fenced then
    return 0
end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""

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


class _Keys:
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


def _seconds(ttl: float) -> int:
    return max(1, math.ceil(ttl))


def _ticket_fields(ticket: TicketRecord) -> dict[EncodableT, EncodableT]:
    return {
        "record": ticket.model_dump_json(exclude={"status", "match_id"}),
        "status": ticket.status,
        "match_id": ticket.match_id or "",
        "player": ticket.player_id,
    }


def _ticket_from(fields: Sequence[Any]) -> TicketRecord | None:
    """From HMGET of TICKET_FIELDS (bytes, or None for a missing ticket)."""
    record, status, match_id, _player = fields
    if record is None or status is None:
        return None
    data = orjson.loads(record)
    data.update(status=status.decode(), match_id=(match_id or b"").decode() or None)
    return TicketRecord.model_validate(data)


def _decoded(members: Iterable[Any]) -> list[str]:
    return [member.decode() for member in members]


class RedisStore:
    def __init__(
        self,
        url: str,
        prefix: str = "skirmish",
        *,
        ticket_ttl: float = 3600.0,
        lobby_ttl: float = 3600.0,
        player_ttl: float = PLAYER_TTL,
    ) -> None:
        self._redis: Redis = Redis.from_url(url, decode_responses=False)
        self._keys = _Keys(prefix)
        self._ticket_ttl = _seconds(ticket_ttl)
        self._lobby_ttl = _seconds(lobby_ttl)
        self._player_ttl = _seconds(player_ttl)
        self._add_ticket = self._redis.register_script(ADD_TICKET)
        self._match_tickets = self._redis.register_script(MATCH_TICKETS)
        self._save_checkpoint = self._redis.register_script(SAVE_CHECKPOINT)

    async def close(self) -> None:
        await self._redis.aclose()

    # -- the optimistic transaction --------------------------------------------------------

    async def _transact(
        self, keys: list[str], attempt: Callable[[Pipeline], Awaitable[T]], what: str
    ) -> T:
        """WATCH `keys`, then `attempt` reads, decides and EXECs; again if someone else wrote.

        `attempt` may WATCH more keys before its MULTI; any error it raises (NotFound, or a
        SkirmishError from the change) leaves everything as it was.
        """
        async with self._redis.pipeline(transaction=True) as pipe:
            for tries in range(1, MAX_ATTEMPTS + 1):
                await pipe.watch(*keys)
                try:
                    return await attempt(pipe)
                except WatchError:
                    # Jitter, so that the writers that lost do not collide again in lockstep.
                    await asyncio.sleep(random.random() * 0.001 * min(tries, 10))
        raise Conflict(f"{what} is being changed by too many at once; try again")

    # -- players ---------------------------------------------------------------------------

    async def add_player(self, player: PlayerRecord) -> None:
        key, record = self._keys.player(player.id), player.model_dump_json()
        await self._redis.set(key, record, ex=self._player_ttl)

    async def get_player(self, player_id: str) -> PlayerRecord | None:
        raw = await self._redis.get(self._keys.player(player_id))
        return None if raw is None else PlayerRecord.model_validate_json(raw)

    # -- tickets ---------------------------------------------------------------------------

    async def add_ticket(self, ticket: TicketRecord) -> None:
        fields = _ticket_fields(ticket)
        added = await self._add_ticket(
            keys=[
                self._keys.ticket(ticket.id),
                self._keys.searching(ticket.player_id),
                self._keys.searching_index,
            ],
            args=[
                ticket.id,
                fields["record"],
                fields["status"],
                fields["match_id"],
                ticket.player_id,
                repr(ticket.created_at),
                self._ticket_ttl,
            ],
        )
        if not added:
            raise Conflict("player already has a searching ticket")

    async def get_ticket(self, ticket_id: str) -> TicketRecord | None:
        return _ticket_from(await self._redis.hmget(self._keys.ticket(ticket_id), TICKET_FIELDS))

    async def update_ticket(self, ticket_id: str, change: Mutation[TicketRecord]) -> TicketRecord:
        key = self._keys.ticket(ticket_id)

        async def attempt(pipe: Pipeline) -> TicketRecord:
            current = _ticket_from(await pipe.hmget(key, TICKET_FIELDS))
            if current is None:
                raise NotFound(f"ticket {ticket_id} not found")
            claim = self._keys.searching(current.player_id)
            await pipe.watch(claim)
            holds_claim = await pipe.get(claim) == ticket_id.encode()
            updated = change(current)
            pipe.multi()
            pipe.hset(key, mapping=_ticket_fields(updated))
            pipe.expire(key, self._ticket_ttl)
            if updated.status != "searching":
                pipe.zrem(self._keys.searching_index, ticket_id)
            if holds_claim:  # only this ticket's own claim: never a newer ticket's
                if updated.status == "searching":
                    pipe.expire(claim, self._ticket_ttl)
                else:
                    pipe.delete(claim)
            await pipe.execute()
            return updated

        return await self._transact([key], attempt, f"ticket {ticket_id}")

    async def searching_tickets(self) -> list[TicketRecord]:
        index = self._keys.searching_index
        ids = _decoded(await self._redis.zrange(index, 0, -1))
        async with self._redis.pipeline(transaction=False) as pipe:
            for ticket_id in ids:
                pipe.hmget(self._keys.ticket(ticket_id), TICKET_FIELDS)
            rows = await pipe.execute()
        tickets = [_ticket_from(row) for row in rows]
        await self._prune(index, [i for i, t in zip(ids, tickets, strict=True) if t is None])
        # Read after the index: one may have been matched or cancelled in between.
        return [t for t in tickets if t is not None and t.status == "searching"]

    async def _prune(self, index: str, gone: list[str]) -> None:
        """Drop index entries whose record expired (the index itself has no TTL)."""
        if gone:
            await self._redis.zrem(index, *gone)

    async def match_tickets(self, ticket_ids: Iterable[str], match: MatchRecord) -> bool:
        ids = list(ticket_ids)
        # The script must be told every key it touches, so look up whose tickets these are
        # (a ticket's player never changes). The script re-checks everything else.
        async with self._redis.pipeline(transaction=False) as pipe:
            for ticket_id in ids:
                pipe.hget(self._keys.ticket(ticket_id), "player")
            players: list[bytes | None] = await pipe.execute()
        if any(p is None for p in players):
            return False
        claims = [self._keys.searching(p.decode()) for p in players if p is not None]
        matched = await self._match_tickets(
            keys=[
                self._keys.match(match.id),
                self._keys.searching_index,
                self._keys.waiting_index,
                *(self._keys.ticket(t) for t in ids),
                *claims,
            ],
            args=[
                match.model_dump_json(),
                match_ttl(match),
                match.id,
                self._ticket_ttl,
                repr(match.created_at),
                *ids,
            ],
        )
        return bool(matched)

    # -- lobbies ---------------------------------------------------------------------------

    def _queue_lobby(self, pipe: Pipeline, lobby: LobbyRecord, before: LobbyRecord | None) -> None:
        """The lobby, its place in the open index and its members' claims, in one MULTI."""
        pipe.set(self._keys.lobby(lobby.id), lobby.model_dump_json(), ex=self._lobby_ttl)
        if lobby.status == "open":
            pipe.zadd(self._keys.open_index, {lobby.id: lobby.created_at})
        else:
            pipe.zrem(self._keys.open_index, lobby.id)
        for player_id in lobby.gathering:
            pipe.set(self._keys.in_lobby(player_id), lobby.id, ex=self._lobby_ttl)
        gone = (before.gathering if before else frozenset()) - lobby.gathering
        if gone:  # (a player's claim only ever names the one open lobby they are in)
            pipe.delete(*(self._keys.in_lobby(player_id) for player_id in gone))

    async def _require_elsewhere_free(
        self, pipe: Pipeline, players: frozenset[str], lobby_id: str
    ) -> None:
        """WATCH the arriving players' claims, and refuse any who is in another open lobby."""
        if not players:
            return
        ordered = sorted(players)
        keys = [self._keys.in_lobby(player_id) for player_id in ordered]
        await pipe.watch(*keys)
        claims = await pipe.mget(keys)
        for player_id, claim in zip(ordered, claims, strict=True):
            if claim is None or _text(claim) == lobby_id:
                continue
            other = await self.get_lobby(_text(claim))
            if other is not None and player_id in other.gathering:
                raise AlreadyInLobby(f"player {player_id} is in lobby {other.id}; leave it first")

    async def add_lobby(self, lobby: LobbyRecord) -> None:
        async def attempt(pipe: Pipeline) -> None:
            await self._require_elsewhere_free(pipe, lobby.gathering, lobby.id)
            pipe.multi()
            self._queue_lobby(pipe, lobby, None)
            await pipe.execute()

        await self._transact([self._keys.lobby(lobby.id)], attempt, f"lobby {lobby.id}")

    async def get_lobby(self, lobby_id: str) -> LobbyRecord | None:
        raw = await self._redis.get(self._keys.lobby(lobby_id))
        return None if raw is None else LobbyRecord.model_validate_json(raw)

    async def open_lobbies(self) -> list[LobbyRecord]:
        index = self._keys.open_index
        ids = _decoded(await self._redis.zrange(index, 0, -1))
        if not ids:
            return []
        rows = await self._redis.mget([self._keys.lobby(i) for i in ids])
        await self._prune(index, [i for i, raw in zip(ids, rows, strict=True) if raw is None])
        lobbies = [LobbyRecord.model_validate_json(raw) for raw in rows if raw is not None]
        # Read after the index: one may have started or closed in between.
        return [lobby for lobby in lobbies if lobby.status == "open"]

    async def update_lobby(self, lobby_id: str, change: Mutation[LobbyRecord]) -> LobbyRecord:
        key = self._keys.lobby(lobby_id)

        async def attempt(pipe: Pipeline) -> LobbyRecord:
            raw = await pipe.get(key)
            if raw is None:
                raise NotFound(f"lobby {lobby_id} not found")
            current = LobbyRecord.model_validate_json(raw)
            updated = change(current)
            await self._require_elsewhere_free(
                pipe, updated.gathering - current.gathering, lobby_id
            )
            pipe.multi()
            self._queue_lobby(pipe, updated, current)
            await pipe.execute()
            return updated

        return await self._transact([key], attempt, f"lobby {lobby_id}")

    # -- matches ---------------------------------------------------------------------------

    async def add_match(self, match: MatchRecord) -> None:
        key = self._keys.match(match.id)
        if not await self._redis.set(key, match.model_dump_json(), nx=True, ex=match_ttl(match)):
            raise Conflict(f"match {match.id} exists")
        if match.status == "waiting":  # a crash in between leaves it unswept, never wrong
            await self._redis.zadd(self._keys.waiting_index, {match.id: match.created_at})

    async def waiting_matches(self, created_before: float, limit: int) -> list[MatchRecord]:
        index = self._keys.waiting_index
        ids = _decoded(await self._redis.zrangebyscore(index, "-inf", created_before, 0, limit))
        if not ids:
            return []
        rows = await self._redis.mget([self._keys.match(i) for i in ids])
        matches = [None if raw is None else MatchRecord.model_validate_json(raw) for raw in rows]
        waiting = [m for m in matches if m is not None and m.status == "waiting"]
        # Read after the index: entries whose match expired or moved on are dropped.
        gone = [i for i, m in zip(ids, matches, strict=True) if m is None or m.status != "waiting"]
        await self._prune(index, gone)
        return waiting

    async def get_match(self, match_id: str) -> MatchRecord | None:
        raw = await self._redis.get(self._keys.match(match_id))
        return None if raw is None else MatchRecord.model_validate_json(raw)

    async def update_match(self, match_id: str, change: Mutation[MatchRecord]) -> MatchRecord:
        return await self._write_match(match_id, change, None)

    async def finish_match(
        self, match_id: str, change: Mutation[MatchRecord], ratings: RatingChange
    ) -> MatchRecord:
        return await self._write_match(match_id, change, ratings)

    async def _write_match(
        self, match_id: str, change: Mutation[MatchRecord], ratings: RatingChange | None
    ) -> MatchRecord:
        key = self._keys.match(match_id)

        async def attempt(pipe: Pipeline) -> MatchRecord:
            raw = await pipe.get(key)
            if raw is None:
                raise NotFound(f"match {match_id} not found")
            before = MatchRecord.model_validate_json(raw)
            updated = change(before)
            pipe.multi()
            pipe.set(key, updated.model_dump_json(), ex=match_ttl(updated))
            if updated.status != "waiting":
                pipe.zrem(self._keys.waiting_index, match_id)
            if ratings is not None and finishes(before, updated):  # in the same EXEC
                ratings_key = self._keys.ratings(ratings.mode)
                for player_id, delta in ratings.deltas.items():
                    pipe.hsetnx(ratings_key, player_id, ratings.start)  # a first match
                    pipe.hincrbyfloat(ratings_key, player_id, delta)
            await pipe.execute()
            return updated

        return await self._transact([key], attempt, f"match {match_id}")

    # -- checkpoints -----------------------------------------------------------------------

    async def save_checkpoint(self, match_id: str, checkpoint: dict[str, Any], epoch: int) -> bool:
        keys = [self._keys.checkpoint(match_id), self._keys.checkpoint_epoch(match_id)]
        args: list[EncodableT] = [epoch, orjson.dumps(checkpoint), ACTIVE_MATCH_TTL]
        return bool(await self._save_checkpoint(keys=keys, args=args))

    async def get_checkpoint(self, match_id: str) -> dict[str, Any] | None:
        raw = await self._redis.get(self._keys.checkpoint(match_id))
        return None if raw is None else dict(orjson.loads(raw))

    async def drop_checkpoint(self, match_id: str) -> None:
        await self._redis.delete(
            self._keys.checkpoint(match_id), self._keys.checkpoint_epoch(match_id)
        )

    # -- replays ---------------------------------------------------------------------------

    async def save_replay(self, match_id: str, replay: dict[str, Any]) -> None:
        await self._redis.set(
            self._keys.replay(match_id), orjson.dumps(replay), ex=FINISHED_MATCH_TTL
        )

    async def get_replay(self, match_id: str) -> dict[str, Any] | None:
        raw = await self._redis.get(self._keys.replay(match_id))
        return None if raw is None else dict(orjson.loads(raw))

    # -- ratings ---------------------------------------------------------------------------

    async def get_ratings(self, mode: str, player_ids: Iterable[str]) -> dict[str, float]:
        ids = list(player_ids)
        if not ids:
            return {}
        values: list[Any] = await self._redis.hmget(self._keys.ratings(mode), ids)
        return {p: float(v) for p, v in zip(ids, values, strict=True) if v is not None}

    async def set_ratings(self, mode: str, ratings: Mapping[str, float]) -> None:
        if ratings:
            # redis-py sends floats as repr(): they come back bit for bit.
            values: dict[EncodableT, EncodableT] = {p: r for p, r in ratings.items()}
            await self._redis.hset(self._keys.ratings(mode), mapping=values)


def _text(value: bytes | str) -> str:
    """A Redis reply as text (the client answers bytes unless told to decode)."""
    return value.decode() if isinstance(value, bytes) else value
