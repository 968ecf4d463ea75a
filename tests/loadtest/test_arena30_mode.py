"""The arena-30 benchmark mode: its exact update rule, compact snapshots, strict input."""

from __future__ import annotations

import math

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from game.modes import Arena30Mode, InputRejected, build_modes
from game.modes.bench import Arena30State
from realtime.messages import snapshot_body, snapshot_frame

MODE = Arena30Mode()
unit = st.floats(-1.0, 1.0, allow_nan=False)


def test_registered_only_for_benchmarks() -> None:
    assert "arena30" not in build_modes()
    assert isinstance(build_modes(bench=True)["arena30"], Arena30Mode)


@given(unit, unit, st.floats(0, 1000), st.floats(0, 1000))
def test_step_is_the_issue_rule(dx: float, dy: float, x: float, y: float) -> None:
    state = Arena30State(0, ((x, y, 0.0, 0.0, 100, 0),))
    (p,) = MODE.step(state, [(dx, dy)], 1).players
    vx, vy = dx * 200, dy * 200
    assert p == (min(max(x + vx / 30, 0), 1000), min(max(y + vy / 30, 0), 1000), vx, vy, 100, 0)


def test_without_input_a_player_stands_still() -> None:
    state = MODE.step(MODE.initial_state(2, 1), [(1.0, 0.0), None], 1)
    assert state.players[1][2:4] == (0.0, 0.0)
    assert MODE.parse_input({"type": "input", "seq": 3, "dx": 1, "dy": -0.5}) == (1.0, -0.5)
    assert state.tick == 1


def test_deterministic_and_checkpointable() -> None:
    inputs = [(math.cos(a), math.sin(a)) for a in range(10)]
    a = b = MODE.initial_state(10, 5)
    for tick in range(1, 100):
        a, b = MODE.step(a, inputs, tick), MODE.step(b, inputs, tick)
    assert a == b
    assert MODE.load_state(orjson.loads(orjson.dumps(MODE.dump_state(a)))) == a


@pytest.mark.parametrize(
    "fields",
    [
        {"dx": 1.5, "dy": 0},
        {"dx": "1", "dy": 0},
        {"dx": True, "dy": 0},
        {"dx": 0},
        {"dx": 0, "dy": 0, "fire": True},
        {"dx": float("nan"), "dy": 0},
    ],
)
def test_bad_input_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(InputRejected):
        MODE.parse_input({"type": "input", "seq": 1, **fields})


def test_a_ten_player_state_message_fits_in_400_bytes() -> None:
    state = MODE.initial_state(10, 1)
    worst = [(-0.7071, -0.7071)] * 10
    for tick in range(1, 200):
        state = MODE.step(state, worst, tick)
    view = orjson.dumps(MODE.view(Arena30State(99_999, state.players), None))
    frame = snapshot_frame(999_999, snapshot_body(99_999, list(range(10)), view))
    assert len(frame) <= 400
    assert orjson.loads(frame)["players"][0][:1] == [0]
