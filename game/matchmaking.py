"""Matchmaking rules: who plays with whom. Pure: tickets and the time in, groups out.

A ticket's rating window widens the longer it waits, so a lone high-rated player still
gets a game; a group forms at the mode's target size, or at its minimum size once its
oldest ticket has waited `fill_timeout` seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Ticket:
    id: str
    player_id: str
    mode: str
    rating: float
    created_at: float  # seconds, any monotonic-ish clock shared by the caller


@dataclass(frozen=True, slots=True)
class QueueRules:
    target_size: int
    min_size: int
    fill_timeout: float = 10.0
    base_window: float = 100.0
    widen_per_second: float = 25.0
    max_window: float = 1000.0
    teams: int = 0  # >= 2: a group's size is a multiple of it (teams of equal size)

    def __post_init__(self) -> None:
        if not 1 <= self.min_size <= self.target_size:
            raise ValueError("need 1 <= min_size <= target_size")
        if self.teams >= 2 and self.min_size < self.teams:
            raise ValueError("need min_size >= teams: every team needs a player")

    def fit(self, size: int) -> int:
        """The largest group size at most `size` that splits into equal teams."""
        return size - size % self.teams if self.teams >= 2 else size


def rating_window(ticket: Ticket, now: float, rules: QueueRules) -> float:
    waited = max(now - ticket.created_at, 0.0)
    return min(rules.base_window + rules.widen_per_second * waited, rules.max_window)


def compatible(a: Ticket, b: Ticket, now: float, rules: QueueRules) -> bool:
    """Both players accept the gap: it must fit inside each one's own window."""
    gap = abs(a.rating - b.rating)
    return gap <= rating_window(a, now, rules) and gap <= rating_window(b, now, rules)


def form_matches(
    tickets: Iterable[Ticket], now: float, rules: QueueRules
) -> list[tuple[Ticket, ...]]:
    """Group one mode's waiting tickets into matches; the oldest tickets are served first.

    Deterministic: ties are broken by ticket id, so every pod would form the same groups.
    """
    waiting = sorted(tickets, key=lambda t: (t.created_at, t.id))
    taken: set[str] = set()
    groups: list[tuple[Ticket, ...]] = []
    for anchor in waiting:
        if anchor.id in taken:
            continue
        group = _group_around(anchor, [t for t in waiting if t.id not in taken], now, rules)
        if group:
            groups.append(group)
            taken.update(t.id for t in group)
    return groups


def _group_around(
    anchor: Ticket, candidates: Sequence[Ticket], now: float, rules: QueueRules
) -> tuple[Ticket, ...] | None:
    others = [
        t
        for t in candidates
        if t.id != anchor.id
        and t.player_id != anchor.player_id
        and compatible(anchor, t, now, rules)
    ]
    # Closest ratings first, then who waited longest.
    others.sort(key=lambda t: (abs(t.rating - anchor.rating), t.created_at, t.id))
    group = [anchor]
    for ticket in others:
        if len(group) == rules.fit(rules.target_size):
            break
        if all(compatible(ticket, member, now, rules) for member in group):
            group.append(ticket)
    size = rules.fit(len(group))  # the closest in rating stay when teams need fewer
    if size == rules.fit(rules.target_size):
        return tuple(group[:size])
    timed_out = now - anchor.created_at >= rules.fill_timeout
    if timed_out and size >= rules.min_size:
        return tuple(group[:size])
    return None


def balance_teams(tickets: Sequence[Ticket], teams: int) -> list[list[Ticket]]:
    """Split players into teams of equal size (±1) and near-equal total rating.

    Greedy, strongest first: each player joins the weakest team that still has room.
    """
    if teams < 1:
        raise ValueError("teams must be >= 1")
    capacity = -(-len(tickets) // teams)
    result: list[list[Ticket]] = [[] for _ in range(teams)]
    totals = [0.0] * teams
    for ticket in sorted(tickets, key=lambda t: (-t.rating, t.id)):
        open_teams = [i for i in range(teams) if len(result[i]) < capacity]
        weakest = min(open_teams, key=lambda i: (totals[i], len(result[i]), i))
        result[weakest].append(ticket)
        totals[weakest] += ticket.rating
    return result


def seat_teams(group: Sequence[Ticket], teams: int) -> list[Ticket]:
    """The group in slot order for a mode of `teams` teams (slot s plays for team s % T),
    the teams balanced by rating (balance_teams)."""
    if teams < 2:
        return list(group)
    # Larger teams first, so that team i gets the slots i, i + T, ... it has room for.
    split = sorted(balance_teams(group, teams), key=len, reverse=True)
    return [split[slot % teams][slot // teams] for slot in range(len(group))]
