"""Finding a match for a socket: claim it (its first socket reached this pod), restore it
from its last checkpoint, or follow the pod that owns it through the relay.

Concurrent sockets of one match share one load: the second waits for the first's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from game.modes import AnyMode
from realtime.hosted_match import HostedMatch, StepBudget
from realtime.lease_keeper import LeaseKeeper
from realtime.owned_matches import OwnedMatches
from realtime.ownership import Lease
from realtime.relay_edge import EdgeSide, RemoteMatch
from realtime.results import no_contest
from skirmish.base import mode_settings
from skirmish.base.errors import NotFound, SkirmishError
from skirmish.base.mode_settings import InvalidSettings
from skirmish.base.store import Store
from skirmish.base.store.records import MatchRecord

log = logging.getLogger(__name__)

Match = HostedMatch | RemoteMatch


class MatchOver(SkirmishError):
    status, code = 410, "match_over"


class Draining(SkirmishError):
    status, code = 503, "server_restarting"


class TryLater(SkirmishError):
    """Nothing to serve yet, or no room for it now: the client tries again shortly."""

    status, code = 503, "try_later"


@dataclass(kw_only=True)
class MatchClaims:
    store: Store
    modes: Mapping[str, AnyMode]
    matches: OwnedMatches
    keeper: LeaseKeeper
    edge: EdgeSide
    pod: str
    start_wait: float
    record_replays: bool
    clock: Callable[[], float]
    wall_clock: Callable[[], float]
    step_budget: float | None = None  # seconds; None: a quarter of each mode's tick
    draining: bool = False  # once set, this pod takes no new match
    _loading: dict[str, asyncio.Future[Match]] = field(default_factory=dict, init=False)

    async def find(self, match_id: str) -> Match:
        match: Match | None = self.matches.get(match_id) or self.edge.remote.get(match_id)
        if match is not None:
            return match
        loading = self._loading.get(match_id)
        if loading is not None:  # another socket of this match is loading it right now
            return await asyncio.shield(loading)
        future: asyncio.Future[Match] = asyncio.get_running_loop().create_future()
        self._loading[match_id] = future
        try:
            match = await self._load(match_id)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # mark it retrieved: nobody else may be waiting
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._loading[match_id]
        future.set_result(match)
        return match

    async def _load(self, match_id: str) -> Match:
        record = await self.store.get_match(match_id)
        if record is None:
            raise NotFound(f"match {match_id} not found")
        if record.status == "finished":
            raise MatchOver("the match is over; its result is at /v1/matches/" + match_id)
        if self.draining:
            raise Draining("this server is restarting; reconnect")
        mode = self.mode_of(record)
        channel = self.edge.relay.channel
        lease = await self.keeper.directory.claim(match_id, self.pod, channel)
        if lease.pod == self.pod and lease.channel == channel:
            return await self._host(record, mode, lease)
        if not self.edge.relay.enabled:
            raise SkirmishError(f"match {match_id} is owned by pod {lease.pod}")
        return self.edge.follow(record, mode, lease)

    def mode_of(self, record: MatchRecord) -> AnyMode:
        """The mode a match plays, configured with its settings; NotFound if this pod
        cannot play it."""
        mode = self.modes.get(record.mode)
        if mode is None:  # a pod of another version created it
            raise NotFound(f"mode {record.mode!r} is not played on this server")
        try:
            return mode_settings.configured(mode, mode_settings.resolve(mode, record.settings))
        except InvalidSettings as exc:  # chosen on a pod whose mode takes other settings
            raise NotFound(f"match {record.id} cannot be played on this server: {exc}") from exc

    async def _host(self, record: MatchRecord, mode: AnyMode, lease: Lease) -> HostedMatch:
        # The claim may hand back a lease of ours that this pod let go unrenewed (Redis
        # was unreachable a while): renew it, so that it runs at least as long as the
        # deadline set below from this moment, however slow what follows.
        claimed_at = self.clock()
        if await self.keeper.directory.renew([lease]):
            raise Draining("the match moved; reconnect")
        budget = StepBudget.for_rate(mode.tick_rate, self.step_budget)
        starts_by = self.clock() + self.start_wait
        hosted = HostedMatch(record, mode, starts_by, self.clock, self.record_replays, budget)
        checkpoint = await self.store.get_checkpoint(record.id)
        if checkpoint is not None and checkpoint.get("status") != "finished":
            if checkpoint.get("mode_version", 1) != mode.version:
                await self._end_stale(record, checkpoint, lease)
            await self._resume(hosted, checkpoint, lease)
        self.matches.add(hosted, lease, self.keeper.deadline_from(claimed_at))
        return hosted

    async def _end_stale(
        self, record: MatchRecord, checkpoint: dict[str, Any], lease: Lease
    ) -> NoReturn:
        """A checkpoint of another version of the mode (a rolling deploy changed it): it is
        never restored; the match ends as no contest."""
        version = checkpoint.get("mode_version", 1)
        log.warning(
            "match %s: its checkpoint is of %s version %s, this pod plays another; "
            "it ends as no contest", record.id, record.mode, version,
        )  # fmt: skip
        tick = int(checkpoint.get("tick", 0))
        finish = no_contest("no_contest", tick, self.wall_clock(), ends=("waiting", "running"))
        await self.store.update_match(record.id, finish)
        await self.store.drop_checkpoint(record.id)
        with contextlib.suppress(Exception):
            await self.keeper.directory.release(lease)
        raise MatchOver("the match ended: the server's version of its mode changed")

    async def _resume(self, hosted: HostedMatch, checkpoint: dict[str, Any], lease: Lease) -> None:
        """Its last owner drained or died: carry on from its checkpoint."""
        hosted.restore(checkpoint)
        log.info("match %s resumed from its checkpoint at tick %d", hosted.id, hosted.tick)
        # At once, under our epoch: the pod that wrote it may only be paused, and from now
        # on its late checkpoints are refused (a later owner's never are).
        if not await self.keeper.save(hosted, lease.epoch):
            # A later owner saved one already: our claim went stale meanwhile.
            with contextlib.suppress(Exception):
                await self.keeper.directory.release(lease)
            raise Draining("the match moved; reconnect")
