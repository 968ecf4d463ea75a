"""Spectators and the match host, in process: one entry per view and watching pod; a
watching pod's spectators see a match's end though its owner let the match go; a mode
whose spectator view fails ends that audience only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from channels.layers import InMemoryChannelLayer

from game.modes import ArenaMode, CtfMode
from realtime.layers import StockLayerCalls
from realtime.match_host import MatchHost
from realtime.ownership import MemoryMatchDirectory
from realtime.relay import Relay
from skirmish.base.store import MemoryStore
from skirmish.base.store.records import MatchPlayer, MatchRecord
from tests.realtime.test_host_relay import MODES, batch

RESULT = b'{"type":"result"}'


@pytest.fixture
async def host() -> AsyncIterator[MatchHost]:
    store = MemoryStore()
    players = tuple(MatchPlayer(player_id=f"p{i}", name=f"p{i}", slot=i) for i in range(2))
    await store.add_match(MatchRecord(id="m1", mode="arena", seed=1, players=players, created_at=0))
    host = MatchHost(store, MODES, tick_rate=30, start_wait=60, spectator_delay=0.2)
    yield host
    await host.stop()


def kinds(entries: list[list[object]]) -> list[object]:
    return [entry[0] for entry in entries]


async def test_a_watching_pod_gets_one_entry_per_view_whatever_its_audience(
    host: MatchHost,
) -> None:
    hosted = await host.find("m1")
    host.on_batch(batch("edge-w", ["w", "m1", 150]))  # 150 spectators there
    link = host.relay.link("edge-w")
    now = time.monotonic()
    for tick in range(1, 31):  # a second of the match
        hosted.tick = tick  # type: ignore[union-attr]
        host.spectators.beat(now + tick / 30)
    views = [e for e in link.entries if e[0] == "v"]
    assert [e[2] for e in views] == list(range(3, 25, 3))  # 0.2 s behind, every 3 ticks
    host.on_batch(batch("edge-w", ["w", "m1", 0]))  # none left there: nothing kept
    assert "m1" not in host.spectators.audiences


async def test_the_end_of_a_watched_match_is_shown_before_anyone_is_sent_away(
    host: MatchHost,
) -> None:
    hosted = await host.find("m1")
    assert hosted is not None
    host.on_batch(batch("edge-w", ["w", "m1", 3]))
    link = host.relay.link("edge-w")
    now = time.monotonic()
    hosted.tick = 3  # type: ignore[union-attr]
    host.spectators.beat(now)
    hosted.status = "finished"  # the last tick; its result is written, then it is released
    host.spectators.concluded(hosted, RESULT)  # type: ignore[arg-type]
    host.owned.remove(hosted)  # type: ignore[arg-type]
    link.entries.clear()
    host.on_batch(batch("edge-w", ["w", "m1", 3]))  # its maintenance report, meanwhile
    assert kinds(link.entries) == []  # not told to reconnect: the end is still to come
    host.spectators.beat(now + 1)
    assert kinds(link.entries) == ["v", "vf", "vc"]
    assert link.entries[1][2] == RESULT and link.entries[2][2] == 1000
    link.entries.clear()
    host.on_batch(batch("edge-w", ["w", "m1", 3]))  # a late report: the match is gone
    assert kinds(link.entries) == ["vf", "vc"] and link.entries[1][2] == 1012


class Outlet:
    """A socket as the match loop sees it, keeping what it was sent."""

    def __init__(self) -> None:
        self.closed = False
        self.close_code: int | None = None
        self.frames: list[dict[str, object]] = []
        self.snapshots = 0

    def send_snapshot(self, ack: int, body: bytes) -> None:
        self.snapshots += 1

    def send_frame(self, frame: bytes) -> None:
        self.frames.append(orjson.loads(frame))

    def close(self, code: int, reason: str = "") -> None:
        if not self.closed:
            self.closed, self.close_code = True, code


class BlindToSpectators(CtfMode):
    """A mode whose spectator view fails (its players' views work)."""

    def view(self, state: Any, slot: int | None) -> Any:
        if slot is None:
            raise TypeError("no view for spectators")
        return super().view(state, slot)


async def add_match(store: MemoryStore, match_id: str, mode: str, **fields: Any) -> None:
    players = tuple(MatchPlayer(player_id=f"{match_id}.{i}", name="x", slot=i) for i in range(2))
    record = MatchRecord(
        id=match_id, mode=mode, seed=1, players=players, created_at=time.time(), **fields
    )
    await store.add_match(record)


async def test_a_failing_spectator_view_ends_only_its_audience() -> None:
    store = MemoryStore()
    await add_match(store, "m_ctf", "ctf")
    await add_match(store, "m_arena", "arena")
    modes = {"ctf": BlindToSpectators(), "arena": ArenaMode()}
    host = MatchHost(store, modes, tick_rate=30, start_wait=0, spectator_delay=0.1)
    await host.start()
    try:
        for match_id in ("m_ctf", "m_arena"):
            for i in range(2):
                await host.attach(match_id, f"{match_id}.{i}", Outlet())
        spectator = Outlet()
        await host.watch("m_ctf", spectator)
        await asyncio.sleep(0.3)
        other = host.owned.get("m_arena")
        assert other is not None
        before = other.tick
        await asyncio.sleep(0.3)
        assert other.tick > before  # the pod's other match plays on
        assert spectator.close_code == 1011  # the audience of the failing view is closed
        ctf = host.owned.get("m_ctf")
        assert ctf is not None and ctf.status == "running"  # and its match plays on too
    finally:
        await host.stop()


async def test_spectators_elsewhere_see_the_end_after_the_owner_let_the_match_go() -> None:
    layer = StockLayerCalls(InMemoryChannelLayer())
    directory, store = MemoryMatchDirectory(10.0), MemoryStore()
    await add_match(store, "m1", "arena", settings={"time_limit_seconds": 1})
    options: dict[str, Any] = {
        "tick_rate": 30, "start_wait": 0.1, "directory": directory, "spectator_delay": 1.0
    }  # fmt: skip
    owner = MatchHost(store, MODES, pod="a", relay=Relay(layer, "a"), **options)
    watching = MatchHost(store, MODES, pod="b", relay=Relay(layer, "b"), **options)
    await owner.start()
    await watching.start()
    try:
        player = Outlet()
        await owner.attach("m1", "m1.0", player)
        await owner.attach("m1", "m1.1", Outlet())
        spectator = Outlet()
        await watching.watch("m1", spectator)
        for _ in range(300):
            if any(f["type"] == "result" for f in player.frames):
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)  # the owner gives its lease back
        assert await directory.holder("m1") is None
        await watching._maintain()  # its round falls within the delay
        await asyncio.sleep(1.5)
        assert [f["type"] for f in spectator.frames][-1:] == ["result"]
        assert spectator.close_code == 1000
    finally:
        await owner.stop()
        await watching.stop()
