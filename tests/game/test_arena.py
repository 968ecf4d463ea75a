"""The arena's rules and invariants, on the pure mode (no server)."""

from __future__ import annotations

import math

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from game.modes import ArenaMode, ArenaRules, InputRejected
from game.modes.arena import ArenaInput, ArenaState, Fighter

RULES = ArenaRules()
MODE = ArenaMode(RULES)
STILL = ArenaInput(0.0, 0.0, 0.0, False)


def run(state: ArenaState, inputs_per_tick: list[list[ArenaInput | None]]) -> ArenaState:
    for inputs in inputs_per_tick:
        state = MODE.step(state, inputs, state.tick + 1)
    return state


def with_fighters(*fighters: Fighter) -> ArenaState:
    return ArenaState(0, 1, tuple(fighters), (), 1, ())


inputs = st.builds(
    ArenaInput,
    st.floats(-1, 1),
    st.floats(-1, 1),
    st.floats(-math.pi, math.pi),
    st.booleans(),
)


def test_moving_right_for_one_second_covers_the_speed() -> None:
    state = with_fighters(Fighter(x=100.0, y=100.0, aim=0.0, hp=100))
    state = run(state, [[ArenaInput(1.0, 0.0, 0.0, False)]] * RULES.tick_rate)
    assert state.fighters[0].x == pytest.approx(100.0 + RULES.speed)
    assert state.fighters[0].y == pytest.approx(100.0)


def test_diagonal_movement_is_no_faster_than_straight() -> None:
    diagonal = MODE.parse_input({"dx": 1, "dy": 1, "aim": 0, "fire": False})
    assert math.hypot(diagonal.dx, diagonal.dy) == pytest.approx(1.0)


def test_players_are_clamped_inside_the_arena() -> None:
    state = with_fighters(Fighter(x=20.0, y=980.0, aim=0.0, hp=100))
    state = run(state, [[ArenaInput(-1.0, 1.0, 0.0, False)]] * 60)
    f = state.fighters[0]
    assert (f.x, f.y) == (RULES.player_radius, RULES.height - RULES.player_radius)


def test_a_shot_travels_hits_and_damages_the_target() -> None:
    shooter = Fighter(x=100.0, y=500.0, aim=0.0, hp=100)
    target = Fighter(x=300.0, y=500.0, aim=0.0, hp=100)
    state = run(with_fighters(shooter, target), [[ArenaInput(0, 0, 0.0, True), STILL]])
    assert len(state.shots) == 1 and state.fighters[0].shots == 1
    state = run(state, [[STILL, STILL]] * 15)
    assert state.fighters[1].hp == RULES.max_hp - RULES.damage
    assert state.fighters[0].hits == 1
    assert state.shots == ()


def test_fire_respects_the_cooldown() -> None:
    state = with_fighters(Fighter(x=100.0, y=100.0, aim=0.0, hp=100))
    held_trigger = [[ArenaInput(0, 0, math.pi / 2, True)]] * (RULES.fire_cooldown_ticks * 3)
    state = run(state, held_trigger)
    assert state.fighters[0].shots == 3


def test_a_kill_scores_and_the_victim_respawns_with_full_hp() -> None:
    shooter = Fighter(x=100.0, y=500.0, aim=0.0, hp=100)
    target = Fighter(x=140.0, y=500.0, aim=0.0, hp=RULES.damage)
    state = run(with_fighters(shooter, target), [[ArenaInput(0, 0, 0.0, True), STILL]] * 3)
    assert state.fighters[0].score == 1 and state.fighters[0].kills == 1
    assert state.fighters[1].deaths == 1 and not state.fighters[1].alive
    state = run(state, [[STILL, STILL]] * RULES.respawn_ticks)
    assert state.fighters[1].alive and state.fighters[1].hp == RULES.max_hp
    assert ("respawn", 1) in state.events or state.fighters[1].respawn == 0


def test_dead_players_cannot_shoot_or_move() -> None:
    dead = Fighter(x=100.0, y=100.0, aim=0.0, hp=0, respawn=30)
    state = run(with_fighters(dead), [[ArenaInput(1, 0, 0, True)]] * 5)
    assert state.fighters[0].x == 100.0 and state.shots == ()


def test_score_limit_ends_the_match_with_the_winner() -> None:
    mode = ArenaMode(ArenaRules(score_limit=1))
    shooter = Fighter(x=100.0, y=500.0, aim=0.0, hp=100)
    target = Fighter(x=140.0, y=500.0, aim=0.0, hp=RULES.damage)
    state = with_fighters(shooter, target)
    assert mode.outcome(state) is None
    for tick in range(1, 4):
        state = mode.step(state, [ArenaInput(0, 0, 0.0, True), STILL], tick)
    outcome = mode.outcome(state)
    assert outcome is not None
    assert (outcome.winner, outcome.reason) == (0, "score_limit")
    assert [s.kills for s in outcome.stats] == [1, 0]


def test_time_limit_with_equal_scores_is_a_draw() -> None:
    mode = ArenaMode(ArenaRules(time_limit_ticks=10))
    state = mode.initial_state(3, seed=7)
    for tick in range(1, 11):
        state = mode.step(state, [None, None, None], tick)
    outcome = mode.outcome(state)
    assert outcome is not None and outcome.reason == "time_limit" and outcome.winner is None


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"dx": 2, "dy": 0, "aim": 0, "fire": False}, "dx"),
        ({"dx": 0, "dy": -1.5, "aim": 0, "fire": False}, "dy"),
        ({"dx": "1", "dy": 0, "aim": 0, "fire": False}, "dx"),
        ({"dx": True, "dy": 0, "aim": 0, "fire": False}, "dx"),
        ({"dx": 0, "dy": 0, "aim": float("nan"), "fire": False}, "aim"),
        ({"dx": 0, "dy": 0, "aim": float("inf"), "fire": False}, "aim"),
        ({"dx": 0, "dy": 0, "aim": 10**400, "fire": False}, "aim"),
        ({"dx": 0, "dy": 0, "aim": 0, "fire": 1}, "fire"),
        ({"dx": 0, "dy": 0, "aim": 0}, "fire"),
        ({"dx": 0, "dy": 0, "aim": 0, "fire": False, "x": 500}, "unknown"),
    ],
)
def test_bad_inputs_are_rejected_with_a_reason(fields: dict[str, object], complaint: str) -> None:
    with pytest.raises(InputRejected, match=complaint):
        MODE.parse_input(fields)


def test_huge_but_finite_aim_is_normalised() -> None:
    parsed = MODE.parse_input({"dx": 0, "dy": 0, "aim": 1e300, "fire": False})
    assert -math.pi <= parsed.aim <= math.pi


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**63),
    script=st.lists(st.lists(inputs, min_size=3, max_size=3), max_size=120),
)
def test_invariants_hold_for_any_inputs(seed: int, script: list[list[ArenaInput]]) -> None:
    state = MODE.initial_state(3, seed)
    r = RULES.player_radius
    for tick, step_inputs in enumerate(script, start=1):
        state = MODE.step(state, step_inputs, tick)
        for f in state.fighters:
            assert r <= f.x <= RULES.width - r and r <= f.y <= RULES.height - r
            assert 0 <= f.hp <= RULES.max_hp
            assert f.alive == (f.respawn == 0)
        for shot in state.shots:
            assert 0 <= shot.x <= RULES.width and 0 <= shot.y <= RULES.height


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**63),
    script=st.lists(st.lists(inputs, min_size=4, max_size=4), max_size=90),
)
def test_same_seed_and_inputs_give_byte_identical_states(
    seed: int, script: list[list[ArenaInput]]
) -> None:
    def play() -> str:
        state = MODE.initial_state(4, seed)
        for tick, step_inputs in enumerate(script, start=1):
            state = MODE.step(state, step_inputs, tick)
        return repr(state)

    assert play() == play()


def test_different_seeds_spawn_differently() -> None:
    assert MODE.initial_state(4, 1).fighters != MODE.initial_state(4, 2).fighters


def test_view_is_compact_and_complete() -> None:
    state = MODE.initial_state(10, seed=3)
    snapshot = MODE.view(state, None)
    assert snapshot["left"] == RULES.time_limit_ticks
    assert not snapshot.keys() & {"type", "ack", "tick", "online"}  # the server's fields
    assert all(MODE.view(state, slot) == snapshot for slot in range(10))  # nothing hidden
    assert [row[0] for row in snapshot["players"]] == list(range(10))
    assert all(len(row) == 7 for row in snapshot["players"])


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**64 - 1),
    script=st.lists(st.lists(inputs, min_size=3, max_size=3), max_size=60),
)
def test_a_checkpoint_round_trip_continues_bit_for_bit(
    seed: int, script: list[list[ArenaInput]]
) -> None:
    """Failover restores a dumped state: the match must go on exactly as if nothing happened."""
    state = MODE.initial_state(3, seed)
    half = len(script) // 2
    for tick, step_inputs in enumerate(script[:half], start=1):
        state = MODE.step(state, step_inputs, tick)
    restored = MODE.load_state(orjson.loads(orjson.dumps(MODE.dump_state(state))))
    assert restored == state._replace(events=())
    a, b = state, restored
    for tick, step_inputs in enumerate(script[half:], start=half + 1):
        a, b = MODE.step(a, step_inputs, tick), MODE.step(b, step_inputs, tick)
    assert repr(a) == repr(b)
