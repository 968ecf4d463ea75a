"""Capture the flag's rules, its determinism and its fog of war, on the pure mode."""

from __future__ import annotations

import math

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from game import rng
from game.modes.base import InputRejected
from game.modes.ctf import CtfInput, CtfMode, CtfRules, CtfState, Flag, Player

RULES = CtfRules()
MODE = CtfMode(RULES)
STILL = CtfInput(0.0, 0.0, False)
(B0X, B0Y), (B1X, B1Y) = MODE.bases
SERVER_FIELDS = {"type", "ack", "tick", "online"}


def go(dx: float, dy: float, sprint: bool = False) -> CtfInput:
    return MODE.parse_input({"type": "input", "seq": 1, "dx": dx, "dy": dy, "sprint": sprint})


def state_with(
    *players: Player, flags: tuple[Flag, ...] = (), score: tuple[int, ...] = (0, 0)
) -> CtfState:
    return CtfState(0, 1, players, flags or (Flag(B0X, B0Y), Flag(B1X, B1Y)), score, ())


def run(state: CtfState, inputs: list[CtfInput | None], ticks: int) -> CtfState:
    for _ in range(ticks):
        state = MODE.step(state, inputs, state.tick + 1)
    return state


def bot_inputs(state: CtfState, noise: int) -> tuple[list[CtfInput | None], int]:
    """Simple players: take the enemy flag home, chase whoever has ours, wobble, sprint."""
    inputs: list[CtfInput | None] = []
    for slot, p in enumerate(state.players):
        team = slot % 2
        own, enemy = state.flags[team], state.flags[1 - team]
        if enemy.carrier == slot:
            tx, ty = MODE.bases[team]
        elif own.status != "home":
            tx, ty = own.x, own.y
        else:
            tx, ty = enemy.x, enemy.y
        wobble, noise = rng.uniform(noise, -1.2, 1.2)
        roll, noise = rng.next_float(noise)
        angle = math.atan2(ty - p.y, tx - p.x) + wobble
        move = go(math.cos(angle), math.sin(angle), roll < 0.3)
        inputs.append(None if roll > 0.97 else move)
    return inputs, noise


def bot_match(players: int, seed: int, ticks: int) -> list[CtfState]:
    """Every state of a bot match from tick 0, `ticks` steps or to its end."""
    states = [MODE.initial_state(players, seed)]
    noise = rng.seed_state(seed ^ 0x5EED)
    while len(states) <= ticks and MODE.outcome(states[-1]) is None:
        inputs, noise = bot_inputs(states[-1], noise)
        states.append(MODE.step(states[-1], inputs, states[-1].tick + 1))
    return states


raw_inputs = st.one_of(
    st.none(), st.builds(CtfInput, st.floats(-1, 1), st.floats(-1, 1), st.booleans())
)


# -- the contract --------------------------------------------------------------------------


def test_the_mode_declares_a_team_game_with_hidden_information() -> None:
    assert (MODE.name, MODE.version, MODE.tick_rate) == ("ctf", 1, 20)
    assert (MODE.min_players, MODE.max_players, MODE.teams) == (2, 4, 2)
    assert MODE.hides_information is True
    Draft202012Validator.check_schema(MODE.input_schema)


def test_rules_scale_with_the_tick_rate() -> None:
    fast = CtfMode(CtfRules(tick_rate=30))
    assert fast.tick_rate == 30 and fast.client_config()["tick_rate"] == 30
    assert fast.time_limit_ticks == 300 * 30 and fast.jail_ticks == 60
    assert MODE.time_limit_ticks == 300 * 20 and MODE.jail_ticks == 40


def test_client_config_has_what_a_browser_draws_and_predicts() -> None:
    config = MODE.client_config()
    assert orjson.loads(orjson.dumps(config)) == config
    assert {
        "tick_rate", "width", "height", "player_radius", "speed", "sprint_factor",
        "stamina_drain", "stamina_regen", "bases", "base_radius", "flag_radius",
        "sight_radius", "jail_ticks", "flag_return_ticks", "capture_limit", "time_limit_ticks",
    } == config.keys()  # fmt: skip
    assert config["bases"] == [[90.0, 300.0], [1110.0, 300.0]]
    assert config["time_limit_ticks"] == 6000


def test_initial_state_spawns_each_team_at_its_base() -> None:
    state = MODE.initial_state(4, seed=9)
    for slot, p in enumerate(state.players):
        base_x, base_y = MODE.bases[slot % 2]
        assert math.hypot(p.x - base_x, p.y - base_y) < RULES.base_radius
    assert MODE.initial_state(4, 1).players != MODE.initial_state(4, 2).players
    assert [f.status for f in state.flags] == ["home", "home"] and state.score == (0, 0)
    with pytest.raises(ValueError):
        MODE.initial_state(5, seed=1)


# -- input ---------------------------------------------------------------------------------


def test_good_inputs_are_parsed_and_diagonals_clamped() -> None:
    assert go(1, 0) == CtfInput(1.0, 0.0, False)
    assert isinstance(go(-1, 0).dx, float)
    diagonal = go(1, -1, True)
    assert math.hypot(diagonal.dx, diagonal.dy) == pytest.approx(1.0) and diagonal.sprint


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"dx": 2, "dy": 0, "sprint": False}, "dx"),
        ({"dx": 0, "dy": -1.5, "sprint": False}, "dy"),
        ({"dx": "1", "dy": 0, "sprint": False}, "dx"),
        ({"dx": True, "dy": 0, "sprint": False}, "dx"),
        ({"dx": 0, "dy": None, "sprint": False}, "dy"),
        ({"dx": float("nan"), "dy": 0, "sprint": False}, "dx"),
        ({"dx": 0, "dy": float("-inf"), "sprint": False}, "dy"),
        ({"dx": 10**400, "dy": 0, "sprint": False}, "dx"),
        ({"dx": 0, "dy": 0, "sprint": 1}, "sprint"),
        ({"dx": 0, "dy": 0, "sprint": "yes"}, "sprint"),
        ({"dx": 0, "dy": 0}, "sprint"),
        ({"dy": 0, "sprint": False}, "dx"),
        ({"dx": 0, "dy": 0, "sprint": False, "x": 500}, "unknown"),
    ],
)
def test_bad_inputs_are_rejected_with_a_reason(fields: dict[str, object], complaint: str) -> None:
    with pytest.raises(InputRejected, match=complaint):
        MODE.parse_input({"type": "input", "seq": 3, **fields})


# -- movement ------------------------------------------------------------------------------


def test_moving_for_one_second_covers_the_speed_and_sprint_is_faster() -> None:
    state = state_with(Player(300.0, 200.0), Player(900.0, 200.0))
    state = run(state, [go(1, 0), go(-1, 0, sprint=True)], RULES.tick_rate)
    walker, sprinter = state.players
    assert walker.x == pytest.approx(300.0 + RULES.speed) and walker.stamina == 100.0
    assert sprinter.x == pytest.approx(900.0 - RULES.speed * RULES.sprint_factor)
    assert sprinter.stamina == pytest.approx(100.0 * (1 - 1 / RULES.sprint_seconds))


def test_without_stamina_sprint_is_normal_speed_and_rest_recovers_it() -> None:
    state = state_with(Player(300.0, 200.0, stamina=0.0), Player(900.0, 200.0))
    state = run(state, [go(1, 0, sprint=True), None], 10)
    assert state.players[0].x == pytest.approx(300.0 + 10 * RULES.speed / RULES.tick_rate)
    assert state.players[0].stamina == 0.0
    state = run(state, [go(0, 0, sprint=True), None], RULES.tick_rate)  # standing still
    assert state.players[0].stamina == pytest.approx(100.0 / RULES.recover_seconds)


def test_players_stay_on_the_field() -> None:
    state = run(state_with(Player(20.0, 580.0), Player(1190.0, 10.0)), [go(-1, 1), go(1, -1)], 30)
    r = RULES.player_radius
    assert state.players[0][:2] == (r, RULES.height - r)
    assert state.players[1][:2] == (RULES.width - r, r)


# -- flags ---------------------------------------------------------------------------------


def test_a_capture_scores_and_sends_the_flag_home() -> None:
    state = state_with(Player(B1X - 20.0, B1Y), Player(1000.0, 50.0))
    state = MODE.step(state, [STILL, None], 1)
    assert ("pickup", 0, 1) in state.events
    assert state.flags[1] == Flag(B1X - 20.0, B1Y, "carried", 0, 0)
    captured = None
    while captured is None and state.tick < 200:
        state = MODE.step(state, [go(-1, 0, sprint=True), None], state.tick + 1)
        assert state.flags[1].status in ("carried", "home")
        captured = next((e for e in state.events if e[0] == "capture"), None)
    assert captured == ("capture", 0, 0)
    assert state.score == (1, 0) and state.flags[1] == Flag(B1X, B1Y)
    assert math.hypot(state.players[0].x - B0X, state.players[0].y - B0Y) <= RULES.base_radius
    assert MODE.outcome(state) is None


def test_no_capture_until_the_own_flag_is_home() -> None:
    away = Flag(600.0, 100.0, "dropped", -1, 3)
    carried = Flag(B0X + 20.0, B0Y, "carried", 0, 0)
    state = state_with(Player(B0X + 20.0, B0Y), Player(1100.0, 550.0), flags=(away, carried))
    state = run(state, [STILL, STILL], 2)
    assert state.score == (0, 0) and state.flags[0].timer == 1
    state = run(state, [STILL, STILL], 1)  # the flag comes home by itself: now it counts
    assert state.events == (("return", None, 0), ("capture", 0, 0))
    assert state.score == (1, 0) and state.flags == (Flag(B0X, B0Y), Flag(B1X, B1Y))


def test_a_dropped_flag_returns_when_its_team_touches_it_or_by_itself() -> None:
    dropped = Flag(700.0, 300.0, "dropped", -1, MODE.flag_return_ticks)
    state = state_with(Player(300.0, 300.0), Player(715.0, 300.0), flags=(dropped, Flag(B1X, B1Y)))
    taken = MODE.step(state, [None, STILL], 1)  # the enemy's flag: picked up
    assert taken.flags[0] == Flag(715.0, 300.0, "carried", 1, 0)
    mine = state._replace(flags=(Flag(B0X, B0Y), dropped._replace(x=715.0)))
    returned = MODE.step(mine, [None, STILL], 1)  # one's own: sent home
    assert returned.flags[1] == Flag(B1X, B1Y) and returned.events == (("return", 1, 1),)
    alone = state._replace(players=(Player(300.0, 300.0), Player(1000.0, 300.0)))
    alone = run(alone, [None, None], MODE.flag_return_ticks - 1)
    assert alone.flags[0].status == "dropped"
    alone = run(alone, [None, None], 1)
    assert alone.flags[0] == Flag(B0X, B0Y) and alone.events == (("return", None, 0),)


# -- tags ----------------------------------------------------------------------------------


def test_a_tag_in_the_own_half_jails_the_enemy_and_drops_the_flag() -> None:
    carried = Flag(800.0, 300.0, "carried", 0, 0)
    state = state_with(Player(800.0, 300.0), Player(820.0, 300.0), flags=(Flag(B0X, B0Y), carried))
    state = MODE.step(state, [STILL, STILL], 1)
    assert state.events == (("tag", 1, 0), ("drop", 0, 1))
    victim, tagger = state.players
    assert (victim.x, victim.y) == MODE.spot(0) and victim.jail == MODE.jail_ticks
    assert (victim.deaths, tagger.tags) == (1, 1)
    assert state.flags[1] == Flag(800.0, 300.0, "dropped", -1, MODE.flag_return_ticks)
    state = MODE.step(state, [go(1, 0), STILL], 2)  # the tagger stands on it: home it goes
    assert ("return", 1, 1) in state.events and state.flags[1] == Flag(B1X, B1Y)
    state = run(state, [go(1, 0), STILL], MODE.jail_ticks - 1)  # jailed: cannot move
    assert (state.players[0].x, state.players[0].y) == MODE.spot(0) and not state.players[0].jail
    state = run(state, [go(1, 0), STILL], 1)
    assert state.players[0].x > MODE.spot(0)[0]


def test_only_the_player_in_the_enemy_half_is_tagged() -> None:
    state = state_with(Player(400.0, 300.0), Player(420.0, 300.0))
    state = MODE.step(state, [STILL, STILL], 1)
    assert state.events == (("tag", 0, 1),)
    assert state.players[0].jail == 0 and state.players[1].jail == MODE.jail_ticks
    across = state_with(Player(610.0, 300.0), Player(590.0, 300.0))  # both in enemy halves
    assert MODE.step(across, [STILL, STILL], 1).events == (("tag", 1, 0), ("tag", 0, 1))


def test_jailed_players_neither_tag_nor_get_tagged() -> None:
    state = state_with(Player(400.0, 300.0, jail=5), Player(420.0, 300.0))
    assert MODE.step(state, [STILL, STILL], 1).events == ()
    state = state_with(Player(400.0, 300.0), Player(420.0, 300.0, jail=5))
    assert MODE.step(state, [STILL, STILL], 1).events == ()


# -- the end -------------------------------------------------------------------------------


def test_the_third_capture_ends_the_match_with_the_right_winner_and_stats() -> None:
    carried = Flag(B1X - 60.0, B1Y, "carried", 3, 0)
    state = state_with(
        Player(500.0, 100.0, tags=2, deaths=1),
        Player(600.0, 500.0, tags=1),
        Player(500.0, 400.0, deaths=2),
        Player(B1X - 60.0, B1Y, tags=4),
        flags=(carried, Flag(B1X, B1Y)),
        score=(1, 2),
    )
    assert MODE.outcome(state) is None
    state = MODE.step(state, [STILL, STILL, STILL, go(1, 0)], 1)
    assert ("capture", 3, 1) in state.events and state.score == (1, 3)
    outcome = MODE.outcome(state)
    assert outcome is not None
    assert (outcome.winner, outcome.reason) == (1, "capture_limit")
    assert [(s.slot, s.score, s.kills, s.deaths) for s in outcome.stats] == [
        (0, 1, 2, 1), (1, 3, 1, 0), (2, 1, 0, 2), (3, 3, 4, 0),
    ]  # fmt: skip


def test_the_time_limit_ends_the_match_as_a_draw_or_a_win() -> None:
    mode = CtfMode(CtfRules(time_limit_seconds=1))
    state = mode.initial_state(3, seed=4)
    for tick in range(1, RULES.tick_rate):
        state = mode.step(state, [None, None, None], tick)
    assert mode.outcome(state) is None and mode.view(state, 0)["left"] == 1
    state = mode.step(state, [None, None, None], RULES.tick_rate)
    outcome = mode.outcome(state)
    assert outcome is not None and (outcome.winner, outcome.reason) == (None, "time_limit")
    assert [s.score for s in outcome.stats] == [0, 0, 0]
    won = mode.outcome(state._replace(score=(0, 1)))
    assert won is not None and won.winner == 1


# -- determinism and checkpoints -----------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    players=st.integers(2, 4),
    seed=st.integers(0, 2**64 - 1),
    script=st.lists(st.lists(raw_inputs, min_size=4, max_size=4), max_size=60),
)
def test_same_seed_and_inputs_give_identical_states(
    players: int, seed: int, script: list[list[CtfInput | None]]
) -> None:
    def play() -> str:
        state = MODE.initial_state(players, seed)
        for tick, inputs in enumerate(script, start=1):
            state = MODE.step(state, inputs[:players], tick)
        return repr(state)

    assert play() == play()


@settings(max_examples=12, deadline=None)
@given(players=st.integers(2, 4), seed=st.integers(0, 2**64 - 1), half=st.integers(0, 400))
def test_a_checkpoint_round_trip_continues_bit_for_bit(players: int, seed: int, half: int) -> None:
    """Failover restores a dumped state: the match must go on exactly as if nothing happened."""
    state = bot_match(players, seed, half)[-1]
    restored = MODE.load_state(orjson.loads(orjson.dumps(MODE.dump_state(state))))
    assert restored == state._replace(events=())
    assert repr(restored) == repr(state._replace(events=()))
    a, b, noise = state, restored, rng.seed_state(seed)
    for _ in range(150):
        inputs, noise = bot_inputs(a, noise)
        a, b = MODE.step(a, inputs, a.tick + 1), MODE.step(b, inputs, b.tick + 1)
    assert repr(a) == repr(b)


def test_bot_matches_are_eventful_and_end() -> None:
    kinds: set[str] = set()
    for seed in range(3):
        states = bot_match(4, seed, MODE.time_limit_ticks)
        assert MODE.outcome(states[-1]) is not None
        kinds.update(e[0] for s in states for e in s.events)
    assert kinds == {"tag", "pickup", "drop", "return", "capture"}


# -- fog of war ----------------------------------------------------------------------------


def sight_of(state: CtfState, team: int) -> set[int]:
    """The slots `team` may see, worked out here independently of the mode."""
    mates = state.players[team::2]
    reach2 = RULES.sight_radius**2
    return {
        s
        for s, p in enumerate(state.players)
        if s % 2 == team or any((p.x - m.x) ** 2 + (p.y - m.y) ** 2 <= reach2 for m in mates)
    }


def check_fog(state: CtfState, slot: int) -> bool:
    """Assert `slot`'s view reveals no hidden enemy; True if some enemy was hidden."""
    team = slot % 2
    seen = sight_of(state, team)
    hidden = set(range(len(state.players))) - seen
    view = orjson.loads(orjson.dumps(MODE.view(state, slot)))
    assert not view.keys() & SERVER_FIELDS
    assert [row[0] for row in view["players"]] == sorted(seen)
    for row in view["players"]:
        assert len(row) == 7 and row[1] == row[0] % 2
        assert (row[6] is None) == (row[1] != team)
    for event in view.get("events", []):
        named = event[1:3] if event[0] == "tag" else event[1:2]
        assert not hidden & set(named), (event, hidden)
    for t, x, y, status in view["flags"]:
        flag = state.flags[t]
        if status == "carried" and flag.carrier in hidden:
            assert (x, y) == (None, None)
        if status == "dropped" and t != team:
            assert any(
                math.hypot(p.x - x, p.y - y) <= RULES.sight_radius + 0.1
                for p in state.players[team::2]
            )
    shown = {row[0] for row in view["flags"]}
    assert team in shown and (1 - team in shown or state.flags[1 - team].status == "dropped")
    return bool(hidden)


def check_spectator(state: CtfState) -> None:
    view = MODE.view(state, None)
    assert [row[0] for row in view["players"]] == list(range(len(state.players)))
    assert all(row[6] is not None for row in view["players"])
    assert [row[0] for row in view["flags"]] == [0, 1] and all(
        row[1] is not None for row in view["flags"]
    )
    assert view.get("events", []) == [list(e) for e in state.events]


@settings(max_examples=10, deadline=None)
@given(players=st.integers(2, 4), seed=st.integers(0, 2**64 - 1))
def test_no_view_reveals_an_enemy_out_of_sight(players: int, seed: int) -> None:
    hidden_somewhere = enemy_seen = False
    for state in bot_match(players, seed, 600):
        check_spectator(state)
        for slot in range(players):
            hidden_somewhere |= check_fog(state, slot)
            enemy_seen |= any(row[1] != slot % 2 for row in MODE.view(state, slot)["players"])
    assert hidden_somewhere and enemy_seen  # the check was not vacuous


def test_whole_bot_matches_keep_the_fog() -> None:
    for seed in (11, 12):
        for state in bot_match(4, seed, MODE.time_limit_ticks):
            for slot in range(4):
                check_fog(state, slot)


def test_events_and_flags_name_no_hidden_enemy() -> None:
    carried = Flag(800.0, 300.0, "carried", 0, 0)
    state = state_with(Player(800.0, 300.0), Player(820.0, 300.0), flags=(Flag(B0X, B0Y), carried))
    state = MODE.step(state, [STILL, STILL], 1)  # 0 is tagged and jailed, far from 1
    assert MODE.view(state, 0)["events"] == [["tag", None, 0], ["drop", 0, 1]]
    assert MODE.view(state, 1)["events"] == [["tag", 1, None], ["drop", None, 1]]
    assert MODE.view(state, None)["events"] == [["tag", 1, 0], ["drop", 0, 1]]
    taken = Flag(500.0, 300.0, "carried", 1, 0)
    state = state_with(Player(1100.0, 300.0), Player(500.0, 300.0), flags=(taken, Flag(B1X, B1Y)))
    view = MODE.view(state, 0)
    assert [row[0] for row in view["players"]] == [0]
    assert view["flags"] == [[0, None, None, "carried"], [1, B1X, B1Y, "home"]]
    assert MODE.view(state, None)["flags"][0] == [0, 500.0, 300.0, "carried"]


def test_a_view_rounds_positions_and_shows_own_stamina_only() -> None:
    state = state_with(Player(100.04, 299.96, stamina=55.4), Player(200.0, 300.0, stamina=20.0))
    view = MODE.view(state, 0)
    assert view["players"] == [[0, 0, 100.0, 300.0, 0, 0, 55], [1, 1, 200.0, 300.0, 0, 0, None]]
    assert view["left"] == MODE.time_limit_ticks and view["score"] == [0, 0]
    assert "events" not in view
    assert MODE.view(state, None)["players"][1][6] == 20
