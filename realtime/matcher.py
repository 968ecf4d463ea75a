"""The matcher: turns waiting tickets into matches, a few times a second.

The grouping rules are pure (game.matchmaking); this module only reads tickets, expires the
stale ones and writes each match atomically with its tickets, so that a ticket can never
land in two matches even if two matchers ever overlapped.

It also ends the matches nobody came to: a match still `waiting` `join_timeout` seconds
after it was made, that no pod holds (no socket of it ever reached one, or its pod died
before it started), is finished with the reason `abandoned`, so that clients polling it
and sockets arriving later learn it is over instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Mapping

import orjson

from game import matchmaking
from game.modes import AnyMode
from realtime.leader import Leadership, MemoryLeadership
from realtime.ownership import MatchDirectory
from realtime.results import no_contest
from realtime.tasks import cancel_and_wait
from skirmish.base.errors import SkirmishError
from skirmish.base.store import Store
from skirmish.base.store.records import (
    MatchPlayer,
    MatchRecord,
    SpectatorPolicy,
    TicketRecord,
    new_id,
)

log = logging.getLogger(__name__)

MAX_TICKETS_PER_PASS = 400  # per mode; the rest wait for the next pass (4 per second)
SWEEP_SECONDS = 5.0  # how often the leader looks for abandoned matches (at most)
MAX_ABANDONED_PER_SWEEP = 200  # oldest first; the rest in the next sweep


class Matcher:
    def __init__(
        self,
        store: Store,
        modes: Mapping[str, AnyMode],
        *,
        target_size: int,
        fill_timeout: float,
        ticket_ttl: float,
        interval: float,
        leadership: Leadership | None = None,
        directory: MatchDirectory | None = None,
        join_timeout: float = 120.0,
        clock: Callable[[], float] = time.time,
        spectators: SpectatorPolicy = "signed_in",
    ) -> None:
        self.store = store
        self.spectators = spectators  # who may watch the matches it makes
        self.leadership = leadership or MemoryLeadership()
        self.is_leader = False
        self.modes = modes
        self.rules = {
            name: matchmaking.QueueRules(
                target_size=max(min(target_size, mode.max_players), mode.min_players),
                min_size=mode.min_players,
                fill_timeout=fill_timeout,
                teams=mode.teams,
            )
            for name, mode in modes.items()
        }
        self.ticket_ttl = ticket_ttl
        self.interval = interval
        self.directory = directory  # None: no sweep (nothing to tell a held match by)
        self.join_timeout = join_timeout
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._next_sweep = 0.0

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        if self.is_leader:
            with contextlib.suppress(Exception):
                await self.leadership.resign()  # hand over now, not after the lease expires
            self.is_leader = False

    async def _run(self) -> None:
        """Every pod runs this; only the leader of the moment forms matches."""
        while True:
            try:
                leading = await self.leadership.acquire_or_renew()
                if leading != self.is_leader:
                    log.info("matchmaking leadership %s", "taken" if leading else "lost")
                self.is_leader = leading
                if leading:
                    await self.run_once()
                    if self.clock() >= self._next_sweep:
                        every = min(SWEEP_SECONDS, self.join_timeout / 4)
                        self._next_sweep = self.clock() + every
                        await self.abandon_unjoined()
            except Exception:  # a store hiccup must not end matchmaking for good
                log.exception("matchmaking pass failed")
            await asyncio.sleep(self.interval)

    async def run_once(self) -> list[MatchRecord]:
        """One pass: expire stale tickets, form and write matches. Returns the new matches."""
        now = self.clock()
        queues: dict[tuple[str, bytes], list[TicketRecord]] = defaultdict(list)
        for ticket in await self.store.searching_tickets():
            if now - ticket.created_at > self.ticket_ttl:
                await self._expire(ticket.id)
            else:  # one queue per mode and settings: players are matched on equal terms
                settings = orjson.dumps(ticket.settings, option=orjson.OPT_SORT_KEYS)
                queues[ticket.mode, settings].append(ticket)
        created = []
        for (mode, _), tickets in queues.items():
            if mode not in self.rules:  # e.g. queued on a pod of a newer version: wait for one
                continue
            # Oldest first, bounded: grouping is quadratic, and this runs on the event loop.
            tickets = sorted(tickets, key=lambda t: t.created_at)[:MAX_TICKETS_PER_PASS]
            pure = [
                matchmaking.Ticket(t.id, t.player_id, t.mode, t.rating, t.created_at)
                for t in tickets
            ]
            for group in matchmaking.form_matches(pure, now, self.rules[mode]):
                seated = matchmaking.seat_teams(group, self.modes[mode].teams)
                match = await self._create(mode, [t.id for t in seated], tickets, now)
                if match is not None:
                    created.append(match)
        return created

    async def abandon_unjoined(self) -> list[str]:
        """Finish the matches nobody joined in time (see the module doc); returns their ids.

        A pod that claims one between the lease check and the write finds it finished when
        its result is written (the first result stays), a window of a few milliseconds for
        a match that has waited `join_timeout` for its first socket.
        """
        if self.directory is None:
            return []
        now = self.clock()
        # Only while it still waits: someone came, or it ended otherwise, meanwhile.
        abandon = no_contest("abandoned", 0, now, ends=("waiting",))
        ended = []
        for record in await self.store.waiting_matches(
            now - self.join_timeout, MAX_ABANDONED_PER_SWEEP
        ):
            if await self.directory.holder(record.id) is not None:
                continue  # a pod has it: its start_wait decides when it starts
            with contextlib.suppress(SkirmishError):  # gone meanwhile (expired)
                updated = await self.store.update_match(record.id, abandon)
                if updated.finished_at == now and updated.result == abandon(record).result:
                    ended.append(record.id)
        if ended:
            log.info("%d matches nobody joined ended as abandoned", len(ended))
        return ended

    async def _expire(self, ticket_id: str) -> None:
        def expire(ticket: TicketRecord) -> TicketRecord:
            if ticket.status != "searching":
                return ticket
            return ticket.model_copy(update={"status": "expired"})

        with contextlib.suppress(SkirmishError):
            await self.store.update_ticket(ticket_id, expire)

    async def _create(
        self, mode: str, ticket_ids: list[str], tickets: list[TicketRecord], now: float
    ) -> MatchRecord | None:
        by_id = {t.id: t for t in tickets}
        players = []
        for slot, ticket_id in enumerate(ticket_ids):
            player_id = by_id[ticket_id].player_id
            player = await self.store.get_player(player_id)
            name = player.name if player else player_id
            players.append(MatchPlayer(player_id=player_id, name=name, slot=slot))
        match = MatchRecord(
            id=new_id("m"),
            mode=mode,
            settings=by_id[ticket_ids[0]].settings,
            seed=secrets.randbits(63),
            players=tuple(players),
            created_at=now,
            **MatchRecord.watched_by(self.spectators),
        )
        if await self.store.match_tickets(ticket_ids, match):
            log.info("match %s formed: %s", match.id, [p.name for p in players])
            return match
        return None  # a ticket was cancelled meanwhile; the rest are matched next pass
