"""Elo ratings for free-for-all results: every pair of players is one Elo game."""

from __future__ import annotations

import math
from collections.abc import Mapping

DEFAULT_RATING = 1000.0
K_FACTOR = 32.0


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
