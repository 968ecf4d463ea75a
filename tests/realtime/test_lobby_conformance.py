"""The lobby socket against the served protocol document (GET /v1/protocol.json,
`$defs/lobbySocket`): every frame of a real lobby's life validates as a server message,
every lobby body in them as REST's own `LobbyOut` (GET /openapi.json), and the tables the
schema copies are realtime's and the API's. (test_protocol_conformance.py does the same
for match sockets, and checks the error and close codes both sockets send.)"""

from __future__ import annotations

import json
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from api.schemas import LobbyOut
from realtime import lobby_messages
from skirmish.base.protocol_tables import CHAT_MAX_CHARS, LOBBY_EVENTS, LOBBY_FIELDS
from tests.realtime.conftest import Harness, HarnessFactory
from tests.realtime.lobby_support import closed_with, frame, rest

ADMIN = "admin-secret-0123456789abcdef0123456789"
Message = dict[str, Any]


def test_the_tables_are_realtimes_and_the_apis() -> None:
    assert tuple(event for event, _ in LOBBY_EVENTS) == lobby_messages.LOBBY_EVENTS
    assert CHAT_MAX_CHARS == lobby_messages.CHAT_MAX_CHARS
    assert tuple(LobbyOut.model_fields) == LOBBY_FIELDS


async def documents(harness: Harness) -> tuple[Message, Message]:
    transport = httpx.ASGITransport(app=harness.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pod") as client:
        protocol = (await client.get("/v1/protocol.json")).json()
        openapi = (await client.get("/openapi.json")).json()
    return protocol, openapi


def validator(root: Message, pointer: str) -> Draft202012Validator:
    """For one definition of a document (its `$defs` or `components` come along)."""
    kept = {k: v for k, v in root.items() if k in ("$defs", "components")}
    return Draft202012Validator({**kept, "$ref": pointer})


def assert_valid(check: Draft202012Validator, message: Any) -> None:
    error = best_match(check.iter_errors(message))
    assert error is None, f"{message}\n{list(error.absolute_path)}: {error.message}"


CLIENT_FRAMES = [
    {"type": "chat", "text": " gl hf "},
    {"type": "ping", "t": 1732526400123},
    {"type": "ping", "t": -0.5},
]
BAD_FRAMES = [
    '{"type":"dance"}',
    '{"type":"chat","text":""}',
    '{"type":"chat","text":"hi","to":"x"}',
    '{"type":"ping"}',
]


async def a_lobbys_life(harness: Harness) -> tuple[list[Message], int]:
    """Every frame the sockets of a lobby's life get (chat, pings, bad messages, an
    announcement, every change up to the start; a private lobby closed by its last member;
    a drain), and how the first socket was closed."""
    async with rest(harness) as guest:
        ada, bob, cy = await guest("ada"), await guest("bob"), await guest("cy")
        lobby_id = (await ada.lobby(max_players=3))["id"]
        a, first = await ada.connect(lobby_id)
        for text in [json.dumps(message) for message in CLIENT_FRAMES] + BAD_FRAMES:
            await a.send_to(text_data=text)
        frames = [first] + [await frame(a) for _ in range(len(CLIENT_FRAMES) + len(BAD_FRAMES))]
        await announce(harness, "welcome")
        frames.append(await frame(a))
        for member in (bob, cy):
            await member.call("POST", f"/v1/lobbies/{lobby_id}/join")
        await cy.call("POST", f"/v1/lobbies/{lobby_id}/leave")
        await ada.call("POST", f"/v1/lobbies/{lobby_id}/settings", {"settings": {"score_limit": 5}})
        for member in (ada, bob):
            await member.call("POST", f"/v1/lobbies/{lobby_id}/ready", {"ready": True})
        await ada.call("POST", f"/v1/lobbies/{lobby_id}/start")
        more, code = await closed_with(a)
        private = await cy.lobby(private=True)
        c, snapshot = await cy.connect(private["id"])
        await cy.call("POST", f"/v1/lobbies/{private['id']}/leave")
        closed, _ = await closed_with(c)
        d, last = await cy.connect((await cy.lobby())["id"])
        await harness.services.drain()
        drained, _ = await closed_with(d)
    return [*frames, *more, snapshot, *closed, last, *drained], code


async def announce(harness: Harness, text: str) -> None:
    transport = httpx.ASGITransport(app=harness.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pod") as http:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        assert (await http.post("/admin/announce", json={"text": text}, headers=admin)).is_success


async def test_every_frame_of_a_lobbys_life_validates(harness_factory: HarnessFactory) -> None:
    harness = await harness_factory(admin_token=ADMIN)
    protocol, openapi = await documents(harness)
    server = validator(protocol, "#/$defs/lobbySocket/$defs/serverMessage")
    lobby_out = validator(openapi, "#/components/schemas/LobbyOut")
    frames, code = await a_lobbys_life(harness)
    kinds = set()
    for message in frames:
        assert_valid(server, message)
        if message["type"] == "lobby":
            assert_valid(lobby_out, message["lobby"])  # REST's own body, as REST gives it
            kinds.add(message["event"])
        else:
            kinds.add(message["type"])
    assert kinds == {
        "snapshot", "joined", "left", "ready", "settings", "started", "closed",
        "chat", "pong", "error", "announcement", "reconnect",
    }  # fmt: skip
    assert code == 1000
    assert_valid(validator(protocol, "#/$defs/closeCode"), code)
    client = validator(protocol, "#/$defs/lobbySocket/$defs/clientMessage")
    for message in CLIENT_FRAMES:
        assert_valid(client, message)
    for text in BAD_FRAMES:
        assert not client.is_valid(json.loads(text)), text
