"""The example mode keeps the contract's rules: deterministic, checkpointable, strict input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tag_mode import GRACE_TICKS, ROUND_SECONDS, TICK_RATE, Move, TagMode

from game.replay import replay
from skirmish.base.mode_loader import check_mode
from skirmish.modes import InputRejected

MODE = TagMode()
moves = st.builds(Move, st.floats(-1, 1), st.floats(-1, 1))


def test_it_is_a_usable_mode() -> None:
    assert check_mode(MODE, "tag") is MODE


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**63), script=st.lists(st.lists(moves, min_size=3, max_size=3)))
def test_the_same_seed_and_inputs_give_the_same_match_and_survive_a_checkpoint(
    seed: int, script: list[list[Move]]
) -> None:
    state = MODE.initial_state(3, seed)
    for tick, inputs in enumerate(script, 1):
        state = MODE.step(state, inputs, tick)
        restored = MODE.load_state(MODE.dump_state(state))
        assert restored == state._replace(events=())  # events are the last step's, not state
    log = [
        [tick, slot, {"dx": m.dx, "dy": m.dy}]
        for tick, row in enumerate(script, 1)
        for slot, m in enumerate(row)
    ]
    replayed, _ = replay(MODE, 3, seed, log, len(script))
    assert replayed == state


def test_a_touch_passes_it_on_after_the_grace_and_the_round_ends_on_time() -> None:
    state = MODE.initial_state(2, seed=1)
    it, other = state.it, 1 - state.it
    runners = list(state.runners)
    runners[other] = runners[it]._replace(x=runners[it].x + 10)  # within reach
    state = state._replace(runners=tuple(runners))
    for tick in range(1, GRACE_TICKS + 1):
        state = MODE.step(state, [None, None], tick)
    assert state.it == other and state.events == (("tag", it, other),)
    while (outcome := MODE.outcome(state)) is None:
        state = MODE.step(state, [None, None], state.tick + 1)
    assert state.tick == ROUND_SECONDS * TICK_RATE and outcome.reason == "time_limit"


@pytest.mark.parametrize(
    "fields", [{}, {"dx": 2, "dy": 0}, {"dx": True, "dy": 0}, {"dx": 0, "dy": 0, "fire": True}]
)
def test_bad_input_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(InputRejected):
        MODE.parse_input({"type": "input", "seq": 1, **fields})
