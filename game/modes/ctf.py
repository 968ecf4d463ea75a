"""Capture the flag: two teams, fog of war. Take the enemy flag home, tag intruders.

Team 0 (even slots) holds the left base, team 1 (odd slots) the right one. A player moves
with `dx`, `dy` (a vector clamped to length 1) and may `sprint`: 1.6× faster while stamina
lasts. Touching the enemy flag picks it up; carrying it into your own base while your own
flag is at home scores a capture and sends it back. Touching an enemy who stands in your
half jails them at their base for a moment, and a carrier drops the flag where tagged. A
dropped flag goes home when its own team touches it, or by itself after a while.

Fog of war: a team sees its own players, its own flag, the enemy flag at its base, and any
enemy (or the dropped enemy flag) within `sight_radius` of one of its players. Nothing
about a hidden enemy reaches a player's view: one's own flag carried by a hidden enemy
shows no position, and events name a hidden enemy as null.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from game import rng
from game.modes.base import JSON, InputRejected, Outcome, PlayerStats
from game.modes.schemas import CTF_INPUT, CTF_VIEW, ctf_settings

# `type` and `seq` belong to the message envelope, checked by the realtime layer.
INPUT_FIELDS = frozenset({"type", "seq", "dx", "dy", "sprint"})


HOME, CARRIED, DROPPED = "home", "carried", "dropped"
NOBODY = -1
STAMINA_MAX = 100.0
SPAWN_JITTER = 10.0  # initial spawn points vary this much around the fixed spot


@dataclass(frozen=True, slots=True)
class CtfRules:
    tick_rate: int = 20
    width: float = 1200.0
    height: float = 600.0
    player_radius: float = 14.0
    speed: float = 180.0  # units per second
    sprint_factor: float = 1.6
    sprint_seconds: float = 3.0  # a full stamina bar lasts this long
    recover_seconds: float = 6.0  # from empty to full, when not sprinting
    base_inset: float = 90.0  # a base's centre (its flag's home) from its end of the field
    base_radius: float = 70.0
    flag_radius: float = 12.0
    sight_radius: float = 260.0
    jail_seconds: float = 2.0
    flag_return_seconds: float = 10.0  # a dropped flag goes home by itself after this
    capture_limit: int = 3
    time_limit_seconds: int = 300


class CtfInput(NamedTuple):
    dx: float
    dy: float
    sprint: bool


class Player(NamedTuple):
    x: float
    y: float
    stamina: float = STAMINA_MAX
    jail: int = 0  # ticks left in jail; 0: free
    tags: int = 0  # enemies this player sent to jail
    deaths: int = 0  # times this player was jailed


class Flag(NamedTuple):
    x: float
    y: float
    status: str = HOME
    carrier: int = NOBODY
    timer: int = 0  # ticks until a dropped flag goes home by itself


# ("tag", tagger, victim), ("pickup" | "drop", slot, flag's team),
# ("return", slot or None when by itself, flag's team), ("capture", slot, scoring team).
Event = tuple[str, int | None, int]


class CtfState(NamedTuple):
    tick: int
    rng: int
    players: tuple[Player, ...]  # slot s plays for team s % 2
    flags: tuple[Flag, ...]  # indexed by team
    score: tuple[int, ...]  # captures, indexed by team
    events: tuple[Event, ...]  # what happened during the last step, for clients


def _direction(fields: Mapping[str, Any], name: str) -> float:
    value = fields.get(name)
    # bool is an int subclass: `true` is not a number here.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputRejected(f"{name}: must be a number")
    if not -1 <= value <= 1:  # NaN fails this too; a huge int is compared, not converted
        raise InputRejected(f"{name}: must be a finite number within [-1, 1]")
    return float(value)


def _near(p: Player, x: float, y: float, reach: float) -> bool:
    # Squared distances: + - * are exact IEEE operations on every machine and Python.
    dx, dy = p.x - x, p.y - y
    return dx * dx + dy * dy <= reach * reach


def _tenth(value: float) -> float:
    return round(value * 10) / 10


class CtfMode:
    """The capture-the-flag game mode (see CtfRules for its constants)."""

    name = "ctf"
    version = 1
    min_players = 2
    max_players = 4
    teams = 2
    hides_information = True
    input_schema = CTF_INPUT
    view_schema = CTF_VIEW

    def __init__(self, rules: CtfRules | None = None) -> None:
        r = self.rules = rules or CtfRules()
        self.tick_rate = r.tick_rate
        self._stride = r.speed / r.tick_rate
        self._drain = STAMINA_MAX / (r.sprint_seconds * r.tick_rate)
        self._regen = STAMINA_MAX / (r.recover_seconds * r.tick_rate)
        self.jail_ticks = max(round(r.jail_seconds * r.tick_rate), 1)
        self.flag_return_ticks = max(round(r.flag_return_seconds * r.tick_rate), 1)
        self.time_limit_ticks = r.time_limit_seconds * r.tick_rate
        self.bases = ((r.base_inset, r.height / 2), (r.width - r.base_inset, r.height / 2))

    # -- settings ------------------------------------------------------------------------

    @property
    def settings_schema(self) -> JSON:
        """A lobby or a queue may choose the capture and the time limits."""
        return ctf_settings(self.rules.capture_limit, self.rules.time_limit_seconds)

    def configure(self, settings: Mapping[str, Any]) -> CtfMode:
        r = self.rules
        return CtfMode(
            replace(
                r,
                capture_limit=int(settings.get("capture_limit", r.capture_limit)),
                time_limit_seconds=int(settings.get("time_limit_seconds", r.time_limit_seconds)),
            )
        )

    # -- setup ---------------------------------------------------------------------------

    def initial_state(self, players: int, seed: int) -> CtfState:
        if not self.min_players <= players <= self.max_players:
            raise ValueError(f"ctf is for 2 to 4 players, not {players}")
        state = rng.seed_state(seed)
        spawned = []
        for slot in range(players):
            x, y = self.spot(slot)
            jx, state = rng.uniform(state, -SPAWN_JITTER, SPAWN_JITTER)
            jy, state = rng.uniform(state, -SPAWN_JITTER, SPAWN_JITTER)
            spawned.append(Player(round(x + jx, 1), round(y + jy, 1)))
        flags = tuple(self._home_flag(team) for team in range(2))
        return CtfState(0, state, tuple(spawned), flags, (0, 0), ())

    def spot(self, slot: int) -> tuple[float, float]:
        """Where the player in `slot` serves their time in jail: inside their base."""
        x, y = self.bases[slot % 2]
        offset = self.rules.base_radius / 2
        return x, y - offset if slot // 2 % 2 == 0 else y + offset

    def _home_flag(self, team: int) -> Flag:
        return Flag(*self.bases[team])

    # -- input ---------------------------------------------------------------------------

    def parse_input(self, fields: Mapping[str, Any]) -> CtfInput:
        if not fields.keys() <= INPUT_FIELDS:
            unknown = fields.keys() - INPUT_FIELDS
            raise InputRejected(f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
        dx, dy = _direction(fields, "dx"), _direction(fields, "dy")
        sprint = fields.get("sprint")
        if not isinstance(sprint, bool):
            raise InputRejected("sprint: must be true or false")
        length = math.hypot(dx, dy)
        if length > 1.0:  # diagonals are no faster than straight lines
            dx, dy = dx / length, dy / length
        return CtfInput(dx, dy, sprint)

    # -- simulation ----------------------------------------------------------------------

    def step(self, state: CtfState, inputs: Sequence[CtfInput | None], tick: int) -> CtfState:
        events: list[Event] = []
        players = [
            self._move(p, inputs[slot] if slot < len(inputs) else None)
            for slot, p in enumerate(state.players)
        ]
        flags = [
            Flag(players[f.carrier].x, players[f.carrier].y, CARRIED, f.carrier, 0)
            if f.status == CARRIED
            else f
            for f in state.flags
        ]
        self._expire_dropped(flags, events)
        score = list(state.score)
        for slot in range(len(players)):
            if not players[slot].jail:
                self._touch_flags(slot, players[slot], flags, score, events)
        self._tag(players, flags, events)
        return CtfState(tick, state.rng, tuple(players), tuple(flags), tuple(score), tuple(events))

    def _move(self, p: Player, command: CtfInput | None) -> Player:
        moving = command is not None and (command.dx != 0.0 or command.dy != 0.0)
        if p.jail or command is None or not moving:
            stamina = min(p.stamina + self._regen, STAMINA_MAX)
            return Player(p.x, p.y, stamina, max(p.jail - 1, 0), p.tags, p.deaths)
        stride = self._stride
        if command.sprint:  # held with an empty bar: normal speed, and no recovery
            if p.stamina > 0.0:
                stride *= self.rules.sprint_factor
            stamina = max(p.stamina - self._drain, 0.0)
        else:
            stamina = min(p.stamina + self._regen, STAMINA_MAX)
        r = self.rules
        low = r.player_radius
        x = min(max(p.x + command.dx * stride, low), r.width - low)
        y = min(max(p.y + command.dy * stride, low), r.height - low)
        return Player(x, y, stamina, 0, p.tags, p.deaths)

    def _expire_dropped(self, flags: list[Flag], events: list[Event]) -> None:
        for team, f in enumerate(flags):
            if f.status != DROPPED:
                continue
            if f.timer > 1:
                flags[team] = f._replace(timer=f.timer - 1)
            else:
                flags[team] = self._home_flag(team)
                events.append(("return", None, team))

    def _touch_flags(
        self, slot: int, p: Player, flags: list[Flag], score: list[int], events: list[Event]
    ) -> None:
        """A free player's contact with the flags: return one's own, take the enemy's, score."""
        team, other = slot % 2, 1 - slot % 2
        reach = self.rules.player_radius + self.rules.flag_radius
        own, enemy = flags[team], flags[other]
        if own.status == DROPPED and _near(p, own.x, own.y, reach):
            flags[team] = self._home_flag(team)
            events.append(("return", slot, team))
        if enemy.status != CARRIED and _near(p, enemy.x, enemy.y, reach):
            flags[other] = Flag(p.x, p.y, CARRIED, slot, 0)
            events.append(("pickup", slot, other))
        in_base = _near(p, *self.bases[team], self.rules.base_radius)
        if flags[other].carrier == slot and flags[team].status == HOME and in_base:
            flags[other] = self._home_flag(other)
            score[team] += 1
            events.append(("capture", slot, team))

    def _tag(self, players: list[Player], flags: list[Flag], events: list[Event]) -> None:
        """Free players touching a free enemy in their own half jail them, all at once."""
        before = tuple(players)
        for victim, v in enumerate(before):
            tagger = self._tagger(before, victim)
            if tagger is None:
                continue
            x, y = self.spot(victim)
            players[victim] = Player(x, y, v.stamina, self.jail_ticks, v.tags, v.deaths + 1)
            t = players[tagger]
            players[tagger] = t._replace(tags=t.tags + 1)
            events.append(("tag", tagger, victim))
            other = 1 - victim % 2
            if flags[other].carrier == victim:
                flags[other] = Flag(v.x, v.y, DROPPED, NOBODY, self.flag_return_ticks)
                events.append(("drop", victim, other))

    def _tagger(self, players: Sequence[Player], victim: int) -> int | None:
        """The lowest free enemy slot touching `victim`, if the victim is in their half."""
        v = players[victim]
        in_left_half = v.x < self.rules.width / 2
        if v.jail or in_left_half != (victim % 2 == 1):  # team 1 is caught on the left
            return None
        reach = 2 * self.rules.player_radius
        for slot in range(1 - victim % 2, len(players), 2):
            p = players[slot]
            if not p.jail and _near(p, v.x, v.y, reach):
                return slot
        return None

    # -- views ---------------------------------------------------------------------------

    def view(self, state: CtfState, slot: int | None) -> JSON:
        """What `slot`'s team may see (slot None: everything, for spectators).

        {"left": ticks to the time limit, "score": [team 0, team 1],
         "players": [[slot, team, x, y, carrying 0/1, jailed 0/1, stamina 0-100 or null
                      for an enemy], ...] (visible players, by slot),
         "flags": [[team, x, y, "home" | "carried" | "dropped"], ...] (visible flags; x, y
                   null for one's own flag carried by a hidden enemy),
         "events": [["tag", tagger, victim] | ["pickup" | "drop", slot, flag's team] |
                    ["return" | "capture", slot or null, team], ...] (if any)}
        A slot the viewer may not see is null in events.
        """
        team = None if slot is None else slot % 2
        known = self._known(state, team)
        carrying = [0] * len(state.players)
        for f in state.flags:
            if f.status == CARRIED:
                carrying[f.carrier] = 1
        body: JSON = {
            "left": max(self.time_limit_ticks - state.tick, 0),
            "score": list(state.score),
            "players": [
                [s, s % 2, _tenth(p.x), _tenth(p.y), carrying[s], 1 if p.jail else 0, stamina]
                for s, p in enumerate(state.players)
                if known[s]
                for stamina in [round(p.stamina) if team in (None, s % 2) else None]
            ],
            "flags": self._flag_rows(state, team, known),
        }
        if state.events:
            body["events"] = [_event_row(event, known) for event in state.events]
        return body

    def _known(self, state: CtfState, team: int | None) -> list[bool]:
        """For each slot, whether `team` sees that player (team None: everyone)."""
        if team is None:
            return [True] * len(state.players)
        mates = state.players[team::2]
        return [
            s % 2 == team or self._in_sight(mates, p.x, p.y) for s, p in enumerate(state.players)
        ]

    def _in_sight(self, mates: Sequence[Player], x: float, y: float) -> bool:
        sight = self.rules.sight_radius
        return any(_near(m, x, y, sight) for m in mates)

    def _flag_rows(self, state: CtfState, team: int | None, known: list[bool]) -> list[Any]:
        rows: list[Any] = []
        for t, f in enumerate(state.flags):
            row = [t, _tenth(f.x), _tenth(f.y), f.status]
            if team is None or f.status == HOME:
                rows.append(row)
            elif f.status == CARRIED:
                rows.append(row if known[f.carrier] else [t, None, None, CARRIED])
            elif t == team or self._in_sight(state.players[team::2], f.x, f.y):
                rows.append(row)
        return rows

    def outcome(self, state: CtfState) -> Outcome | None:
        if max(state.score) >= self.rules.capture_limit:
            reason = "capture_limit"
        elif state.tick >= self.time_limit_ticks:
            reason = "time_limit"
        else:
            return None
        first, second = state.score
        team = 0 if first > second else 1 if second > first else None
        # The contract's winner is a slot: the winning team's lowest, which is its number.
        winner = None if team is None else min(range(team, len(state.players), 2))
        stats = tuple(
            PlayerStats(slot, state.score[slot % 2], kills=p.tags, deaths=p.deaths)
            for slot, p in enumerate(state.players)
        )
        return Outcome(winner, reason, stats)

    def client_config(self) -> JSON:
        r = self.rules
        return {
            "tick_rate": r.tick_rate,
            "width": r.width,
            "height": r.height,
            "player_radius": r.player_radius,
            "speed": r.speed,
            "sprint_factor": r.sprint_factor,
            "stamina_drain": self._drain,  # per sprinting tick, of 100
            "stamina_regen": self._regen,  # per other tick
            "bases": [list(base) for base in self.bases],  # by team; the flags' homes
            "base_radius": r.base_radius,
            "flag_radius": r.flag_radius,
            "sight_radius": r.sight_radius,
            "jail_ticks": self.jail_ticks,
            "flag_return_ticks": self.flag_return_ticks,
            "capture_limit": r.capture_limit,
            "time_limit_ticks": self.time_limit_ticks,
        }

    # -- checkpoints ---------------------------------------------------------------------

    def dump_state(self, state: CtfState) -> Any:
        # Events are per tick and not part of the simulation: they are not kept.
        players, flags = [list(p) for p in state.players], [list(f) for f in state.flags]
        return [state.tick, state.rng, players, flags, list(state.score)]

    def load_state(self, data: Any) -> CtfState:
        tick, seed, players, flags, score = data
        return CtfState(
            int(tick),
            int(seed),
            tuple(
                Player(float(x), float(y), float(stamina), int(jail), int(tags), int(deaths))
                for x, y, stamina, jail, tags, deaths in players
            ),
            tuple(
                Flag(float(x), float(y), str(status), int(carrier), int(timer))
                for x, y, status, carrier, timer in flags
            ),
            tuple(int(s) for s in score),
            (),
        )


def _event_row(event: Event, known: list[bool]) -> list[Any]:
    """An event as the viewer may know it: a slot they do not see becomes null."""
    kind, who, what = event
    row: list[Any] = [kind, who if who is not None and known[who] else None, what]
    if kind == "tag" and not known[what]:  # the other two kinds end with a team
        row[2] = None
    return row
