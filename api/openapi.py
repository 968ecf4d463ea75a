"""The OpenAPI 3.1 document, generated from the declared endpoints and their pydantic models."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from api.routing import Endpoint
from api.schemas import ErrorOut

REF = "#/components/schemas/{model}"
PATH_PARAM = re.compile(r"{(\w+)}")
REASONS = {
    200: "OK",
    201: "Created",
    401: "Missing, malformed or expired player token",
    403: "Not allowed for this player",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Body too large",
    422: "Body failed validation",
    429: "Too many requests from this player or address: wait `Retry-After` seconds",
    503: "Not ready",
}


def build_openapi(endpoints: list[Endpoint], title: str, version: str) -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorOut}
    for ep in endpoints:
        models.add(ep.response)
        if ep.body is not None:
            models.add(ep.body)
    modes: list[tuple[type[BaseModel], JsonSchemaMode]] = [(m, "validation") for m in models]
    modes += [(m, "serialization") for m in models]
    _, schema = models_json_schema(modes, ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {"player": {"type": "http", "scheme": "bearer"}},
        },
    }


# Bodies that choose a mode's settings: the mode named (or, left out, the default one)
# decides which settings are valid, as GET /v1/modes publishes them.
CHOOSING_SETTINGS = ("TicketIn", "LobbyIn")


def describe_settings(document: dict[str, Any], schemas: Mapping[str, dict[str, Any]]) -> None:
    """Tie each body's `settings` to its `mode`, from the offered modes' settings schemas
    (`schemas` by mode name): the document then says exactly which settings are valid."""
    components = document["components"]["schemas"]
    for name in CHOOSING_SETTINGS:
        components[name]["allOf"] = _settings_by_mode(components[name], schemas)
    # A lobby's new settings are its mode's: valid for one of the offered modes, at least.
    chosen = components["SettingsIn"]["properties"]["settings"]
    chosen.pop("type", None)
    chosen.pop("additionalProperties", None)
    chosen["anyOf"] = list(schemas.values())


def _settings_by_mode(
    component: dict[str, Any], schemas: Mapping[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    default = component["properties"]["mode"].get("default")
    rules = []
    for mode, schema in schemas.items():
        named: dict[str, Any] = {"properties": {"mode": {"const": mode}}, "required": ["mode"]}
        if mode == default:
            named = {"anyOf": [named, {"not": {"required": ["mode"]}}]}
        settings = {"anyOf": [schema, {"type": "null"}]}
        rules.append({"if": named, "then": {"properties": {"settings": settings}}})
    return rules


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": REF.format(model=model.__name__)}


def _operation(ep: Endpoint) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(ep.status): {
            "description": REASONS.get(ep.status, "OK"),
            "content": {"application/json": {"schema": _ref(ep.response)}},
        }
    }
    for status in ep.errors:
        responses[str(status)] = {
            "description": REASONS.get(status, "Error"),
            "content": {"application/json": {"schema": _ref(ErrorOut)}},
        }
    # Every API call is rate limited (api/middleware.py, docs/security.md).
    responses["429"] = {
        "description": REASONS[429],
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before trying again",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        },
        "content": {"application/json": {"schema": _ref(ErrorOut)}},
    }
    op: dict[str, Any] = {
        "operationId": ep.handler.__name__,
        "summary": ep.summary,
        "responses": responses,
    }
    params = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
        for p in PATH_PARAM.findall(ep.path)
    ]
    if ep.query is not None:
        schema = ep.query.model_json_schema()
        required = set(schema.get("required", ()))
        params += [
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": _query_value(prop),
            }
            for name, prop in schema["properties"].items()
        ]
    if params:
        op["parameters"] = params
    if ep.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(ep.body)}},
        }
    if ep.auth:
        op["security"] = [{"player": []}]
    return op


def _query_value(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without pydantic's `null` branch of an optional field: a
    query string cannot say null, it leaves the parameter out (what `required: false`
    already says), and fuzzers would otherwise send "not a string, not null" values that no
    query string can carry."""
    branches = prop.get("anyOf")
    if not branches:
        return prop
    kept = [branch for branch in branches if branch.get("type") != "null"]
    rest = {key: value for key, value in prop.items() if key != "anyOf"}
    if rest.get("default", "") is None:
        del rest["default"]
    if len(kept) == 1:
        return {**kept[0], **rest}
    return {"anyOf": kept, **rest}
