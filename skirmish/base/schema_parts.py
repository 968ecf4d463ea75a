"""Small builders of JSON Schema documents, shared by the protocol's parts."""

from __future__ import annotations

from typing import Any

from game.modes.base import JSON


def ref(*path: str) -> JSON:
    return {"$ref": "#/$defs/" + "/$defs/".join(escape(p) for p in path)}


def escape(name: str) -> str:
    """A JSON Pointer token (RFC 6901)."""
    return name.replace("~", "~0").replace("/", "~1")


def record(fields: JSON) -> JSON:
    """An object with exactly these fields, every one required."""
    return {
        "type": "object",
        "properties": fields,
        "required": list(fields),
        "additionalProperties": False,
    }


def message(kind: str, description: str, fields: JSON) -> JSON:
    return {"description": description, **record({"type": {"const": kind}, **fields})}


def with_optional(schema: JSON, **fields: JSON) -> JSON:
    """`schema` (an object schema) that may also carry these fields."""
    return {**schema, "properties": {**schema["properties"], **fields}}


def one_of_consts(values: list[tuple[Any, str, str]], description: str) -> JSON:
    """An enum whose every value is documented: `enum` for tools, `oneOf` for the words."""
    return {
        "description": description,
        "enum": [value for value, _, _ in values],
        "oneOf": [
            {"const": value, "title": title, "description": text} for value, title, text in values
        ],
    }
