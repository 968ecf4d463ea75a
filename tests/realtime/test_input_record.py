"""The input record: written by the checkpoints as a match goes, read back as its replay.
A checkpoint carries the state, not the history: it costs as much late in a long match as
early on."""

from __future__ import annotations

import asyncio
import secrets
import time

import orjson

from game.modes import ArenaMode
from game.replay import replay
from realtime.hosted_match import HostedMatch
from realtime.input_record import InputRecord
from realtime.lease_keeper import LeaseKeeper
from realtime.owned_matches import OwnedMatches
from realtime.ownership import MemoryMatchDirectory
from skirmish.base.store.records import MatchPlayer, MatchRecord
from skirmish.base.store.redis import RedisStore
from tests.realtime.conftest import HarnessFactory, receive_until
from tests.realtime.test_consumer import input_frame
from tests.support.redis_server import redis_url

__all__ = ["redis_url"]


def hosted_match(players: int = 4) -> HostedMatch:
    seats = tuple(MatchPlayer(player_id=f"p{s}", name=f"p{s}", slot=s) for s in range(players))
    record = MatchRecord(id="m_1", mode="arena", seed=99, players=seats, created_at=0.0)
    return HostedMatch(record, ArenaMode(), 0.0, lambda: 0.0, record_inputs=True)


def play(hosted: HostedMatch, ticks: int, seq: int) -> int:
    for _ in range(ticks):
        for seat in hosted.seats:
            seq += 1
            move = {"type": "input", "seq": seq, "dx": 1.0, "dy": 0.0, "aim": 0.5, "fire": True}
            hosted.accept_input(seat, seq, move)
        hosted.advance(0.0)
    return seq


def written(hosted: HostedMatch) -> tuple[int, int]:
    """Write a checkpoint as the lease keeper does: its size, and the inputs it carried."""
    checkpoint, entries = hosted.checkpoint(), hosted.unsaved_inputs()
    hosted.inputs_saved(len(entries))
    return len(orjson.dumps(checkpoint)), len(entries)


def test_a_checkpoint_late_in_a_long_match_costs_what_an_early_one_does() -> None:
    hosted = hosted_match()
    seq = play(hosted, 30, 0)
    early, carried = written(hosted)
    assert carried == 4 * 30
    seq = play(hosted, 1500, seq)
    written(hosted)
    play(hosted, 30, seq)
    late, carried = written(hosted)
    assert carried == 4 * 30  # only what came since the last checkpoint
    assert late < early + 64  # the state's numbers grew a digit or two; no history inside
    assert hosted.inputs is not None and len(hosted.inputs) == 4 * 1560


async def test_a_match_checkpointed_as_it_goes_replays_from_its_record(
    harness_factory: HarnessFactory,
) -> None:
    # A checkpoint every 0.2 s: the 1.5 s match writes its record in several pieces.
    harness = await harness_factory(
        arena_time_limit_seconds=1.5, record_replays=True, lease_ttl_seconds=0.6
    )
    match = await harness.new_match(players=2)
    a, _ = await harness.join(match, 0)
    b, _ = await harness.join(match, 1)
    checkpoints = []
    for seq in range(1, 100):
        snap = await receive_until(a, lambda m: m["type"] in ("snapshot", "result"))
        if snap["type"] == "result":
            break
        await a.send_to(text_data=input_frame(seq, dx=(-1) ** seq * 0.5, fire=seq % 3 == 0))
        checkpoint = await harness.services.store.get_checkpoint(match.id)
        if checkpoint is not None and checkpoint not in checkpoints:
            checkpoints.append(checkpoint)
    result = await receive_until(b, lambda m: m["type"] == "result")
    assert len(checkpoints) >= 3 and all("inputs" not in c for c in checkpoints)
    assert [c["inputs_at"] for c in checkpoints] == sorted(c["inputs_at"] for c in checkpoints)
    stored = await harness.services.store.get_replay(match.id)
    assert stored is not None and len(stored["inputs"]) > checkpoints[-1]["inputs_at"]
    arena = harness.services.modes["arena"]
    _, outcome = replay(arena, 2, match.seed, stored["inputs"], stored["ticks"])
    assert outcome is not None and outcome.reason == result["reason"]
    assert [(s.score, s.shots, s.hits) for s in outcome.stats] == [
        (p["score"], p["shots"], p["hits"]) for p in result["players"]
    ]


def test_a_record_given_up_stays_given_up_on_the_pod_that_takes_over() -> None:
    hosted = hosted_match(players=2)
    hosted.inputs = InputRecord(limit=100)
    seq = play(hosted, 30, 0)
    written(hosted)
    seq = play(hosted, 30, seq)  # past 100 entries: no replay for this match
    checkpoint = hosted.checkpoint()
    taker = hosted_match(players=2)
    taker.restore(checkpoint)
    play(taker, 5, seq)
    assert taker.inputs is not None and taker.inputs.given_up
    assert taker.unsaved_inputs() == []


async def test_saves_in_flight_together_write_each_input_once(redis_url: str) -> None:
    """A drain's checkpoint while the periodic one is on its way to Redis, say: the record
    must still hold each input once, as long as the checkpoint says."""
    store = RedisStore(redis_url, prefix=f"test-{secrets.token_hex(6)}")
    directory = MemoryMatchDirectory(10.0)
    keeper = LeaseKeeper(OwnedMatches(), directory, store, 10.0, time.time, print)
    hosted = hosted_match()
    seq = play(hosted, 20, 0)
    await asyncio.gather(keeper.save(hosted, 1), keeper.save(hosted, 1))
    play(hosted, 10, seq)
    hosted.status = "finished"
    assert hosted.inputs is not None
    await asyncio.gather(
        keeper.save(hosted, 1), store.save_replay(hosted.id, {}, hosted.inputs.pending())
    )
    replay = await store.get_replay(hosted.id)
    await store.close()
    assert replay is not None
    assert [e[2]["seq"] for e in replay["inputs"]] == list(range(1, 4 * 30 + 1))
