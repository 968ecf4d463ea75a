from __future__ import annotations

import pytest

from game.ratings import DEFAULT_RATING, update_ratings


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
