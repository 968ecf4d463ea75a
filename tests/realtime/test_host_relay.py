"""The match host's side of cross-pod play and its scheduler, in process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from game.modes.arena import ArenaMode
from realtime.match_host import MatchHost
from realtime.relay import PodLink
from realtime.relay_owner import RemoteConnection
from realtime.tick_scheduler import TICK_SLICE_SECONDS
from skirmish.base.settings import Settings
from skirmish.base.store import MemoryStore
from skirmish.base.store.records import MatchPlayer, MatchRecord

MODES = Settings(token_secret="x" * 32).modes
INPUT = {"type": "input", "seq": 1, "dx": 1.0, "dy": 0.0, "aim": 0.0, "fire": False}


@pytest.fixture
async def host() -> AsyncIterator[MatchHost]:
    store = MemoryStore()
    players = tuple(MatchPlayer(player_id=f"p{i}", name=f"p{i}", slot=i) for i in range(2))
    await store.add_match(
        MatchRecord(id="m1", mode="arena", seed=1, players=players, created_at=0.0)
    )
    host = MatchHost(store, MODES, tick_rate=30, start_wait=60)
    yield host
    await host.stop()


def batch(edge: str, *entries: list[object]) -> dict[str, object]:
    return {"type": "relay.batch", "from": edge, "reply_to": edge, "entries": list(entries)}


async def test_socket_ids_of_two_edges_never_mix(host: MatchHost) -> None:
    hosted = await host.find("m1")  # the first socket of m1 reached this pod: it owns m1
    # Two edge pods number their sockets independently: both call theirs 1.
    host.on_batch(batch("edge-b", ["j", "m1", 1, "p0"]))
    host.on_batch(batch("edge-c", ["j", "m1", 1, "p1"]))
    host.on_batch(batch("edge-c", ["i", "m1", 1, 1, INPUT]))
    seats = hosted.seats  # type: ignore[union-attr]
    assert [len(seat.inbox) for seat in seats] == [0, 1]  # edge-c's player, not edge-b's


async def test_seats_of_a_silent_edge_are_freed(host: MatchHost) -> None:
    hosted = await host.find("m1")
    host.on_batch(batch("edge-b", ["j", "m1", 7, "p0"]))
    seat = hosted.seats[0]  # type: ignore[union-attr]
    assert isinstance(seat.connection, RemoteConnection)
    host.owner.drop_silent_edges()
    assert seat.connection is not None  # heard just now: kept
    host.relay.link("edge-b").last_heard = time.monotonic() - 10  # the edge pod died
    host.owner.drop_silent_edges()
    assert seat.connection is None and seat.held is None  # offline, standing still


async def test_an_overloaded_pod_still_serves_everything_else() -> None:
    def slow_tick() -> None:
        time.sleep(0.05)  # every tick takes longer than its 33 ms interval

    host = MatchHost(MemoryStore(), MODES, tick_rate=30, start_wait=60, on_tick=slow_tick)
    await host.start()
    served = 0
    for _ in range(10):  # what sockets, Redis calls and lease renewal need: a turn
        await asyncio.sleep(0.01)
        served += 1
    assert served == 10
    await host.stop()


class SlowArena(ArenaMode):
    """The arena, with a step that takes a millisecond: a pod's tick longer than a slice."""

    def step(self, state: Any, inputs: Sequence[Any], tick: int) -> Any:
        time.sleep(0.001)
        return super().step(state, inputs, tick)


async def test_a_long_tick_is_stepped_in_slices_each_match_once() -> None:
    store = MemoryStore()
    players = (MatchPlayer(player_id="p0", name="p0", slot=0),)
    ids = [f"m{n}" for n in range(30)]
    for match_id in ids:
        record = MatchRecord(id=match_id, mode="arena", seed=1, players=players, created_at=0.0)
        await store.add_match(record)
    host = MatchHost(store, {"arena": SlowArena(MODES["arena"].rules)}, tick_rate=30, start_wait=0)
    hosted = [await host.find(match_id) for match_id in ids]
    try:
        pending = host.scheduler.tick_all()
        # 30 ms of steps: the first slice stops after TICK_SLICE_SECONDS and leaves the rest.
        assert 0 < len(pending) < len(ids)
        slices = 1
        while pending:
            pending = host.scheduler.tick_some(pending)
            slices += 1
        # A step takes at least 1 ms, so a slice holds at most TICK_SLICE_SECONDS/1 ms + 1.
        most_per_slice = int(TICK_SLICE_SECONDS / 0.001) + 1
        assert slices >= -(-len(ids) // most_per_slice) >= 5
        assert [match.tick for match in hosted] == [1] * len(ids)  # each stepped once
    finally:
        await host.stop()


def test_relayed_snapshots_share_a_body_only_where_players_see_the_same() -> None:
    """One entry per body: a shared view crosses pods once per match, while a mode that
    hides information sends each edge socket its own player's view, never another's."""
    link = PodLink(None, "own", "a", "peer")
    shared, mine, theirs = b'{"tick":1}', b'{"tick":1,"x":1}', b'{"tick":1,"x":2}'
    link.add_snapshot("m1", 1, shared, conn=1, ack=5)
    link.add_snapshot("m1", 1, shared, conn=2, ack=6)
    link.add_snapshot("m2", 1, mine, conn=3, ack=1)
    link.add_snapshot("m2", 1, theirs, conn=4, ack=2)
    assert link.entries == [
        ["s", "m1", 1, shared, [[1, 5], [2, 6]]],
        ["s", "m2", 1, mine, [[3, 1]]],
        ["s", "m2", 1, theirs, [[4, 2]]],
    ]


async def test_each_mode_ticks_at_its_own_rate_on_one_pod() -> None:
    """The arena at 30 Hz and ctf at 20 Hz, side by side: 3 arena ticks to 2 of ctf."""
    from game.modes import CtfMode

    store = MemoryStore()
    modes = {"arena": MODES["arena"], "ctf": CtfMode()}
    for mode in modes:
        players = tuple(MatchPlayer(player_id=f"p{i}", name=f"p{i}", slot=i) for i in range(2))
        await store.add_match(
            MatchRecord(id=mode, mode=mode, seed=1, players=players, created_at=0)
        )
    host = MatchHost(store, modes, tick_rate=30, start_wait=0)
    arena, ctf = [await host.find(mode) for mode in modes]
    await host.start()
    try:
        await asyncio.sleep(1.5)
        assert arena.tick >= 30 and ctf.tick >= 20
        assert arena.tick / ctf.tick == pytest.approx(1.5, abs=0.1)
        assert host.owned.rates() == {20, 30}
    finally:
        await host.stop()
    assert host.owned.rates() == set()
