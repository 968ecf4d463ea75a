"""Each mode's published input schema says exactly what its parse_input accepts (the
built-in ones, and the example a studio would write)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from tag_mode import TagMode

from game.modes import Arena30Mode, ArenaMode, CtfMode, InputRejected
from game.modes.base import GameMode

MODES: list[GameMode[Any, Any]] = [ArenaMode(), Arena30Mode(), CtfMode(), TagMode()]
values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(-3, 3), st.text(max_size=3),
    st.sampled_from([float("nan"), float("inf"), 10**400]),
)  # fmt: skip
messages = st.dictionaries(st.sampled_from(["dx", "dy", "aim", "fire", "sprint", "jump"]), values)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.name)
def test_the_schema_is_valid_json_schema(mode: GameMode[Any, Any]) -> None:
    Draft202012Validator.check_schema(mode.input_schema)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.name)
@settings(max_examples=300, deadline=None)
@given(fields=messages)
def test_parse_input_accepts_what_the_schema_describes(
    mode: GameMode[Any, Any], fields: dict[str, Any]
) -> None:
    described = Draft202012Validator(mode.input_schema).is_valid(fields)
    finite = all(math.isfinite(v) for v in fields.values() if isinstance(v, float))
    try:
        mode.parse_input({"type": "input", "seq": 1, **fields})
        accepted = True
    except InputRejected:
        accepted = False
    # JSON has no NaN or infinity: a client cannot send them, and parse_input refuses them.
    assert accepted == (described and finite)
