"""A mode that raises or runs slow ends its own match as no contest; the pod and the other
matches play on."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from typing import Any

import orjson
import pytest

from game.modes.arena import ArenaMode
from realtime.close_codes import CloseCode
from realtime.match_claims import MatchOver
from realtime.match_host import MatchHost
from skirmish.base.settings import Settings
from skirmish.base.store import MemoryStore
from skirmish.base.store.records import MatchPlayer, MatchRecord

RULES = Settings(token_secret="x" * 32).modes["arena"].rules  # type: ignore[attr-defined]


class BrokenArena(ArenaMode):
    """The arena with a bug: from its fifth tick on, its step raises."""

    def step(self, state: Any, inputs: Sequence[Any], tick: int) -> Any:
        if tick >= 5:
            raise RuntimeError("a bug in the mode")
        return super().step(state, inputs, tick)


class SlowArena(ArenaMode):
    """The arena with a step that takes 15 ms: past a quarter of a 30 Hz tick, every tick."""

    def step(self, state: Any, inputs: Sequence[Any], tick: int) -> Any:
        time.sleep(0.015)
        return super().step(state, inputs, tick)


class Socket:
    """A player's socket as the match host sees it, keeping what it was sent."""

    def __init__(self) -> None:
        self.closed = False
        self.close_code: int | None = None
        self.frames: list[dict[str, Any]] = []
        self.snapshots: list[float] = []  # when each arrived

    def send_snapshot(self, ack: int, body: bytes) -> None:
        self.snapshots.append(time.monotonic())

    def send_frame(self, frame: bytes) -> None:
        self.frames.append(orjson.loads(frame))

    def close(self, code: int, reason: str = "") -> None:
        self.closed, self.close_code = True, code


async def host_with(
    modes: dict[str, ArenaMode],
) -> tuple[MatchHost, MemoryStore, dict[str, list[Socket]]]:
    store = MemoryStore()
    host = MatchHost(store, modes, tick_rate=30, start_wait=0)
    sockets: dict[str, list[Socket]] = {}
    for mode in modes:
        players = tuple(MatchPlayer(player_id=f"p{i}", name=f"p{i}", slot=i) for i in range(2))
        record = MatchRecord(id=mode, mode=mode, seed=1, players=players, created_at=0.0)
        await store.add_match(record)
        sockets[mode] = [Socket(), Socket()]
        for player, socket in zip(players, sockets[mode], strict=True):
            await host.attach(mode, player.player_id, socket)
    return host, store, sockets


async def ended(store: MemoryStore, match_id: str, within: float = 5.0) -> MatchRecord:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        record = await store.get_match(match_id)
        if record is not None and record.status == "finished":
            return record
        await asyncio.sleep(0.02)
    raise AssertionError(f"match {match_id} did not end")


def assert_no_contest(record: MatchRecord, sockets: list[Socket]) -> None:
    assert record.result is not None and record.result["reason"] == "no_contest"
    assert record.result["winner"] is None and record.result["players"] == []
    for socket in sockets:  # told why, then closed as a match that is over
        results = [f for f in socket.frames if f["type"] == "result"]
        assert [r["reason"] for r in results] == ["no_contest"]
        assert socket.close_code == CloseCode.NORMAL


async def test_a_mode_that_raises_ends_its_match_as_no_contest_and_others_play_on() -> None:
    host, store, sockets = await host_with(
        {"broken": BrokenArena(RULES), "arena": ArenaMode(RULES)}
    )
    await host.start()
    try:
        record = await ended(store, "broken")
        assert_no_contest(record, sockets["broken"])
        assert record.result is not None and record.result["tick"] == 4  # its last good tick
        assert "broken" not in host.owned and await host.directory.holder("broken") is None
        bystander = host.owned.get("arena")
        assert bystander is not None and bystander.status == "running"
        ticks = bystander.tick
        await asyncio.sleep(0.2)
        assert bystander.tick > ticks and not sockets["arena"][0].closed
    finally:
        await host.stop()


async def test_a_mode_that_runs_slow_ends_as_no_contest_while_a_bystander_keeps_30_hz() -> None:
    host, store, sockets = await host_with({"slow": SlowArena(RULES), "arena": ArenaMode(RULES)})
    await host.start()
    began = time.monotonic()
    try:
        record = await ended(store, "slow")
        assert_no_contest(record, sockets["slow"])
        # Ended on its eleventh overrun: a budget of 8.3 ms, 10 overruns allowed per second.
        assert record.result is not None and record.result["tick"] == 11
        await asyncio.sleep(1.0)
        window = [t for t in sockets["arena"][0].snapshots if t >= began]
        elapsed = window[-1] - window[0]
        assert len(window) - 1 >= 0.9 * 30 * elapsed  # kept its rate while the slow one ran
        gaps = [b - a for a, b in itertools.pairwise(window)]
        assert max(gaps) < 0.1  # no tick held up for long
    finally:
        await host.stop()


class ArenaV2(ArenaMode):
    """The next version of the arena, whose states the first would not replay."""

    version = 2


async def test_a_checkpoint_of_another_mode_version_is_never_restored() -> None:
    """A rolling deploy changed the mode under a running match: it ends as no contest."""
    old_host, store, _ = await host_with({"arena": ArenaMode(RULES)})
    old_host.scheduler.tick_all()  # both players are in: it starts and steps once
    await old_host.keeper.checkpoint_all()
    await old_host.drain()  # the old pod goes away; its checkpoint stays
    assert await store.get_checkpoint("arena") is not None
    new_host = MatchHost(store, {"arena": ArenaV2(RULES)}, tick_rate=30, start_wait=0)
    try:
        with pytest.raises(MatchOver):
            await new_host.find("arena")
        record = await store.get_match("arena")
        assert record is not None and record.result is not None
        assert record.status == "finished" and record.result["reason"] == "no_contest"
        assert await store.get_checkpoint("arena") is None
        assert "arena" not in new_host.owned and await new_host.directory.holder("arena") is None
        with pytest.raises(MatchOver):  # and stays over
            await new_host.find("arena")
    finally:
        await old_host.stop()
        await new_host.stop()
