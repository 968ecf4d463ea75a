"""The end of a match: ratings, the result record, written once and durably."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from game.modes import Outcome
from game.ratings import DEFAULT_RATING, rating_pool, update_ratings
from realtime.hosted_match import HostedMatch
from skirmish.base.store import Store
from skirmish.base.store.protocols import RatingChange
from skirmish.base.store.records import MatchRecord


async def record_result(
    store: Store, hosted: HostedMatch, outcome: Outcome, finished_at: float
) -> dict[str, Any]:
    mode = hosted.mode
    pool = rating_pool(mode.name, mode.teams, len(hosted.seats), mode.max_players)
    ids = [seat.player_id for seat in hosted.seats]
    before = await store.get_ratings(pool, ids)
    scores = {hosted.seats[s.slot].player_id: float(s.score) for s in outcome.stats}
    after = update_ratings(before, scores)
    result = build_result(hosted, outcome, before, after)

    def finish(record: MatchRecord) -> MatchRecord:
        if record.status == "finished":  # written already (a retry): keep the first
            return record
        return record.model_copy(
            update={"status": "finished", "finished_at": finished_at, "result": result}
        )

    # As increments: another match of the same player may be ending right now. They move
    # with the write that finishes the match, in the same atomic write, or not at all.
    deltas = {p: after[p] - before.get(p, DEFAULT_RATING) for p in after}
    ratings = RatingChange(pool, deltas, DEFAULT_RATING)
    stored = await store.finish_match(hosted.id, finish, ratings)
    return stored.result or result


def build_result(
    hosted: HostedMatch,
    outcome: Outcome,
    before: Mapping[str, float],
    after: Mapping[str, float],
) -> dict[str, Any]:
    winner = None if outcome.winner is None else hosted.seats[outcome.winner].player_id
    players = []
    for stats in outcome.stats:
        seat = hosted.seats[stats.slot]
        players.append(
            {
                "player_id": seat.player_id,
                "name": seat.name,
                "slot": seat.slot,
                "score": stats.score,
                "kills": stats.kills,
                "deaths": stats.deaths,
                "shots": stats.shots,
                "hits": stats.hits,
                "rating_before": before.get(seat.player_id, DEFAULT_RATING),
                "rating_after": after.get(seat.player_id, DEFAULT_RATING),
            }
        )
    return {
        "match_id": hosted.id,
        "winner": winner,
        "reason": outcome.reason,
        "tick": hosted.tick,
        "players": players,
    }


def no_contest(
    reason: str, tick: int, finished_at: float, *, ends: Collection[str]
) -> Callable[[MatchRecord], MatchRecord]:
    """A store change that finishes a match nobody won (a crash, nobody came) with `reason`,
    if its status is one of `ends`; any other record is kept as it is (the first end stays)."""

    def finish(record: MatchRecord) -> MatchRecord:
        if record.status not in ends:
            return record
        result: dict[str, Any] = {
            "match_id": record.id, "winner": None, "reason": reason, "tick": tick, "players": [],
        }  # fmt: skip
        update = {"status": "finished", "finished_at": finished_at, "result": result}
        return record.model_copy(update=update)

    return finish
