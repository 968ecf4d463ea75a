"""The game modes a run plays: what the server offers (GET /v1/modes), the weights of
`--mode-weights`, and which mode a player queues for next.

Plain Python (no gevent, no Locust), like `slo`: the test suite imports it directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ModeInfo:
    """One entry of GET /v1/modes."""

    name: str
    tick_rate: float = 30.0
    min_players: int = 2
    max_players: int = 4
    teams: int = 0
    input_schema: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> ModeInfo:
        return cls(
            name=str(entry["name"]),
            tick_rate=float(entry.get("tick_rate") or 30),
            min_players=int(entry.get("min_players") or 2),
            max_players=int(entry.get("max_players") or 4),
            teams=int(entry.get("teams") or 0),
            input_schema=dict(entry.get("input_schema") or {}),
        )

    def group_size(self, wanted: int) -> int:
        """The players a lobby of this mode can start with, as close to `wanted` as the
        mode allows: within min..max players, and a multiple of its teams."""
        size = max(min(wanted, self.max_players), self.min_players)
        if self.teams >= 2 and size % self.teams:
            down = size - size % self.teams
            size = down if down >= self.min_players else size + self.teams - size % self.teams
        return size

    def can_start(self, players: int) -> bool:
        """Whether a lobby of `players` may start (protocol: POST /v1/lobbies/{id}/start)."""
        teams_ok = self.teams < 2 or players % self.teams == 0
        return self.min_players <= players <= self.max_players and teams_ok


def catalogue(body: Mapping[str, Any]) -> dict[str, ModeInfo]:
    """GET /v1/modes' answer → the offered modes by name, in the server's order."""
    modes = [ModeInfo.from_json(entry) for entry in body.get("modes") or ()]
    return {mode.name: mode for mode in modes}


def parse_weights(spec: str) -> dict[str, float]:
    """'arena=3, ctf=1' → {'arena': 3.0, 'ctf': 1.0}; a bare name weighs 1, a zero weight
    drops the mode. ValueError for a weight that is not a number or is negative."""
    weights: dict[str, float] = {}
    for part in spec.replace(";", ",").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            weight = float(value) if sep else 1.0
        except ValueError:
            raise ValueError(f"mode weight {part.strip()!r} is not 'MODE=number'") from None
        if not name or weight < 0 or weight != weight:  # NaN is not a weight either
            raise ValueError(f"mode weight {part.strip()!r} is not 'MODE=number'")
        if weight > 0:
            weights[name] = weight
    return weights


def mode_weights(spec: str, single: str, offered: Iterable[str]) -> dict[str, float]:
    """The run's weights: `--mode-weights` if set, else `--mode` alone, else every mode
    the server offers with the same weight. Modes the server does not offer stay in: the
    server refuses their tickets, and Locust's failures show why."""
    if spec.strip():
        return parse_weights(spec)
    if single.strip():
        return {single.strip(): 1.0}
    return dict.fromkeys(offered, 1.0)


class Dealer:
    """Hands out modes in proportion to their weights, evenly spread (smooth weighted
    round-robin: arena=3,ctf=1 deals arena, arena, ctf, arena, …). Unlike a random draw,
    a handful of players already splits by the weights, so no mode is left with a single
    player waiting in its queue for a partner that never comes."""

    def __init__(self, weights: Mapping[str, float], skip: int = 0) -> None:
        if not weights:
            raise ValueError("no mode to play: every weight is 0")
        self.weights = dict(weights)
        self.total = sum(self.weights.values())
        self.current = dict.fromkeys(self.weights, 0.0)
        for _ in range(skip):  # another process starts further along the same sequence
            self.deal()

    def deal(self) -> str:
        for name, weight in self.weights.items():
            self.current[name] += weight
        chosen = max(self.current, key=self.current.__getitem__)  # ties: the first listed
        self.current[chosen] -= self.total
        return chosen


_dealers: dict[tuple[tuple[str, float], ...], Dealer] = {}


def shared_dealer(weights: Mapping[str, float], process_index: int = 0) -> Dealer:
    """One dealer per process and weights, shared by the process's players. Process N
    starts N deals along, so that the processes of a distributed run together deal the
    same spread as one process would."""
    key = tuple(weights.items())
    dealer = _dealers.get(key)
    if dealer is None:
        dealer = _dealers[key] = Dealer(weights, skip=max(process_index, 0))
    return dealer
