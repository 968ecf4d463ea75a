"""Which modes a server offers is configuration: SKIRMISH_MODES, read by the mode loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from game.modes import ArenaMode, ArenaRules
from skirmish.base.mode_loader import ModeConfigError, load_modes
from skirmish.base.settings import Settings

BUILTIN = {"arena": ArenaMode(ArenaRules())}
ARENA30 = "game.modes.bench:Arena30Mode"


class Incomplete:
    """A class that looks like a mode from afar."""

    name, version, tick_rate, min_players, max_players = "half", 1, 30, 2, 4

    def step(self, state: Any, inputs: Any, tick: int) -> Any:
        return state


class TwentyHertz(ArenaMode):
    def __init__(self) -> None:
        super().__init__(ArenaRules(tick_rate=20))
        self.name = "slowpoke"


class Frantic(ArenaMode):
    def __init__(self) -> None:
        super().__init__(ArenaRules(tick_rate=90))
        self.name = "frantic"


class BadSettings(ArenaMode):
    """Settings whose schema is not one."""

    @property
    def settings_schema(self) -> dict[str, Any]:
        return {"type": "object", "properties": {"x": {"type": "lots"}}}


class UnreachableDefaults(ArenaMode):
    """Defaults its own schema refuses: `{}` could never be played."""

    @property
    def settings_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"x": {"type": "integer", "minimum": 5, "default": 1}},
        }


class SettingsWithoutConfigure(Incomplete):
    @property
    def settings_schema(self) -> dict[str, Any]:
        return {"type": "object"}


def broken_factory() -> Any:
    raise RuntimeError("the studio's bug")


def test_builtin_and_module_path_modes_are_offered_by_name() -> None:
    modes = load_modes(["arena", ARENA30, f"{__name__}:TwentyHertz"], BUILTIN)
    assert list(modes) == ["arena", "arena30", "slowpoke"]
    assert modes["arena"] is BUILTIN["arena"] and modes["slowpoke"].tick_rate == 20


def test_a_mode_registered_by_an_installed_package_is_found_by_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A distribution's `skirmish.modes` entry point, as `pip install` leaves it on disk."""
    info = tmp_path / "studio_modes-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: studio-modes\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[skirmish.modes]\nsprint = {ARENA30}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert list(load_modes(["sprint"], BUILTIN)) == ["arena30"]


@pytest.mark.parametrize(
    ("specs", "says"),
    [
        ([], "SKIRMISH_MODES is empty"),
        (["chess"], "chess: no such mode"),
        (["no_such_package.modes:Chess"], "cannot import it"),
        (["game.modes.bench:Nothing"], "cannot import it"),
        ([f"{__name__}:Incomplete"], "missing methods: initial_state, parse_input"),
        ([f"{__name__}:Frantic"], "tick_rate must be a whole number of Hz from 1 to 60"),
        ([f"{__name__}:broken_factory"], "building the mode failed (RuntimeError"),
        (["arena", "arena"], "a second mode named 'arena'"),
        ([f"{__name__}:BadSettings"], "settings_schema is not a JSON Schema"),
        ([f"{__name__}:UnreachableDefaults"], "settings_schema's defaults must satisfy it"),
        ([f"{__name__}:SettingsWithoutConfigure"], "must define configure(settings)"),
    ],
)
def test_a_mode_that_cannot_be_offered_is_refused_with_a_message_naming_it(
    specs: list[str], says: str
) -> None:
    with pytest.raises(ModeConfigError) as refused:
        load_modes(specs, BUILTIN)
    assert says in str(refused.value)


def test_skirmish_modes_takes_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKIRMISH_MODES", f"arena, {ARENA30}")
    assert list(Settings(token_secret="x" * 32).modes) == ["arena", "arena30"]
    monkeypatch.delenv("SKIRMISH_MODES")
    assert list(Settings(token_secret="x" * 32).modes) == ["arena", "ctf"]
