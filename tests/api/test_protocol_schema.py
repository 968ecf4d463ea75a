"""GET /v1/protocol.json: the match socket's protocol as JSON Schema, public, every offered
mode described (tests/realtime/test_protocol_conformance.py checks it against real frames)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from tag_mode import TagMode

from game.modes import Arena30Mode, ArenaMode, CtfMode
from skirmish.base.protocol_schema import mode_schemas, protocol_schema
from skirmish.base.protocol_tables import CLIENT_MESSAGES, SERVER_MESSAGES
from tests.api.conftest import POD, Api, assert_error


def part(document: dict[str, Any], pointer: str) -> Draft202012Validator:
    """A validator for one definition of the document (`pointer` is a `$ref`)."""
    return Draft202012Validator(
        {"$schema": document["$schema"], "$defs": document["$defs"], "$ref": pointer}
    )


def mode_def(mode: str) -> str:
    return f"#/$defs/modes/$defs/{mode}/$defs"


def test_the_schema_is_served_without_a_token(api: Api) -> None:
    resp = api.client.get("/v1/protocol.json")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.headers["x-skirmish-pod"] == POD
    assert resp.json() == protocol_schema(api.services.modes)  # built from the same modes


def test_only_get_is_allowed(api: Api) -> None:
    assert_error(api.client.post("/v1/protocol.json", json={}), 405, "method_not_allowed")


def test_the_document_is_valid_json_schema_2020_12(api: Api) -> None:
    document = api.client.get("/v1/protocol.json").json()
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "$id" not in document and document["title"]
    Draft202012Validator.check_schema(document)
    defs = document["$defs"]
    for kind in (*CLIENT_MESSAGES, *SERVER_MESSAGES, "closeCode", "errorCode"):
        assert kind in defs, kind
    assert [r["$ref"] for r in defs["clientMessage"]["oneOf"]] == [
        "#/$defs/input",
        "#/$defs/ping",
        "#/$defs/chat",
    ]
    assert [r["$ref"] for r in defs["serverMessage"]["oneOf"]] == [
        f"#/$defs/{kind}" for kind in SERVER_MESSAGES
    ]


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in refs(item)]
    return []


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for token in ref[2:].split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_ref_points_at_a_schema_in_the_document(api: Api) -> None:
    """Through `$defs` and `properties` only: strict validators (ajv) refuse a schema
    with keywords they do not know, such as a bare mode name."""
    document = api.client.get("/v1/protocol.json").json()
    found = refs(document)
    assert len(found) > 20
    for ref in found:
        target = resolve(document, ref)
        assert isinstance(target, dict), ref
        tokens = ref[2:].split("/")
        for keyword, _ in zip(tokens[::2], tokens[1::2], strict=True):
            assert keyword in ("$defs", "properties"), ref


def test_every_offered_mode_is_described(api: Api) -> None:
    document = api.client.get("/v1/protocol.json").json()
    listed = {m["name"]: m for m in api.client.get("/v1/modes").json()["modes"]}
    described = document["$defs"]["modes"]["$defs"]
    assert set(described) == set(listed) == {"arena", "ctf"}
    assert document["$defs"]["welcome"]["properties"]["mode"] == {"enum": ["arena", "ctf"]}
    for name, mode in listed.items():
        defs = described[name]["$defs"]
        assert set(defs) == {
            "inputFields", "input", "view", "snapshot", "welcome", "clientMessage",
            "serverMessage",
        }  # fmt: skip
        # The input fields are the very schema GET /v1/modes publishes.
        assert defs["inputFields"] == mode["input_schema"]
        # Both built-in modes declare their views.
        assert defs["view"] == api.services.modes[name].view_schema  # type: ignore[attr-defined]
        assert defs["welcome"]["properties"]["tick_rate"] == {"const": mode["tick_rate"]}


ARENA_INPUT = {"type": "input", "seq": 1, "dx": 1, "dy": 0.5, "aim": 2.0, "fire": False}
CTF_INPUT = {"type": "input", "seq": 1, "dx": 1, "dy": 0.5, "sprint": True}


@pytest.mark.parametrize(
    ("message", "arena", "ctf"),
    [
        (ARENA_INPUT, True, False),
        (CTF_INPUT, False, True),
        ({**ARENA_INPUT, "seq": 0}, False, False),
        ({**ARENA_INPUT, "seq": (1 << 53) - 1}, True, False),
        ({**ARENA_INPUT, "seq": 1 << 53}, False, False),
        ({**ARENA_INPUT, "seq": "1"}, False, False),
        ({**ARENA_INPUT, "dx": 2}, False, False),
        ({**ARENA_INPUT, "x": 1}, False, False),
        ({k: v for k, v in ARENA_INPUT.items() if k != "seq"}, False, False),
        ({**CTF_INPUT, "fire": True}, False, False),
        ({"type": "ping", "t": 17.5}, True, True),
        ({"type": "ping", "t": 17, "x": 1}, False, False),
        ({"type": "ping", "t": True}, False, False),
        ({"type": "ping"}, False, False),
        ({"type": "dance"}, False, False),
    ],
)
def test_client_messages_are_described_per_mode(
    api: Api, message: dict[str, Any], arena: bool, ctf: bool
) -> None:
    document = api.client.get("/v1/protocol.json").json()
    for name, expected in (("arena", arena), ("ctf", ctf)):
        described = part(document, mode_def(name) + "/clientMessage")
        assert described.is_valid(message) == expected, (name, message)
    assert part(document, "#/$defs/clientMessage").is_valid(message) == (arena or ctf)
    assert Draft202012Validator(document).is_valid(message) == (arena or ctf)


MODES: list[Callable[[], Any]] = [ArenaMode, CtfMode, Arena30Mode, TagMode]


@pytest.mark.parametrize("make", MODES, ids=lambda m: m.__name__)
def test_any_mode_can_be_described(make: Callable[[], Any]) -> None:
    """A mode without a view_schema (a studio's, the benchmark's) gets "any object" as
    its view: its snapshots are checked for the server's fields only."""
    mode = make()
    document = protocol_schema({mode.name: mode})
    Draft202012Validator.check_schema(document)
    defs = mode_schemas(mode)["$defs"]
    assert defs["view"] == getattr(mode, "view_schema", {"type": "object"})
    snapshot = part(document, mode_def(mode.name) + "/snapshot")
    assert not snapshot.is_valid({"type": "snapshot", "tick": 1, "online": []})  # no ack
    view = mode.view(mode.initial_state(mode.min_players, seed=1), None)
    frame = {"type": "snapshot", "ack": 0, "tick": 1, "online": [0], **view}
    assert snapshot.is_valid(frame), list(snapshot.iter_errors(frame))


def test_a_view_schema_may_not_claim_the_servers_fields() -> None:
    clashing = ArenaMode()
    clashing.view_schema = {"type": "object", "properties": {"tick": {"type": "integer"}}}
    with pytest.raises(ValueError, match="tick"):
        protocol_schema({"arena": clashing})


def test_the_document_shares_nothing_with_the_modes() -> None:
    mode = ArenaMode()
    document = protocol_schema({"arena": mode})
    document["$defs"]["modes"]["$defs"]["arena"]["$defs"]["inputFields"]["required"].clear()
    document["$defs"]["modes"]["$defs"]["arena"]["$defs"]["view"]["properties"].clear()
    assert mode.input_schema["required"] and mode.view_schema["properties"]
