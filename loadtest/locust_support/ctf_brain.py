"""A capture-the-flag bot (game/modes/ctf.py): enough to raid, carry, tag and be tagged
like a player, from what the fog of war lets it see.

It heads for the enemy flag and carries it home, chases the enemies it sees in its own
half (where a touch jails them), returns its own flag when it lies dropped, and shies
away from defenders in the enemy half. It sprints when it matters (carrying, chasing,
fleeing, a dropped flag) and now and then for no reason, while its stamina lasts.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

# A ctf snapshot's player row: [slot, team, x, y, carrying, jailed, stamina or null]
SLOT, TEAM, X, Y, CARRYING, JAILED, STAMINA = range(7)
# A flag row: [team, x or null, y or null, "home" | "carried" | "dropped"]
F_TEAM, F_X, F_Y, F_STATUS = range(4)

CtfIntent = tuple[float, float, bool]  # dx, dy, sprint
Point = tuple[float, float]


class CtfBrain:
    """Raid the enemy flag, bring it home, defend the own half; see the module's text."""

    def __init__(
        self,
        slot: int,
        config: Mapping[str, Any],
        rng: random.Random,
        teams: int = 2,
    ) -> None:
        self.slot = slot
        self.rng = rng
        self.team = slot % max(teams, 1)  # protocol: the player in slot s plays for s % T
        self.enemy_team = (self.team + 1) % max(teams, 2)
        self.width = float(config.get("width", 1200))
        self.height = float(config.get("height", 600))
        inset = 90.0
        bases = config.get("bases") or [
            [inset, self.height / 2],
            [self.width - inset, self.height / 2],
        ]
        self.bases = [(float(b[0]), float(b[1])) for b in bases]
        self.home = self.bases[self.team % len(self.bases)]
        self.enemy_base = self.bases[self.enemy_team % len(self.bases)]
        self.danger = 2 * float(config.get("player_radius", 14)) + 90  # keep clear of this
        self.wobble = 0.0
        self.wobble_left = 0

    def decide(self, snapshot: Mapping[str, Any] | None) -> CtfIntent:
        view = snapshot or {}
        players = [p for p in view.get("players") or () if len(p) > STAMINA]
        me = next((p for p in players if p[SLOT] == self.slot), None)
        if me is None or me[JAILED]:
            return 0.0, 0.0, False
        enemies = [p for p in players if p[TEAM] != self.team and not p[JAILED]]
        flags = {row[F_TEAM]: row for row in view.get("flags") or () if len(row) > F_STATUS}
        target, urgent = self._target(me, enemies, flags)
        dx, dy = _unit(target[0] - me[X], target[1] - me[Y])
        dx, dy = self._wobble(dx, dy)
        threat = self._threat(me, enemies)
        if threat is not None:  # in their half with a defender close by: swerve, run
            dx, dy = dx + 1.5 * threat[0], dy + 1.5 * threat[1]
            urgent = True
        if math.hypot(target[0] - me[X], target[1] - me[Y]) < 6 and threat is None:
            dx, dy = 0.0, 0.0  # there (a carrier waiting in its base for its own flag)
        stamina = float(me[STAMINA] or 0)
        sprint = stamina > 15 and (urgent or (stamina > 60 and self.rng.random() < 0.1))
        return (*_clamp(dx, dy), sprint)

    def _target(
        self, me: Sequence[Any], enemies: Sequence[Sequence[Any]], flags: Mapping[Any, Any]
    ) -> tuple[Point, bool]:
        """Where to go, and whether it is worth the stamina."""
        if me[CARRYING]:
            return self.home, True
        intruders = [p for p in enemies if self._ours(p[X])]
        if intruders:  # carriers first, then the nearest
            foe = min(intruders, key=lambda p: (-p[CARRYING], _dist(me, p[X], p[Y])))
            return (foe[X], foe[Y]), bool(foe[CARRYING]) or _dist(me, foe[X], foe[Y]) < 150
        own = flags.get(self.team)
        if own is not None and own[F_STATUS] == "dropped" and own[F_X] is not None:
            return (own[F_X], own[F_Y]), True
        if own is not None and own[F_STATUS] == "carried" and own[F_X] is None:
            # Taken by an enemy out of sight: wait for them on our side of the middle.
            return (self.width / 2 + (self.home[0] - self.width / 2) * 0.2, self.home[1]), False
        theirs = flags.get(self.enemy_team)
        if theirs is None or theirs[F_X] is None:  # dropped out of sight: look near their base
            return self.enemy_base, False
        if theirs[F_STATUS] == "carried":  # a teammate has it: guard the way home
            return ((self.home[0] + self.width / 2) / 2, self.home[1]), False
        spot = (float(theirs[F_X]), float(theirs[F_Y]))
        return spot, theirs[F_STATUS] == "dropped" or _dist(me, *spot) < 200

    def _threat(
        self, me: Sequence[Any], enemies: Sequence[Sequence[Any]]
    ) -> tuple[float, float] | None:
        """Away from the defenders close to me, when I stand in their half (else None)."""
        if self._ours(me[X]):
            return None
        away_x = away_y = 0.0
        for p in enemies:
            dist = _dist(me, p[X], p[Y])
            if dist < self.danger:
                ux, uy = _unit(me[X] - p[X], me[Y] - p[Y])
                weight = (self.danger - dist) / self.danger
                away_x, away_y = away_x + weight * ux, away_y + weight * uy
        return (away_x, away_y) if away_x or away_y else None

    def _ours(self, x: float) -> bool:
        """Whether `x` lies in my team's half (nearer my base than the enemy's)."""
        return abs(x - self.home[0]) < abs(x - self.enemy_base[0])

    def _wobble(self, dx: float, dy: float) -> tuple[float, float]:
        """A little sideways drift that changes every second or two: no two bots run the
        same line, and a defender does not meet a raider head-on every time."""
        self.wobble_left -= 1
        if self.wobble_left <= 0:
            self.wobble = self.rng.uniform(-0.35, 0.35)
            self.wobble_left = self.rng.randint(10, 25)
        return dx - self.wobble * dy, dy + self.wobble * dx


def _dist(me: Sequence[Any], x: float, y: float) -> float:
    return math.hypot(x - me[X], y - me[Y])


def _unit(dx: float, dy: float) -> tuple[float, float]:
    norm = math.hypot(dx, dy)
    return (dx / norm, dy / norm) if norm > 1e-9 else (0.0, 0.0)


def _clamp(dx: float, dy: float) -> tuple[float, float]:
    """Length at most 1, rounded: the server wants [-1, 1] and short frames."""
    norm = math.hypot(dx, dy)
    if norm > 1.0:
        dx, dy = dx / norm, dy / norm
    return round(max(-1.0, min(1.0, dx)), 3), round(max(-1.0, min(1.0, dy)), 3)
