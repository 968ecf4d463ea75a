"""Keeping what the pod owns: lease renewals and checkpoints of its matches.

A lease is renewed well inside its TTL, on its own loop (nothing slower may delay it); each
renewal moves the match's deadline, past which the pod stops playing it unrenewed. Every
few seconds a running match is checkpointed under its lease's epoch, so a pod that dies
loses at most the play since; a refused checkpoint means a later owner has the match.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from realtime.hosted_match import HostedMatch
from realtime.owned_matches import OwnedMatch, OwnedMatches
from realtime.ownership import MatchDirectory
from skirmish.base.store import Store

log = logging.getLogger(__name__)

DEADLINE_SHARE = 0.9  # play a lease for this share of its TTL: stop before anyone may start

Drop = Callable[[HostedMatch], None]


@dataclass
class LeaseKeeper:
    matches: OwnedMatches
    directory: MatchDirectory
    store: Store
    ttl: float
    clock: Callable[[], float]
    drop: Drop  # stop hosting a match that another pod has (or may have) now

    def deadline_from(self, renewed_at: float) -> float:
        return renewed_at + self.ttl * DEADLINE_SHARE

    def expired(self, owned: OwnedMatch) -> bool:
        return self.clock() > owned.deadline

    async def renew(self) -> None:
        owned = self.matches.snapshot()
        renewed_at = self.clock()
        lost = await self.directory.renew([o.lease for o in owned])
        for entry in owned:
            if entry.lease not in lost:
                entry.deadline = self.deadline_from(renewed_at)
            elif self.matches.holds(entry):  # not released or replaced meanwhile
                # Fenced: another pod has it now; our players go there.
                log.warning("lost the lease of match %s; handing its players over", entry.hosted.id)
                self.drop(entry.hosted)

    async def save(self, hosted: HostedMatch, epoch: int) -> bool:
        """Write the match's checkpoint with the inputs recorded since the last one; False
        when a later lease epoch's checkpoint fences this one out (nothing is written)."""
        async with hosted.saving:
            if hosted.status == "finished":
                return True  # its replay holds the rest of the record: nothing to add
            entries = hosted.unsaved_inputs()
            saved = await self.store.save_checkpoint(hosted.id, hosted.checkpoint(), epoch, entries)
            if saved:
                hosted.inputs_saved(len(entries))
            return saved

    async def checkpoint_all(self) -> None:
        """A pod that dies loses at most the play since its last checkpoint."""
        for owned in self.matches.snapshot():
            hosted = owned.hosted
            if hosted.status != "running" or not self.matches.holds(owned):
                continue
            if self.expired(owned):
                continue  # unrenewed (a long pause): the next tick hands it over
            saved = await self.save(hosted, owned.lease.epoch)
            if saved or not self.matches.holds(owned):
                continue
            if await self.directory.holder(hosted.id) == owned.lease:  # fence and lease disagree
                log.error("checkpoint of match %s refused while its lease is ours", hosted.id)
                continue  # (the fence's key lost, say): keep playing; its lease decides
            # A later owner checkpointed it: we were paused or cut off past our lease.
            log.warning("match %s has a newer owner; handing its players over", hosted.id)
            self.drop(hosted)
