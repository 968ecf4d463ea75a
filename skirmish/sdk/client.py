"""Async Python client for Skirmish: the REST calls and the match WebSocket (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlencode

import httpx
import orjson

from skirmish.sdk.connection import SUBPROTOCOL, MatchConnection
from skirmish.sdk.records import (
    FINAL_CLOSE_CODES,
    NEVER_RECONNECT_CODES,
    ApiError,
    Lobby,
    LobbyMember,
    MatchAccess,
    MatchClosed,
    MatchInfo,
    MatchmakingError,
    Player,
    SkirmishError,
    SpectateAccess,
    Ticket,
)

if TYPE_CHECKING:
    from skirmish.sdk.lobby_room import LobbyRoom
    from skirmish.sdk.spectator import Spectator

__all__ = [
    "FINAL_CLOSE_CODES",
    "NEVER_RECONNECT_CODES",
    "SUBPROTOCOL",
    "ApiError",
    "Lobby",
    "LobbyMember",
    "MatchAccess",
    "MatchClosed",
    "MatchConnection",
    "MatchInfo",
    "MatchmakingError",
    "Player",
    "SkirmishClient",
    "SkirmishError",
    "SpectateAccess",
    "Ticket",
]


def _ws_url(base_url: str, ws_path: str) -> str:
    url = httpx.URL(base_url)
    scheme = "wss" if url.scheme == "https" else "ws"
    return str(url.copy_with(scheme=scheme, path=ws_path, query=None, fragment=None))


def _api_error(response: httpx.Response) -> ApiError:
    code, message = "http_error", response.text[:200]
    try:
        error = orjson.loads(response.content)["error"]
        code, message = str(error["code"]), str(error["message"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        pass
    return ApiError(response.status_code, code, message)


class SkirmishClient:
    """One player's session with a Skirmish server (REST + match sockets)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 3,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.player: Player | None = None
        self.max_retries = max_retries
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        """Call the API; retries `429` (honouring `Retry-After`), raises `ApiError` on errors."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        content = None
        if body is not None:
            content = orjson.dumps(body)
            headers["Content-Type"] = "application/json"
        for attempt in range(self.max_retries + 1):
            response = await self._http.request(method, path, content=content, headers=headers)
            if response.status_code != 429 or attempt == self.max_retries:
                break
            await asyncio.sleep(_retry_after(response, attempt))
        if response.status_code >= 400:
            raise _api_error(response)
        return orjson.loads(response.content) if response.content else None

    # -- players and modes

    async def guest(self, name: str | None = None) -> Player:
        """Create a guest player; later calls are made as that player."""
        data = await self.request("POST", "/v1/auth/guest", {"name": name} if name else {})
        self.player = Player(data["player_id"], data["name"], data["token"], data.get("expires_at"))
        self.token = self.player.token
        return self.player

    async def modes(self) -> list[dict[str, Any]]:
        return list((await self.request("GET", "/v1/modes"))["modes"])

    # -- matchmaking

    async def create_ticket(
        self, mode: str = "arena", settings: Mapping[str, Any] | None = None
    ) -> Ticket:
        """Queue for `mode` with these settings (the mode's defaults for those left out):
        only players who chose the same are matched."""
        body: dict[str, Any] = {"mode": mode}
        if settings is not None:
            body["settings"] = dict(settings)
        return Ticket.from_json(await self.request("POST", "/v1/matchmaking/tickets", body))

    async def get_ticket(self, ticket_id: str) -> Ticket:
        return Ticket.from_json(await self.request("GET", f"/v1/matchmaking/tickets/{ticket_id}"))

    async def cancel_ticket(self, ticket_id: str) -> Ticket:
        path = f"/v1/matchmaking/tickets/{ticket_id}"
        return Ticket.from_json(await self.request("DELETE", path))

    async def queue(
        self,
        mode: str = "arena",
        poll: float = 0.25,
        timeout: float = 60.0,
        settings: Mapping[str, Any] | None = None,
    ) -> MatchAccess:
        """Create a ticket and poll it until matched; `MatchmakingError` if it is not."""
        ticket = await self.create_ticket(mode, settings)
        deadline = time.monotonic() + timeout
        while ticket.status == "searching":
            if time.monotonic() >= deadline:
                ticket = await self._cancel_on_timeout(ticket)
                if ticket.status == "searching":
                    raise MatchmakingError("timeout", ticket)
                break
            await asyncio.sleep(poll)
            ticket = await self.get_ticket(ticket.id)
        if ticket.status != "matched" or ticket.match is None:
            raise MatchmakingError(ticket.status, ticket)
        return ticket.match

    async def _cancel_on_timeout(self, ticket: Ticket) -> Ticket:
        try:
            await self.cancel_ticket(ticket.id)
        except ApiError as exc:
            if exc.status != 409:  # 409: matched meanwhile
                raise
            return await self.get_ticket(ticket.id)
        return ticket  # still "searching" from our side: report the timeout

    # -- lobbies

    async def create_lobby(
        self,
        mode: str = "arena",
        name: str = "lobby",
        max_players: int = 2,
        settings: Mapping[str, Any] | None = None,
        *,
        private: bool = False,
        spectators: str | None = None,
    ) -> Lobby:
        """Create a lobby (the caller is its host and first member). A `private` one is
        never listed: its members see its `code`, which others join it by. `spectators`
        is who may watch its match: `players`, `signed_in` or `link` (None: the server's
        default)."""
        body: dict[str, Any] = {"mode": mode, "name": name, "max_players": max_players}
        if settings is not None:
            body["settings"] = dict(settings)
        if private:
            body["private"] = True
        if spectators is not None:
            body["spectators"] = spectators
        return Lobby.from_json(await self.request("POST", "/v1/lobbies", body))

    async def join_lobby_by_code(self, code: str) -> Lobby:
        """Join the open private lobby holding `code` (any case); ApiError 404 if none."""
        body = {"code": code.strip()}
        return Lobby.from_json(await self.request("POST", "/v1/lobbies/join", body))

    def lobby_room(self, lobby: str | Lobby, **options: Any) -> LobbyRoom:
        """A member's lobby room (`/ws/lobbies/{id}`): pushed changes, chat, announcements.
        Not yet connected: `async with client.lobby_room(lobby) as room: ...`. Join with
        REST first. Options as `LobbyRoom`'s."""
        from skirmish.sdk.lobby_room import LobbyRoom

        return LobbyRoom(self, lobby, **options)

    async def set_lobby_settings(self, lobby_id: str, settings: Mapping[str, Any]) -> Lobby:
        """The host changes the match settings (everyone's ready mark is cleared)."""
        path = f"/v1/lobbies/{lobby_id}/settings"
        return Lobby.from_json(await self.request("POST", path, {"settings": dict(settings)}))

    async def list_lobbies(self, page_size: int = 100) -> list[Lobby]:
        """Every open lobby, oldest first: follows the list's pages."""
        lobbies: list[Lobby] = []
        query: dict[str, Any] = {"limit": page_size}
        while True:
            data = await self.request("GET", "/v1/lobbies?" + urlencode(query))
            lobbies += [Lobby.from_json(lobby) for lobby in data["lobbies"]]
            if not data.get("next"):
                return lobbies
            query["after"] = data["next"]

    async def get_lobby(self, lobby_id: str) -> Lobby:
        return Lobby.from_json(await self.request("GET", f"/v1/lobbies/{lobby_id}"))

    async def join_lobby(self, lobby_id: str) -> Lobby:
        return Lobby.from_json(await self.request("POST", f"/v1/lobbies/{lobby_id}/join"))

    async def leave_lobby(self, lobby_id: str) -> Lobby:
        return Lobby.from_json(await self.request("POST", f"/v1/lobbies/{lobby_id}/leave"))

    async def set_ready(self, lobby_id: str, ready: bool = True) -> Lobby:
        path = f"/v1/lobbies/{lobby_id}/ready"
        return Lobby.from_json(await self.request("POST", path, {"ready": ready}))

    async def start_lobby(self, lobby_id: str) -> Lobby:
        return Lobby.from_json(await self.request("POST", f"/v1/lobbies/{lobby_id}/start"))

    async def wait_lobby_started(
        self,
        lobby_id: str,
        poll: float = 0.25,
        timeout: float = 60.0,
    ) -> MatchAccess:
        """Poll a lobby until it has started; returns this player's match access."""
        deadline = time.monotonic() + timeout
        while True:
            lobby = await self.get_lobby(lobby_id)
            if lobby.status == "started" and lobby.match is not None:
                return lobby.match
            if time.monotonic() >= deadline:
                raise TimeoutError(f"lobby {lobby_id} did not start within {timeout}s")
            await asyncio.sleep(poll)

    # -- matches

    async def get_match(self, match_id: str) -> MatchInfo:
        return MatchInfo.from_json(await self.request("GET", f"/v1/matches/{match_id}"))

    async def replay(self, match_id: str, code: str | None = None) -> dict[str, Any]:
        """A finished match's recording: seed, settings and every input as applied (for
        whoever may watch the match: a `link` match's `code`, if not one of its players)."""
        path = f"/v1/matches/{match_id}/replay" + ("" if code is None else f"?code={code}")
        recording: dict[str, Any] = await self.request("GET", path)
        return recording

    async def match_token(self, match_id: str) -> MatchAccess:
        """A fresh match token, e.g. to rejoin after the old one expired."""
        return MatchAccess.from_json(await self.request("POST", f"/v1/matches/{match_id}/token"))

    async def spectate_access(self, match_id: str, code: str | None = None) -> SpectateAccess:
        """Leave to watch a match (live, or its recording once over). ApiError 403 when its
        policy does not let this player watch (a wrong `code` too), 404 for no such match,
        409 for a finished one with no recording."""
        body = {} if code is None else {"code": code}
        data = await self.request("POST", f"/v1/matches/{match_id}/spectate", body)
        return SpectateAccess.from_json(data)

    def spectate(
        self, match_id: str, code: str | None = None, speed: float | None = None, **options: Any
    ) -> Spectator:
        """A spectator of a match, not yet connected: `async with client.spectate(match_id)
        as watch: ...` asks for a spectate access and opens its socket (a recording plays
        at `speed`, 0.25 to 16). Options as `Spectator`'s."""
        from skirmish.sdk.spectator import Spectator

        return Spectator(self, match_id, code=code, speed=speed, **options)

    def ws_url(self, ws_path: str) -> str:
        """The socket URL of a path: ws(s)://host of the base URL."""
        return _ws_url(self.base_url, ws_path)

    async def connect(self, access: MatchAccess, *, open_timeout: float = 10.0) -> MatchConnection:
        """Open the match socket and wait for `welcome`; `MatchClosed` if refused."""
        url = _ws_url(self.base_url, access.ws_path)
        return await MatchConnection.open(url, access, open_timeout)


def _retry_after(response: httpx.Response, attempt: int) -> float:
    try:
        return min(float(response.headers.get("Retry-After", "")), 10.0)
    except ValueError:
        return 0.25 * 2.0**attempt
