from __future__ import annotations

import pytest

from game.ratings import DEFAULT_RATING, rating_pool, update_ratings


def test_the_winner_gains_what_the_loser_loses() -> None:
    new = update_ratings({}, {"a": 3, "b": 1})
    assert new["a"] > DEFAULT_RATING > new["b"]
    assert new["a"] - DEFAULT_RATING == pytest.approx(DEFAULT_RATING - new["b"])


def test_an_upset_moves_ratings_more_than_an_expected_win() -> None:
    expected = update_ratings({"strong": 1400, "weak": 1000}, {"strong": 1, "weak": 0})
    upset = update_ratings({"strong": 1400, "weak": 1000}, {"strong": 0, "weak": 1})
    assert upset["weak"] - 1000 > expected["strong"] - 1400 > 0


def test_a_draw_between_equals_changes_nothing() -> None:
    assert update_ratings({}, {"a": 2, "b": 2}) == {"a": DEFAULT_RATING, "b": DEFAULT_RATING}


def test_free_for_all_is_zero_sum() -> None:
    before = {"a": 1100, "b": 1000, "c": 950, "d": 1200}
    after = update_ratings(before, {"a": 5, "b": 3, "c": 3, "d": 0})
    assert sum(after.values()) == pytest.approx(sum(before.values()), abs=0.05)
    assert after["a"] > before["a"] and after["d"] < before["d"]


def test_team_sizes_are_rated_apart_where_a_mode_has_several() -> None:
    assert rating_pool("ctf", teams=2, players=2, max_players=4) == "ctf:1v1"
    assert rating_pool("ctf", teams=2, players=4, max_players=4) == "ctf:2v2"
    assert rating_pool("duel", teams=2, players=2, max_players=2) == "duel"  # one size only
    assert rating_pool("arena", teams=0, players=6, max_players=10) == "arena"


def test_teammates_share_the_win() -> None:
    """Each player scores their team's result: teammates draw among themselves."""
    before = {p: DEFAULT_RATING for p in "abcd"}
    after = update_ratings(before, {"a": 3.0, "c": 3.0, "b": 1.0, "d": 1.0})
    assert after["a"] == after["c"] > DEFAULT_RATING > after["b"] == after["d"]
