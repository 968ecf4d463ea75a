"""Bots that play real matches through the client SDK (`skirmish bot`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from skirmish.sdk.client import (
    MatchAccess,
    MatchClosed,
    MatchConnection,
    SkirmishClient,
    SkirmishError,
)
from skirmish.sdk.reconnect import Reconnector, Timing
from skirmish.sdk.schema_inputs import Schema, SchemaBrain

ResultCallback = Callable[[str, dict[str, Any]], None]

# An arena snapshot's player entry: [slot, x, y, aim, hp, score, alive]
SLOT, X, Y, AIM, HP, SCORE, ALIVE = range(7)


def _wrap(angle: float) -> float:
    """Angle folded into [-pi, pi]."""
    return (angle + math.pi) % math.tau - math.pi


@dataclass(slots=True)
class Brain:
    """The arena's: keep at range from the nearest opponent, strafe, aim, fire."""

    slot: int
    config: dict[str, Any]
    tick_rate: float
    rng: random.Random
    preferred_range: float = 220.0
    aim_tolerance: float = 0.2
    strafe_dir: float = 1.0
    strafe_ticks: int = 0
    aim: float = 0.0
    last_seen: dict[int, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def from_welcome(cls, welcome: dict[str, Any], rng: random.Random) -> Brain:
        return cls(
            int(welcome["slot"]),
            dict(welcome.get("config") or {}),
            float(welcome.get("tick_rate") or 30),
            rng,
        )

    def decide(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """The input for the next tick."""
        dx, dy, aim, fire = self._decide(snapshot)
        return {
            "dx": max(-1.0, min(1.0, dx)),
            "dy": max(-1.0, min(1.0, dy)),
            "aim": aim,
            "fire": fire,
        }

    def _decide(self, snapshot: dict[str, Any]) -> tuple[float, float, float, bool]:
        players = snapshot.get("players") or []
        me = next((p for p in players if p[SLOT] == self.slot), None)
        velocities = self._track(players)
        if me is None or not me[ALIVE]:
            return 0.0, 0.0, self.aim, False
        foes = [p for p in players if p[SLOT] != self.slot and p[ALIVE]]
        if not foes:
            dx, dy = self._towards_centre(me)
            return dx, dy, self.aim, False
        foe = min(foes, key=lambda p: math.hypot(p[X] - me[X], p[Y] - me[Y]))
        dist = max(math.hypot(foe[X] - me[X], foe[Y] - me[Y]), 1e-6)
        dx, dy = self._steer(me, foe, dist)
        self.aim = self._lead_aim(me, foe, dist, velocities.get(foe[SLOT], (0.0, 0.0)))
        aligned = abs(_wrap(self.aim - float(me[AIM]))) < self.aim_tolerance
        return dx, dy, self.aim, aligned and dist < self._shot_range()

    def _track(self, players: Sequence[Sequence[float]]) -> dict[int, tuple[float, float]]:
        """Per-tick velocity of every player since the previous snapshot."""
        velocities = {}
        for p in players:
            prev = self.last_seen.get(int(p[SLOT]))
            if prev is not None:
                velocities[int(p[SLOT])] = (p[X] - prev[0], p[Y] - prev[1])
            self.last_seen[int(p[SLOT])] = (float(p[X]), float(p[Y]))
        return velocities

    def _steer(self, me: Sequence[float], foe: Sequence[float], dist: float) -> tuple[float, float]:
        ux, uy = (foe[X] - me[X]) / dist, (foe[Y] - me[Y]) / dist
        self.strafe_ticks -= 1
        if self.strafe_ticks <= 0:
            self.strafe_dir = self.rng.choice((-1.0, 1.0))
            self.strafe_ticks = self.rng.randint(15, 60)
        radial = max(-1.0, min(1.0, (dist - self.preferred_range) / 100.0))
        strafe = 0.7 * self.strafe_dir
        wx, wy = self._walls(me)
        dx = radial * ux - strafe * uy + wx
        dy = radial * uy + strafe * ux + wy
        norm = math.hypot(dx, dy)
        return (dx / norm, dy / norm) if norm > 1.0 else (dx, dy)

    def _walls(self, me: Sequence[float]) -> tuple[float, float]:
        """A push back towards the middle when close to an edge of the arena."""
        width = float(self.config.get("width", 1000))
        height = float(self.config.get("height", 1000))
        margin = 3 * float(self.config.get("player_radius", 15)) + 40
        wx = 1.5 if me[X] < margin else -1.5 if me[X] > width - margin else 0.0
        wy = 1.5 if me[Y] < margin else -1.5 if me[Y] > height - margin else 0.0
        return wx, wy

    def _towards_centre(self, me: Sequence[float]) -> tuple[float, float]:
        cx = float(self.config.get("width", 1000)) / 2 - me[X]
        cy = float(self.config.get("height", 1000)) / 2 - me[Y]
        dist = math.hypot(cx, cy)
        return (cx / dist, cy / dist) if dist > 50 else (0.0, 0.0)

    def _lead_aim(
        self, me: Sequence[float], foe: Sequence[float], dist: float, vel: tuple[float, float]
    ) -> float:
        speed = float(self.config.get("projectile_speed", 600)) / self.tick_rate  # units/tick
        ticks = dist / speed if speed > 0 else 0.0
        tx, ty = foe[X] + vel[0] * ticks, foe[Y] + vel[1] * ticks
        return math.atan2(ty - me[Y], tx - me[X]) + self.rng.gauss(0.0, 0.03)

    def _shot_range(self) -> float:
        speed = float(self.config.get("projectile_speed", 600))
        ttl = float(self.config.get("projectile_ttl_ticks", 60))
        return 0.9 * speed * ttl / self.tick_rate


def brain_for(welcome: dict[str, Any], schema: Schema, rng: random.Random) -> Brain | SchemaBrain:
    """The arena's tactics in the arena; in any other mode, random inputs its schema allows."""
    if welcome.get("mode") == "arena":
        return Brain.from_welcome(welcome, rng)
    return SchemaBrain(schema, rng)


async def play_connection(
    conn: MatchConnection, rng: random.Random, schema: Schema | None = None
) -> dict[str, Any] | None:
    """Answer every snapshot with an input until the match is over; returns the result."""
    brain = brain_for(conn.welcome, schema or {}, rng)
    async for message in conn:
        if message["type"] == "snapshot" and conn.result is None:
            # The socket may close under us (match over); what is left is still read.
            with contextlib.suppress(MatchClosed):
                await conn.send_input(**brain.decide(message))
    return conn.result


async def play_match(
    client: SkirmishClient,
    access: MatchAccess,
    rng: random.Random,
    schema: Schema | None = None,
    timing: Timing | None = None,
) -> dict[str, Any]:
    """Play one match to its result, through every reconnect the protocol calls for."""
    brain: Brain | SchemaBrain | None = None
    async with Reconnector(client, access, timing=timing) as session:
        async for message in session:
            if message["type"] == "welcome" and brain is None:
                brain = brain_for(message, schema or {}, rng)
            elif message["type"] == "snapshot" and brain is not None and session.result is None:
                await session.send_input(**brain.decide(message))
    if session.result is None:
        raise SkirmishError(f"match {access.match_id} closed without a result")
    return session.result


async def run_bot(
    base_url: str,
    name: str,
    mode: str = "arena",
    matches: int = 1,
    rng_seed: int | None = None,
    on_result: ResultCallback | None = None,
) -> list[dict[str, Any]]:
    """Play `matches` matches (0: until cancelled, keeping no results) as a guest bot."""
    rng = random.Random(rng_seed)
    results: list[dict[str, Any]] = []
    played = 0
    async with SkirmishClient(base_url) as client:
        await client.guest(name)
        offered = {m["name"]: m for m in await client.modes()}
        if mode not in offered:
            raise SkirmishError(f"the server does not offer {mode!r}: {', '.join(offered)}")
        schema = offered[mode]["input_schema"]
        while matches <= 0 or played < matches:
            access = await client.queue(mode)
            result = await play_match(client, access, rng, schema=schema)
            played += 1
            if matches > 0:
                results.append(result)
            if on_result is not None:
                on_result(name, result)
    return results


async def run_bots(
    base_url: str,
    players: int,
    mode: str = "arena",
    matches: int = 1,
    on_result: ResultCallback | None = None,
    seed: int | None = None,
) -> list[list[dict[str, Any]]]:
    """Run `players` bots concurrently; returns each bot's results."""
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(
                run_bot(
                    base_url,
                    f"bot-{i + 1}",
                    mode,
                    matches,
                    rng_seed=None if seed is None else seed + i,
                    on_result=on_result,
                )
            )
            for i in range(players)
        ]
    return [task.result() for task in tasks]


def format_result(result: dict[str, Any]) -> str:
    """One line for a finished match."""
    players = sorted(result.get("players") or [], key=lambda p: p.get("slot", 0))
    names = {p.get("player_id"): p.get("name") for p in players}
    winner = result.get("winner")
    won = f"winner {names.get(winner, winner)}" if winner else "draw"
    scores = ", ".join(f"{p.get('name')} {p.get('score')}" for p in players)
    return f"match {result.get('match_id')} finished ({result.get('reason')}): {won}; {scores}"


class _ResultPrinter:
    """Prints each finished match once, however many bots played in it."""

    def __init__(self) -> None:
        self.seen: set[Any] = set()

    def __call__(self, bot: str, result: dict[str, Any]) -> None:
        if result.get("match_id") not in self.seen:
            self.seen.add(result.get("match_id"))
            print(format_result(result), flush=True)


def _count(text: str) -> int:
    """A non-negative integer argument."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def add_bot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="server base URL")
    parser.add_argument("--players", type=_count, default=2, help="bots to run at once")
    parser.add_argument("--mode", default="arena", help="game mode to queue for")
    parser.add_argument("--matches", type=_count, default=1, help="matches per bot (0: forever)")
    parser.add_argument("--seed", type=int, default=None, help="random seed")


def bot_command(args: argparse.Namespace) -> int:
    """Run the bots; one line per finished match. Exit 0, 1 on errors, 130 on Ctrl-C."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    coro = run_bots(
        args.url,
        args.players,
        args.mode,
        args.matches,
        _ResultPrinter(),
        getattr(args, "seed", None),
    )
    try:
        asyncio.run(coro)
    except KeyboardInterrupt:
        return 130
    except ExceptionGroup as group:
        for exc in group.exceptions:
            print(f"bot: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except (SkirmishError, httpx.HTTPError, OSError) as exc:
        print(f"bot: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="skirmish bot", description="Play matches with bots.")
    add_bot_arguments(parser)
    return bot_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
