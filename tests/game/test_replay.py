from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from game.modes import ArenaMode, ArenaRules
from game.replay import replay

MODE = ArenaMode(ArenaRules(time_limit_ticks=300, score_limit=3))

messages = st.fixed_dictionaries(
    {
        "type": st.just("input"),
        "seq": st.just(1),
        "dx": st.floats(-1, 1),
        "dy": st.floats(-1, 1),
        "aim": st.floats(-3.14, 3.14),
        "fire": st.booleans(),
    }
)
entries = st.lists(
    st.tuples(st.integers(1, 300), st.integers(0, 2), st.one_of(st.none(), messages)),
    max_size=80,
)


def live(seed: int, log: list[tuple[int, int, Any]]) -> tuple[Any, Any]:
    """What the match loop does: each tick, apply that tick's entries, then step."""
    state, held = MODE.initial_state(3, seed), [None, None, None]
    for tick in range(1, 301):
        for t, slot, message in log:
            if t == tick:
                held[slot] = None if message is None else MODE.parse_input(message)
        state = MODE.step(state, held, tick)
        if (outcome := MODE.outcome(state)) is not None:
            return state, outcome
    return state, None


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**63), log=entries)
def test_a_replay_reproduces_the_live_match(seed: int, log: list[tuple[int, int, Any]]) -> None:
    log.sort(key=lambda e: e[0])
    assert replay(MODE, 3, seed, log, ticks=300) == live(seed, log)


def test_a_replay_stops_at_the_end_of_the_match() -> None:
    state, outcome = replay(MODE, 2, seed=5, inputs=[], ticks=1000)
    assert outcome is not None and outcome.reason == "time_limit" and state.tick == 300
