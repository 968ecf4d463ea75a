from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from game.matchmaking import (
    QueueRules,
    Ticket,
    balance_teams,
    form_matches,
    rating_window,
    seat_teams,
)

RULES = QueueRules(target_size=4, min_size=2, fill_timeout=10.0)


def ticket(n: int, rating: float = 1000.0, at: float = 0.0) -> Ticket:
    return Ticket(f"t{n}", f"p{n}", "arena", rating, at)


def test_a_full_group_of_close_ratings_forms_at_once() -> None:
    groups = form_matches([ticket(i, 1000 + i * 10) for i in range(4)], now=0.0, rules=RULES)
    assert [sorted(t.id for t in g) for g in groups] == [["t0", "t1", "t2", "t3"]]


def test_too_few_players_wait_until_the_fill_timeout() -> None:
    tickets = [ticket(1), ticket(2)]
    assert form_matches(tickets, now=5.0, rules=RULES) == []
    assert len(form_matches(tickets, now=10.0, rules=RULES)) == 1


def test_distant_ratings_do_not_match_until_the_window_widens() -> None:
    tickets = [ticket(1, 1000), ticket(2, 1400)] + [ticket(i, 1000) for i in (3, 4)]
    first = form_matches(tickets, now=0.0, rules=RULES)
    assert first == []  # 1400 is outside the 100-point window of the others
    later = form_matches(tickets, now=20.0, rules=RULES)  # window 600 now
    assert sorted(t.id for t in later[0]) == ["t1", "t2", "t3", "t4"]


def test_the_window_widens_with_waiting_time_up_to_a_cap() -> None:
    t = ticket(1)
    assert rating_window(t, 0.0, RULES) == RULES.base_window
    assert rating_window(t, 4.0, RULES) == RULES.base_window + 4 * RULES.widen_per_second
    assert rating_window(t, 10_000.0, RULES) == RULES.max_window


def test_the_same_player_is_never_matched_with_itself() -> None:
    twice = [Ticket("a", "p1", "arena", 1000, 0), Ticket("b", "p1", "arena", 1000, 0)]
    assert form_matches(twice, now=60.0, rules=RULES) == []


@given(
    ratings=st.lists(st.floats(0, 3000), max_size=40),
    now=st.floats(0, 120),
)
def test_every_ticket_lands_in_at_most_one_group_of_a_valid_size(
    ratings: list[float], now: float
) -> None:
    tickets = [ticket(i, r, at=float(i % 7)) for i, r in enumerate(ratings)]
    groups = form_matches(tickets, now, RULES)
    seen = [t.id for g in groups for t in g]
    assert len(seen) == len(set(seen))
    for group in groups:
        assert RULES.min_size <= len(group) <= RULES.target_size
        spread = max(t.rating for t in group) - min(t.rating for t in group)
        assert spread <= 2 * RULES.max_window


def test_matching_is_deterministic() -> None:
    tickets = [ticket(i, 900 + (i * 37) % 200, at=i * 0.5) for i in range(12)]
    assert form_matches(tickets, 30.0, RULES) == form_matches(list(reversed(tickets)), 30.0, RULES)


def test_team_balance_keeps_totals_close() -> None:
    tickets = [ticket(i, r) for i, r in enumerate([2000, 1800, 1500, 1400, 1200, 1000])]
    teams = balance_teams(tickets, 2)
    totals = [sum(t.rating for t in team) for team in teams]
    assert [len(team) for team in teams] == [3, 3]
    assert abs(totals[0] - totals[1]) <= 200


TEAMS = QueueRules(target_size=4, min_size=2, fill_timeout=5.0, teams=2)


def test_a_team_mode_groups_a_multiple_of_its_teams() -> None:
    three = [ticket(n, 1000 + n) for n in range(3)]
    assert form_matches(three, now=1.0, rules=TEAMS) == []  # waits for a fourth
    (group,) = form_matches(three, now=6.0, rules=TEAMS)  # the fill timeout: a 1v1
    assert [x.id for x in group] == ["t0", "t1"]  # the closest in rating stay
    (four,) = form_matches([ticket(n, 1000 + n) for n in range(5)], now=1.0, rules=TEAMS)
    assert len(four) == 4


@given(st.lists(st.floats(500, 2500), min_size=1, max_size=4))
def test_teams_are_seated_by_slot_parity_as_balanced(half: list[float]) -> None:
    group = [ticket(n, r) for n, r in enumerate(half + half[::-1])]
    seated = seat_teams(group, 2)
    assert sorted(x.id for x in seated) == sorted(x.id for x in group)
    teams = [{x.id for x in seated[team::2]} for team in (0, 1)]  # slot s: team s % 2
    balanced = [{x.id for x in members} for members in balance_teams(group, 2)]
    assert sorted(map(sorted, teams)) == sorted(map(sorted, balanced))


def test_a_free_for_all_keeps_the_groups_order() -> None:
    group = [ticket(n, 1000 + 100 * n) for n in range(3)]
    assert seat_teams(group, 0) == group
