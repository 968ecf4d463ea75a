"""Elo ratings: every pair of players in a match is one Elo game (teammates, who share
their team's score, draw among themselves and win or lose against the other team)."""

from __future__ import annotations

import math
from collections.abc import Mapping

DEFAULT_RATING = 1000.0
K_FACTOR = 32.0


def rating_pool(mode: str, teams: int, players: int, max_players: int) -> str:
    """Where a match's ratings count: per mode, and per team size where a team mode has
    several (a 1v1 of ctf is rated apart from a 2v2: "ctf:1v1", "ctf:2v2")."""
    if teams < 2 or max_players <= teams:
        return mode
    size = players // teams
    return f"{mode}:{size}v{size}"


def expected_score(rating: float, opponent: float) -> float:
    return 1.0 / (1.0 + math.pow(10.0, (opponent - rating) / 400.0))


def update_ratings(
    ratings: Mapping[str, float], scores: Mapping[str, float], k: float = K_FACTOR
) -> dict[str, float]:
    """New ratings after a match. Higher score beats lower; equal scores draw.

    The K factor is shared across a player's pairings so a 10-player match moves a rating
    about as much as one duel does. Rating points are conserved (zero-sum, up to rounding).
    """
    players = sorted(scores)
    if len(players) < 2:
        return {p: ratings.get(p, DEFAULT_RATING) for p in players}
    per_pair_k = k / (len(players) - 1)
    new = {p: ratings.get(p, DEFAULT_RATING) for p in players}
    for i, a in enumerate(players):
        for b in players[i + 1 :]:
            ra, rb = ratings.get(a, DEFAULT_RATING), ratings.get(b, DEFAULT_RATING)
            actual = 1.0 if scores[a] > scores[b] else 0.0 if scores[a] < scores[b] else 0.5
            delta = per_pair_k * (actual - expected_score(ra, rb))
            new[a] += delta
            new[b] -= delta
    return {p: round(r, 2) for p, r in new.items()}
