"""A recorded match, played again for one spectator socket through the spectator view.

The pod that took the socket replays the recording (seed, settings, every input as
applied: GET /v1/matches/{id}/replay) with the mode this pod offers, at `speed` times the
match's pace, and sends the spectator view every `every` ticks (as live), then the
outcome the replay reached as a `result` (`replayed: true`). Replaying costs what playing
cost, so a pod plays at most `limit` recordings at once (`Theatre`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from game.modes import AnyMode, Outcome
from game.replay import replay_steps
from realtime import messages
from realtime.fanout import Outlet
from skirmish.base.store.records import MatchRecord

SPEEDS = (0.25, 16.0)  # the slowest and the fastest playback a spectator may ask for


@dataclass
class Theatre:
    """How many recordings this pod plays at once, and how many it may."""

    limit: int
    playing: int = 0

    def admit(self) -> bool:
        if self.playing >= self.limit:
            return False
        self.playing += 1
        return True

    def leave(self) -> None:
        self.playing = max(self.playing - 1, 0)


@dataclass(frozen=True)
class Playback:
    record: MatchRecord
    mode: AnyMode
    recording: Mapping[str, Any]
    every: int  # ticks between two views
    speed: float = 1.0

    async def play(
        self, outlet: Outlet, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        """Send the recording's views to `outlet` at its pace, then the replayed result."""
        mode, recording = self.mode, self.recording
        players, seed, inputs, ticks = (
            recording[k] for k in ("players", "seed", "inputs", "ticks")
        )
        every = self.every
        pace = 1.0 / (mode.tick_rate * self.speed)  # seconds of playback per tick
        online = list(range(players))
        outcome, last, shown = None, 0, 0
        for tick, state, outcome in replay_steps(mode, players, seed, inputs, ticks):
            last = tick
            if tick % every and outcome is None and tick != ticks:
                continue
            if outlet.closed:
                return
            view = orjson.dumps(mode.view(state, None))
            outlet.send_snapshot(0, messages.snapshot_body(tick, online, view))
            await sleep((tick - shown) * pace)
            shown = tick
        outlet.send_frame(messages.encode(self.result(outcome, last)))

    def result(self, outcome: Outcome | None, tick: int) -> dict[str, Any]:
        """The replayed outcome, as a match's result names it (without ratings)."""
        names = {p.slot: p for p in self.record.players}
        winner = None
        if outcome is not None and outcome.winner in names:
            winner = names[outcome.winner].player_id
        stats = [] if outcome is None else outcome.stats
        return {
            "type": "result",
            "match_id": self.record.id,
            "winner": winner,
            "reason": "unfinished" if outcome is None else outcome.reason,
            "tick": tick,
            "players": [
                {
                    "player_id": names[s.slot].player_id,
                    "name": names[s.slot].name,
                    "slot": s.slot,
                    "score": s.score,
                    "kills": s.kills,
                    "deaths": s.deaths,
                    "shots": s.shots,
                    "hits": s.hits,
                }
                for s in stats
            ],
            "replayed": True,
        }
