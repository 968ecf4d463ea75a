"""A cheap steering and aiming behaviour: enough to move, shoot, hit and die like a player."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

# An arena snapshot's player entry: [slot, x, y, aim, hp, score, alive]
SLOT, X, Y, AIM, HP, SCORE, ALIVE = range(7)

Intent = tuple[float, float, float, bool]  # dx, dy, aim, fire


class Brain:
    """Keep some distance from the nearest opponent, strafe around it, aim and fire at it."""

    def __init__(
        self, slot: int, config: Mapping[str, Any], tick_rate: float, rng: random.Random
    ) -> None:
        self.slot = slot
        self.rng = rng
        self.width = float(config.get("width", 1000))
        self.height = float(config.get("height", 1000))
        self.margin = 3 * float(config.get("player_radius", 15)) + 40
        speed = float(config.get("projectile_speed", 600))
        ttl = float(config.get("projectile_ttl_ticks", 60))
        self.range = 0.8 * speed * ttl / tick_rate
        # The input is applied a tick or two after it is sent: keep clear of the cooldown.
        self.cooldown = int(config.get("fire_cooldown_ticks", 10)) + 2
        self.next_fire_tick = 0
        self.strafe = 1.0
        self.strafe_ticks = 0
        self.aim = rng.uniform(-math.pi, math.pi)

    def decide(self, snapshot: Mapping[str, Any] | None) -> Intent:
        players: Sequence[Sequence[Any]] = (snapshot or {}).get("players") or ()
        me = next((p for p in players if p[SLOT] == self.slot), None)
        if me is None or not me[ALIVE]:
            return 0.0, 0.0, self.aim, False
        foes = [p for p in players if p[SLOT] != self.slot and p[ALIVE]]
        if not foes:
            return (*self._towards(me, self.width / 2, self.height / 2), self.aim, False)
        foe = min(foes, key=lambda p: math.hypot(p[X] - me[X], p[Y] - me[Y]))
        dist = max(math.hypot(foe[X] - me[X], foe[Y] - me[Y]), 1e-6)
        self.aim = round(math.atan2(foe[Y] - me[Y], foe[X] - me[X]) + self.rng.gauss(0, 0.05), 3)
        dx, dy = self._steer(me, foe, dist)
        tick = int((snapshot or {}).get("tick", 0))
        fire = dist < self.range and tick >= self.next_fire_tick
        if fire:
            self.next_fire_tick = tick + self.cooldown
        return dx, dy, self.aim, fire

    def _steer(self, me: Sequence[Any], foe: Sequence[Any], dist: float) -> tuple[float, float]:
        self.strafe_ticks -= 1
        if self.strafe_ticks <= 0:
            self.strafe = self.rng.choice((-1.0, 1.0))
            self.strafe_ticks = self.rng.randint(15, 60)
        ux, uy = (foe[X] - me[X]) / dist, (foe[Y] - me[Y]) / dist
        radial = max(-1.0, min(1.0, (dist - 250.0) / 100.0))
        dx = radial * ux - 0.7 * self.strafe * uy + self._wall(me[X], self.width)
        dy = radial * uy + 0.7 * self.strafe * ux + self._wall(me[Y], self.height)
        return _clamp(dx, dy)

    def _wall(self, position: float, size: float) -> float:
        if position < self.margin:
            return 1.5
        return -1.5 if position > size - self.margin else 0.0

    @staticmethod
    def _towards(me: Sequence[Any], x: float, y: float) -> tuple[float, float]:
        dx, dy = x - me[X], y - me[Y]
        dist = math.hypot(dx, dy)
        return (dx / dist, dy / dist) if dist > 50 else (0.0, 0.0)


def _clamp(dx: float, dy: float) -> tuple[float, float]:
    """Length at most 1, rounded: the server wants [-1, 1] and short frames."""
    norm = math.hypot(dx, dy)
    if norm > 1.0:
        dx, dy = dx / norm, dy / norm
    return round(max(-1.0, min(1.0, dx)), 3), round(max(-1.0, min(1.0, dy)), 3)
