"""Which game modes a server offers: configuration, not code.

`SKIRMISH_MODES` lists them (comma-separated), each as
- `arena`: the built-in arena, its rules from `SKIRMISH_ARENA_*`;
- a name that an installed package registers in the `skirmish.modes` entry-point group
  (`[project.entry-points."skirmish.modes"]` in its pyproject.toml); or
- `package.module:Name`, a class or factory in an importable module.

A class or factory is called with no arguments and must give a game mode (the contract
in `skirmish.modes`); what it gives is checked here, before the server starts, so that a
misconfigured deployment fails at once with a message that names the mode.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any

from game.modes import AnyMode
from skirmish.base.mode_settings import check_schema

ENTRY_POINT_GROUP = "skirmish.modes"
NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
METHODS = (
    "initial_state", "parse_input", "step", "view", "outcome", "client_config",
    "dump_state", "load_state",
)  # fmt: skip
MAX_TICK_RATE = 60


class ModeConfigError(ValueError):
    """SKIRMISH_MODES names a mode that cannot be offered; the message says why."""


def load_modes(specs: Sequence[str], builtin: Mapping[str, AnyMode]) -> dict[str, AnyMode]:
    """The modes `specs` name, by their names."""
    if not specs:
        raise ModeConfigError("SKIRMISH_MODES is empty: name at least one game mode")
    modes: dict[str, AnyMode] = {}
    for spec in specs:
        mode = check_mode(builtin.get(spec) or _build(_find(spec), spec), spec)
        if mode.name in modes:
            raise ModeConfigError(f"{spec}: a second mode named {mode.name!r}")
        modes[mode.name] = mode
    return modes


def _find(spec: str) -> Callable[[], Any]:
    if ":" in spec:
        module_name, _, attribute = spec.partition(":")
        try:
            found: Callable[[], Any] = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise ModeConfigError(f"{spec}: cannot import it ({exc})") from exc
        return found
    registered = entry_points(group=ENTRY_POINT_GROUP, name=spec)
    if not registered:
        raise ModeConfigError(
            f"{spec}: no such mode (not built in, no installed package registers it in the "
            f"{ENTRY_POINT_GROUP!r} entry-point group, not a 'package.module:Name')"
        )
    try:
        loaded: Callable[[], Any] = next(iter(registered)).load()
    except (ImportError, AttributeError) as exc:
        raise ModeConfigError(f"{spec}: its package cannot be loaded ({exc})") from exc
    return loaded


def _build(factory: Callable[[], Any], spec: str) -> Any:
    if not callable(factory):
        return factory  # a mode object itself
    try:
        return factory()
    except Exception as exc:
        raise ModeConfigError(f"{spec}: building the mode failed ({exc!r})") from exc


def check_mode(mode: Any, spec: str) -> AnyMode:
    """The mode, if it keeps to the contract's declared part; else ModeConfigError."""
    problems = _problems(mode)
    if problems:
        raise ModeConfigError(f"{spec}: not a usable game mode: " + "; ".join(problems))
    checked: AnyMode = mode
    return checked


def _problems(mode: Any) -> list[str]:
    problems = []
    name = getattr(mode, "name", None)
    if not isinstance(name, str) or not NAME.fullmatch(name):
        problems.append(f"name {name!r} must match {NAME.pattern}")
    if _whole(getattr(mode, "version", None), 1) is None:
        problems.append("version must be a whole number from 1")
    rate = _whole(getattr(mode, "tick_rate", None), 1)
    if rate is None or rate > MAX_TICK_RATE:
        problems.append(f"tick_rate must be a whole number of Hz from 1 to {MAX_TICK_RATE}")
    low = _whole(getattr(mode, "min_players", None), 1)
    high = _whole(getattr(mode, "max_players", None), 1)
    if low is None or high is None or high < low:
        problems.append("min_players and max_players must be whole numbers, 1 <= min <= max")
    if _whole(getattr(mode, "teams", None), 0) is None:
        problems.append("teams must be a whole number: 0, or how many teams")
    if not isinstance(getattr(mode, "hides_information", None), bool):
        problems.append("hides_information must be true or false")
    if not isinstance(getattr(mode, "input_schema", None), dict):
        problems.append("input_schema must be a JSON Schema object")
    missing = [m for m in METHODS if not callable(getattr(mode, m, None))]
    if missing:
        problems.append("missing methods: " + ", ".join(missing))
    return problems + check_schema(mode)


def _whole(value: Any, least: int) -> int | None:
    """The value if it is a whole number (not a bool) of at least `least`, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= least:
        return value
    return None
