"""The matches this pod owns: the one registry of them, each with its lease and deadline.

Every part of the match host (the tick scheduler, the lease keeper, the owner side of the
relay, match ends) reaches an owned match through here, so a match, its lease and the
moment that lease may run out are added and removed together, never one without the others.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from realtime import metrics
from realtime.hosted_match import HostedMatch
from realtime.ownership import Lease


@dataclass(slots=True)
class OwnedMatch:
    hosted: HostedMatch
    lease: Lease
    deadline: float  # by the host's clock: past it, our lease may have run out unrenewed


class OwnedMatches:
    def __init__(self) -> None:
        self._by_id: dict[str, OwnedMatch] = {}
        self._rates: Counter[int] = Counter()  # how many owned matches tick at each rate

    def add(self, hosted: HostedMatch, lease: Lease, deadline: float) -> OwnedMatch:
        replaced = self._by_id.get(hosted.id)
        if replaced is not None:
            self._rates[replaced.hosted.mode.tick_rate] -= 1
        owned = self._by_id[hosted.id] = OwnedMatch(hosted, lease, deadline)
        self._rates[hosted.mode.tick_rate] += 1
        metrics.MATCHES_HOSTED.set(len(self._by_id))
        return owned

    def rates(self) -> set[int]:
        """The tick rates of the owned matches' modes."""
        return {rate for rate, count in self._rates.items() if count > 0}

    def get(self, match_id: str) -> HostedMatch | None:
        owned = self._by_id.get(match_id)
        return None if owned is None else owned.hosted

    def entry(self, match_id: str) -> OwnedMatch | None:
        return self._by_id.get(match_id)

    def holds(self, owned: OwnedMatch) -> bool:
        """Still this very record: not removed, nor replaced by a newer claim."""
        return self._by_id.get(owned.hosted.id) is owned

    def remove(self, hosted: HostedMatch) -> OwnedMatch | None:
        """Forget this incarnation of a match; None if it was gone (or replaced) already."""
        owned = self._by_id.get(hosted.id)
        if owned is None or owned.hosted is not hosted:
            return None
        del self._by_id[hosted.id]
        self._rates[hosted.mode.tick_rate] -= 1
        metrics.MATCHES_HOSTED.set(len(self._by_id))
        return owned

    def snapshot(self) -> list[OwnedMatch]:
        """A list to iterate while the registry may change."""
        return list(self._by_id.values())

    def __iter__(self) -> Iterator[OwnedMatch]:
        return iter(self._by_id.values())

    def __contains__(self, match_id: object) -> bool:
        return match_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)
