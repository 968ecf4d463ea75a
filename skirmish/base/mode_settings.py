"""Per-match settings of a game mode: validated against the mode's `settings_schema`, with
its defaults filled in, then handed to the mode's `configure` to build the mode a match
plays. A lobby's host or a queued player chooses them; a match is made only of players
who chose the same (docs/modes.md, "Settings").

A mode without `settings_schema` takes no settings: only `{}` is valid for it.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from game.modes import AnyMode
from skirmish.base.errors import SkirmishError

log = logging.getLogger(__name__)

NO_SETTINGS: dict[str, Any] = {"type": "object", "additionalProperties": False}
# A configured mode must keep what the server and its clients rely on across settings.
FIXED = (
    "name", "version", "tick_rate", "min_players", "max_players", "teams",
    "hides_information", "input_schema",
)  # fmt: skip
CACHE_SIZE = 256  # configured modes kept (distinct settings in play at once, per pod)


class InvalidSettings(SkirmishError):
    status, code = 422, "invalid_settings"


def settings_schema(mode: AnyMode) -> dict[str, Any]:
    """The JSON Schema of the mode's settings (published at GET /v1/modes)."""
    schema: dict[str, Any] = getattr(mode, "settings_schema", None) or NO_SETTINGS
    return schema


def defaults(mode: AnyMode) -> dict[str, Any]:
    properties = settings_schema(mode).get("properties", {})
    return {name: spec["default"] for name, spec in properties.items() if "default" in spec}


def resolve(mode: AnyMode, chosen: Mapping[str, Any] | None) -> dict[str, Any]:
    """The settings a match of `mode` plays with: `chosen` over the defaults, checked
    against the schema and by the mode itself. InvalidSettings (422) says what is wrong."""
    settings = {**defaults(mode), **(chosen or {})}
    error = next(iter(Draft202012Validator(settings_schema(mode)).iter_errors(settings)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "settings"
        raise InvalidSettings(f"{mode.name} settings: {where}: {error.message}")
    settings = canonical(settings_schema(mode), settings)
    configured(mode, settings)  # the mode's own checks (ranges that depend on each other)
    return settings


def canonical(schema: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """One spelling per value, so that equal settings compare (and queue) equal: JSON's
    `180` and `180.0` are one number, a "number" setting a float, an "integer" an int."""
    properties = schema.get("properties", {})
    spelled = dict(settings)
    for name, value in settings.items():
        kind = properties.get(name, {}).get("type")
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if kind == "number":
            spelled[name] = float(value)
        elif kind == "integer" and float(value).is_integer():
            spelled[name] = int(value)
    return spelled


_cache: OrderedDict[tuple[int, bytes], tuple[AnyMode, AnyMode]] = OrderedDict()


def configured(mode: AnyMode, settings: Mapping[str, Any]) -> AnyMode:
    """The mode configured with resolved `settings` (the mode itself for its defaults)."""
    if not settings or settings == defaults(mode):
        return mode
    key = (id(mode), orjson.dumps(settings, option=orjson.OPT_SORT_KEYS))
    hit = _cache.get(key)
    if hit is not None and hit[0] is mode:
        _cache.move_to_end(key)
        return hit[1]
    built = _configure(mode, settings)
    _cache[key] = (mode, built)  # the mode held too: its id cannot be reused meanwhile
    if len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return built


def _configure(mode: AnyMode, settings: Mapping[str, Any]) -> AnyMode:
    configure = getattr(mode, "configure", None)
    if configure is None:
        raise InvalidSettings(f"{mode.name} takes no settings")
    try:
        built: AnyMode = configure(dict(settings))
    except ValueError as exc:  # InputRejected included: the mode says why
        raise InvalidSettings(f"{mode.name} settings: {exc}") from exc
    except Exception as exc:  # a faulty mode must not take the request down with it
        log.exception("mode %s failed to configure %s", mode.name, dict(settings))
        raise InvalidSettings(f"{mode.name} could not apply these settings") from exc
    changed = [a for a in FIXED if getattr(built, a, None) != getattr(mode, a)]
    if changed:
        log.error("mode %s: configure() changed %s", mode.name, ", ".join(changed))
        raise InvalidSettings(f"{mode.name} could not apply these settings")
    return built


def check_schema(mode: AnyMode) -> list[str]:
    """What is wrong with the mode's declared settings, for the loader's checks."""
    schema = getattr(mode, "settings_schema", None)
    if schema is None:
        return []
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [f"settings_schema is not a JSON Schema: {exc.message}"]
    problems = []
    if schema.get("type") != "object":
        problems.append('settings_schema must have "type": "object"')
    if not callable(getattr(mode, "configure", None)):
        problems.append("a mode with settings_schema must define configure(settings)")
    elif next(iter(Draft202012Validator(schema).iter_errors(defaults(mode))), None):
        problems.append("settings_schema's defaults must satisfy it")
    return problems
