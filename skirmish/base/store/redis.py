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
    P:lobby-code:{code}           string: the open private lobby     as its lobby, renewed
                                  holding this join code              with it; deleted when
                                                                      it stops being open
    P:match:{match_id}            string, MatchRecord JSON           1 day while waiting or
                                                                      running, 7 days finished
    P:matches:waiting             sorted set match_id → created_at   entries leave when the
                                                                      match stops waiting;
                                                                      readers prune the rest
    P:ratings:{mode}              hash player_id → rating            persistent
    P:replay:{match_id}           string, replay header JSON         the replay retention
    P:inputs:{match_id}           list of zlib'd JSON input chunks   1 day; retention once over
    P:checkpoint:{match_id}       string, checkpoint JSON            1 day; dropped at the end
    P:checkpoint-epoch:{match_id} string, lease epoch of its writer  as P:checkpoint

A ticket keeps `status` and `match_id` in hash fields of their own because the matching
script must change them, and Redis's cjson re-encodes numbers with 14 significant digits,
which would corrupt `created_at` and `rating` if the script rewrote the JSON.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError
from redis.typing import EncodableT

from skirmish.base.errors import AlreadyInLobby, CodeTaken, Conflict, NotFound
from skirmish.base.store.protocols import Mutation, RatingChange, finishes, revised
from skirmish.base.store.records import LobbyRecord, MatchRecord, PlayerRecord, TicketRecord
from skirmish.base.store.redis_parts import (
    ADD_TICKET,
    MATCH_TICKETS,
    SAVE_CHECKPOINT,
    TICKET_FIELDS,
    Keys,
    decoded,
    packed,
    seconds,
    text,
    ticket_fields,
    ticket_from,
    unpacked,
)
from skirmish.base.store.ttl import ACTIVE_MATCH_TTL, FINISHED_MATCH_TTL, PLAYER_TTL, match_ttl

T = TypeVar("T")

# Enough for every writer of a busy lobby to get its turn (a WATCH fails only because
# another write succeeded), bounded so that a pathological hot key ends in a 409, not a hang.
MAX_ATTEMPTS = 32


class RedisStore:
    def __init__(
        self,
        url: str,
        prefix: str = "skirmish",
        *,
        ticket_ttl: float = 3600.0,
        lobby_ttl: float = 3600.0,
        player_ttl: float = PLAYER_TTL,
        replay_ttl: float = FINISHED_MATCH_TTL,
    ) -> None:
        self._redis: Redis = Redis.from_url(url, decode_responses=False)
        self._replay_ttl = seconds(replay_ttl)
        self._keys = Keys(prefix)
        self._ticket_ttl = seconds(ticket_ttl)
        self._lobby_ttl = seconds(lobby_ttl)
        self._player_ttl = seconds(player_ttl)
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
        fields = ticket_fields(ticket)
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
        return ticket_from(await self._redis.hmget(self._keys.ticket(ticket_id), TICKET_FIELDS))

    async def update_ticket(self, ticket_id: str, change: Mutation[TicketRecord]) -> TicketRecord:
        key = self._keys.ticket(ticket_id)

        async def attempt(pipe: Pipeline) -> TicketRecord:
            current = ticket_from(await pipe.hmget(key, TICKET_FIELDS))
            if current is None:
                raise NotFound(f"ticket {ticket_id} not found")
            claim = self._keys.searching(current.player_id)
            await pipe.watch(claim)
            holds_claim = await pipe.get(claim) == ticket_id.encode()
            updated = change(current)
            pipe.multi()
            pipe.hset(key, mapping=ticket_fields(updated))
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
        ids = decoded(await self._redis.zrange(index, 0, -1))
        async with self._redis.pipeline(transaction=False) as pipe:
            for ticket_id in ids:
                pipe.hmget(self._keys.ticket(ticket_id), TICKET_FIELDS)
            rows = await pipe.execute()
        tickets = [ticket_from(row) for row in rows]
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

    def _queue_lobby(
        self, pipe: Pipeline, lobby: LobbyRecord, before: LobbyRecord | None, holds_code: bool
    ) -> None:
        """The lobby, its place in the open index, its members' claims and its code (when
        it holds it), in one MULTI."""
        pipe.set(self._keys.lobby(lobby.id), lobby.model_dump_json(), ex=self._lobby_ttl)
        if lobby.code is not None and holds_code:
            if lobby.status == "open":
                pipe.set(self._keys.lobby_code(lobby.code), lobby.id, ex=self._lobby_ttl)
            else:  # free for another lobby
                pipe.delete(self._keys.lobby_code(lobby.code))
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
            if claim is None or text(claim) == lobby_id:
                continue
            other = await self.get_lobby(text(claim))
            if other is not None and player_id in other.gathering:
                raise AlreadyInLobby(f"player {player_id} is in lobby {other.id}; leave it first")

    async def _code_holder(self, pipe: Pipeline, lobby: LobbyRecord) -> str | None:
        """WATCH a private lobby's code and say which lobby holds it (None: nobody)."""
        if lobby.code is None:
            return None
        key = self._keys.lobby_code(lobby.code)
        await pipe.watch(key)
        holder = await pipe.get(key)
        return None if holder is None else text(holder)

    async def add_lobby(self, lobby: LobbyRecord) -> None:
        async def attempt(pipe: Pipeline) -> None:
            await self._require_elsewhere_free(pipe, lobby.gathering, lobby.id)
            if lobby.status == "open" and await self._code_holder(pipe, lobby) is not None:
                raise CodeTaken(f"code {lobby.code} is held by another open lobby")
            pipe.multi()
            self._queue_lobby(pipe, lobby, None, holds_code=lobby.status == "open")
            await pipe.execute()

        await self._transact([self._keys.lobby(lobby.id)], attempt, f"lobby {lobby.id}")

    async def get_lobby(self, lobby_id: str) -> LobbyRecord | None:
        raw = await self._redis.get(self._keys.lobby(lobby_id))
        return None if raw is None else LobbyRecord.model_validate_json(raw)

    async def open_lobbies(self) -> list[LobbyRecord]:
        index = self._keys.open_index
        ids = decoded(await self._redis.zrange(index, 0, -1))
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
            updated = revised(current, change(current))
            await self._require_elsewhere_free(
                pipe, updated.gathering - current.gathering, lobby_id
            )
            holds_code = await self._code_holder(pipe, current) == lobby_id
            pipe.multi()
            self._queue_lobby(pipe, updated, current, holds_code)
            await pipe.execute()
            return updated

        return await self._transact([key], attempt, f"lobby {lobby_id}")

    async def lobby_by_code(self, code: str) -> LobbyRecord | None:
        holder = await self._redis.get(self._keys.lobby_code(code))
        lobby = None if holder is None else await self.get_lobby(text(holder))
        if lobby is None or lobby.status != "open" or lobby.code != code:
            return None
        return lobby

    # -- matches ---------------------------------------------------------------------------

    async def add_match(self, match: MatchRecord) -> None:
        key = self._keys.match(match.id)
        if not await self._redis.set(key, match.model_dump_json(), nx=True, ex=match_ttl(match)):
            raise Conflict(f"match {match.id} exists")
        if match.status == "waiting":  # a crash in between leaves it unswept, never wrong
            await self._redis.zadd(self._keys.waiting_index, {match.id: match.created_at})

    async def waiting_matches(self, created_before: float, limit: int) -> list[MatchRecord]:
        index = self._keys.waiting_index
        ids = decoded(await self._redis.zrangebyscore(index, "-inf", created_before, 0, limit))
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

    async def save_checkpoint(
        self,
        match_id: str,
        checkpoint: dict[str, Any],
        epoch: int,
        inputs: Sequence[list[Any]] = (),
    ) -> bool:
        keys = [
            self._keys.checkpoint(match_id),
            self._keys.checkpoint_epoch(match_id),
            self._keys.inputs(match_id),
        ]
        chunk = await packed(inputs) if inputs else b""
        args: list[EncodableT] = [epoch, orjson.dumps(checkpoint), ACTIVE_MATCH_TTL, chunk]
        return bool(await self._save_checkpoint(keys=keys, args=args))

    async def get_checkpoint(self, match_id: str) -> dict[str, Any] | None:
        raw = await self._redis.get(self._keys.checkpoint(match_id))
        return None if raw is None else dict(orjson.loads(raw))

    async def drop_checkpoint(self, match_id: str) -> None:
        await self._redis.delete(
            self._keys.checkpoint(match_id), self._keys.checkpoint_epoch(match_id)
        )

    # -- replays ---------------------------------------------------------------------------

    async def save_replay(
        self, match_id: str, replay: dict[str, Any], inputs: Sequence[list[Any]] = ()
    ) -> None:
        """The replay's header, and the rest of its input record, kept for the retention."""
        record, ttl = self._keys.inputs(match_id), self._replay_ttl
        async with self._redis.pipeline(transaction=True) as pipe:
            if inputs:
                pipe.rpush(record, await packed(inputs))
            pipe.expire(record, ttl)
            pipe.set(self._keys.replay(match_id), orjson.dumps(replay), ex=ttl)
            await pipe.execute()

    async def has_replay(self, match_id: str) -> bool:
        return bool(await self._redis.exists(self._keys.replay(match_id)))

    async def get_replay(self, match_id: str) -> dict[str, Any] | None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(self._keys.replay(match_id))
            pipe.lrange(self._keys.inputs(match_id), 0, -1)
            raw, chunks = await pipe.execute()
        if raw is None:
            return None
        replay: dict[str, Any] = orjson.loads(raw)
        replay["inputs"] = unpacked(chunks)
        return replay

    async def drop_inputs(self, match_id: str) -> None:
        await self._redis.delete(self._keys.inputs(match_id))

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
