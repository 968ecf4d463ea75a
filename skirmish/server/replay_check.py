"""`skirmish replay MATCH_ID`: play a recorded match again and check its result.

The recording (GET /v1/matches/{id}/replay: seed, settings, mode version and every input
as applied) is played by the mode this machine's configuration offers (SKIRMISH_MODES,
as a server reads it), configured with the recorded settings. The outcome must be the
stored result bit for bit: the same winner, reason, last tick and every player's stats.
Exit status 0 when it is, 1 when it differs (each difference printed), 2 when the match
cannot be replayed here (no recording, another mode version, a mode not offered).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping
from typing import Any

from game.modes import AnyMode, Outcome
from game.replay import replay
from skirmish.base import mode_settings
from skirmish.base.settings import Settings
from skirmish.sdk.client import ApiError, SkirmishClient

STATS = ("score", "kills", "deaths", "shots", "hits")


class CannotReplay(Exception):
    """The recording cannot be played by this machine's modes; the message says why."""


def add_replay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("match_id", help="a finished match whose replay the server recorded")
    parser.add_argument(
        "--url", default="http://127.0.0.1:8000", help="the server (default %(default)s)"
    )
    parser.add_argument("--code", help="the watch code of a match only its link may watch")


def replay_command(args: argparse.Namespace) -> int:
    try:
        recording, result = asyncio.run(fetch(args.url, args.match_id, args.code))
        differences = check(recording, result, Settings().modes)
    except (CannotReplay, ApiError) as exc:
        print(f"skirmish replay: {exc}", file=sys.stderr)
        return 2
    for difference in differences:
        print(difference)
    ticks = recording["ticks"]
    verdict = "differs from" if differences else "matches"
    print(f"{args.match_id}: replayed {ticks} ticks; the outcome {verdict} the stored result")
    return 1 if differences else 0


async def fetch(
    url: str, match_id: str, code: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The recording and the stored result, read as a signed-in guest (with the watch
    `code` of a `link` match; a `players` match's recording is its players' only)."""
    async with SkirmishClient(url) as client:
        await client.guest("replay-check")
        recording = await client.replay(match_id, code)
        match = await client.get_match(match_id)
    if match.result is None:
        raise CannotReplay(f"match {match_id} has no result")
    return recording, match.result


def check(
    recording: Mapping[str, Any], result: Mapping[str, Any], modes: Mapping[str, AnyMode]
) -> list[str]:
    """The differences between the replayed outcome and the stored result (none: equal)."""
    mode = playable(recording, modes)
    players, seed, inputs, ticks = (recording[k] for k in ("players", "seed", "inputs", "ticks"))
    _, early = replay(mode, players, seed, inputs, ticks - 1)
    if early is not None:
        return [f"the replay ended before tick {ticks}, the recorded last tick"]
    _, outcome = replay(mode, players, seed, inputs, ticks)
    if outcome is None:
        return [f"the replay did not end at tick {ticks}, the recorded last tick"]
    return compare(outcome, result)


def playable(recording: Mapping[str, Any], modes: Mapping[str, AnyMode]) -> AnyMode:
    name, version = recording["mode"], recording.get("mode_version", 1)
    mode = modes.get(name)
    if mode is None:
        raise CannotReplay(f"mode {name!r} is not offered here (SKIRMISH_MODES)")
    if mode.version != version:
        raise CannotReplay(f"recorded by {name} version {version}; this is version {mode.version}")
    try:
        settings = mode_settings.resolve(mode, recording.get("settings") or {})
    except mode_settings.InvalidSettings as exc:
        raise CannotReplay(str(exc)) from exc
    return mode_settings.configured(mode, settings)


def compare(outcome: Outcome, result: Mapping[str, Any]) -> list[str]:
    by_slot = {p["slot"]: p for p in result["players"]}
    winner = None if outcome.winner is None else by_slot.get(outcome.winner, {}).get("player_id")
    differences = [
        f"{what}: replayed {mine!r}, stored {theirs!r}"
        for what, mine, theirs in (
            ("winner", winner, result["winner"]),
            ("reason", outcome.reason, result["reason"]),
            ("players", len(outcome.stats), len(by_slot)),
        )
        if mine != theirs
    ]
    for stats in outcome.stats:
        stored = by_slot.get(stats.slot, {})
        for name in STATS:
            if getattr(stats, name) != stored.get(name):
                differences.append(
                    f"slot {stats.slot} {name}: replayed {getattr(stats, name)}, "
                    f"stored {stored.get(name)}"
                )
    return differences
