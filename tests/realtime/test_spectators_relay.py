"""The owner's side of spectators on other pods, in process: one entry per view and
watching pod, and a watching pod that reports again while the match's end is still being
shown (the delay) is not sent away."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from realtime.match_host import MatchHost
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
