"""Async Python client for Skirmish: the REST calls and the match WebSocket (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

import httpx
import orjson
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

SUBPROTOCOL = "skirmish.v1"
# Close codes after which reconnecting with the same token cannot help.
FINAL_CLOSE_CODES = frozenset({1000, 4001, 4003, 4004, 4010, 4029})


class SkirmishError(Exception):
    """Base class of the client's errors."""


class ApiError(SkirmishError):
    """A REST call answered with an error status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class MatchmakingError(SkirmishError):
    """A ticket ended without a match (`cancelled`, `expired`) or the wait timed out."""

    def __init__(self, status: str, ticket: Ticket | None = None) -> None:
        super().__init__(f"matchmaking failed: ticket {status}")
        self.status = status
        self.ticket = ticket


class MatchClosed(SkirmishError):
    """The match socket is closed (or was refused: then `code` is None)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"match socket closed: {code} {reason}".rstrip())
        self.code = code
        self.reason = reason

    @property
    def final(self) -> bool:
        """True when reconnecting with the same token cannot help."""
        return self.code in FINAL_CLOSE_CODES


@dataclass(slots=True, frozen=True)
class Player:
    player_id: str
    name: str
    token: str
    expires_at: str | None = None


@dataclass(slots=True, frozen=True)
class MatchAccess:
    match_id: str
    ws_path: str
    token: str
    expires_at: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MatchAccess:
        return cls(data["match_id"], data["ws_path"], data["token"], data.get("expires_at"))


def _access(data: Mapping[str, Any] | None) -> MatchAccess | None:
    return MatchAccess.from_json(data) if data else None


@dataclass(slots=True, frozen=True)
class Ticket:
    id: str
    player_id: str
    mode: str
    status: str
    created_at: str | None
    match: MatchAccess | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Ticket:
        return cls(
            data["id"],
            data["player_id"],
            data["mode"],
            data["status"],
            data.get("created_at"),
            _access(data.get("match")),
        )


@dataclass(slots=True, frozen=True)
class LobbyMember:
    player_id: str
    name: str
    ready: bool


@dataclass(slots=True, frozen=True)
class Lobby:
    id: str
    name: str
    mode: str
    host_id: str
    max_players: int
    status: str
    members: tuple[LobbyMember, ...]
    created_at: str | None
    match: MatchAccess | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Lobby:
        members = tuple(
            LobbyMember(m["player_id"], m["name"], bool(m["ready"])) for m in data["members"]
        )
        return cls(
            data["id"],
            data["name"],
            data["mode"],
            data["host_id"],
            data["max_players"],
            data["status"],
            members,
            data.get("created_at"),
            _access(data.get("match")),
        )


@dataclass(slots=True, frozen=True)
class MatchInfo:
    id: str
    mode: str
    status: str
    players: tuple[dict[str, Any], ...]
    created_at: str | None
    result: dict[str, Any] | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MatchInfo:
        return cls(
            data["id"],
            data["mode"],
            data["status"],
            tuple(data["players"]),
            data.get("created_at"),
            data.get("result"),
        )


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

    async def create_ticket(self, mode: str = "arena") -> Ticket:
        return Ticket.from_json(
            await self.request("POST", "/v1/matchmaking/tickets", {"mode": mode})
        )

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
    ) -> MatchAccess:
        """Create a ticket and poll it until matched; `MatchmakingError` if it is not."""
        ticket = await self.create_ticket(mode)
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
        self, mode: str = "arena", name: str = "lobby", max_players: int = 2
    ) -> Lobby:
        body = {"mode": mode, "name": name, "max_players": max_players}
        return Lobby.from_json(await self.request("POST", "/v1/lobbies", body))

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

    async def match_token(self, match_id: str) -> MatchAccess:
        """A fresh match token, e.g. to rejoin after the old one expired."""
        return MatchAccess.from_json(await self.request("POST", f"/v1/matches/{match_id}/token"))

    async def connect(self, access: MatchAccess, *, open_timeout: float = 10.0) -> MatchConnection:
        """Open the match socket and wait for `welcome`; `MatchClosed` if refused."""
        url = _ws_url(self.base_url, access.ws_path)
        return await MatchConnection.open(url, access, open_timeout)


def _retry_after(response: httpx.Response, attempt: int) -> float:
    try:
        return min(float(response.headers.get("Retry-After", "")), 10.0)
    except ValueError:
        return 0.25 * 2.0**attempt


class MatchConnection:
    """An open match socket: send inputs and pings, receive decoded server messages."""

    def __init__(self, ws: ClientConnection, access: MatchAccess, welcome: dict[str, Any]) -> None:
        self.access = access
        self.welcome = welcome
        self.result: dict[str, Any] | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self.last_rtt_ms: float | None = None
        self._ws = ws
        self._seq = int(welcome.get("last_seq", 0))

    @classmethod
    async def open(
        cls, url: str, access: MatchAccess, open_timeout: float = 10.0
    ) -> MatchConnection:
        protocols = [Subprotocol(SUBPROTOCOL), Subprotocol("token." + access.token)]
        try:
            ws = await ws_connect(
                url,
                subprotocols=protocols,
                open_timeout=open_timeout,
                close_timeout=3,
                # Snapshots come 30 times a second: with the default of 16 queued messages,
                # a short pause in reading stops the socket reading, and close() then waits
                # for close_timeout (python-websockets/websockets#1555).
                max_queue=1024,
            )
        except InvalidStatus as exc:
            raise MatchClosed(None, f"handshake refused: HTTP {exc.response.status_code}") from exc
        except InvalidHandshake as exc:
            raise MatchClosed(None, f"handshake failed: {exc}") from exc
        try:
            async with asyncio.timeout(open_timeout):
                first = orjson.loads(await ws.recv())
        except ConnectionClosed as exc:
            raise MatchClosed(ws.close_code, ws.close_reason or "") from exc
        except BaseException:
            await ws.close()
            raise
        if first.get("type") != "welcome":
            await ws.close()
            raise SkirmishError(f"expected welcome, got {first!r}")
        return cls(ws, access, first)

    @property
    def match_id(self) -> str:
        return str(self.welcome["match_id"])

    @property
    def slot(self) -> int:
        return int(self.welcome["slot"])

    @property
    def last_seq(self) -> int:
        """The seq of the last input sent (or, before any, `welcome.last_seq`)."""
        return self._seq

    @property
    def ws(self) -> ClientConnection:
        """The underlying `websockets` connection."""
        return self._ws

    async def send(self, message: Mapping[str, Any]) -> None:
        """Send one message as a JSON text frame."""
        await self.send_raw(orjson.dumps(message).decode())

    async def send_raw(self, data: str | bytes) -> None:
        """Send a frame as is: `str` as text, `bytes` as binary."""
        try:
            await self._ws.send(data)
        except ConnectionClosed as exc:
            raise self._closed(exc) from exc

    async def send_input(self, **fields: Any) -> int:
        """Send the next input: the mode's fields (its `input_schema` at GET /v1/modes),
        e.g. `send_input(dx=1.0, dy=0.0, aim=0.5, fire=False)` in the arena. Returns its
        seq."""
        if any(isinstance(v, float) and not math.isfinite(v) for v in fields.values()):
            raise ValueError("input numbers must be finite")
        self._seq += 1
        await self.send({**fields, "type": "input", "seq": self._seq})
        return self._seq

    async def ping(self) -> float:
        """Send a ping stamped with the client clock (ms); the `pong` comes through `recv`."""
        t = time.time() * 1000.0
        await self.send({"type": "ping", "t": t})
        return t

    async def recv(self) -> dict[str, Any]:
        """The next server message; raises `MatchClosed` once the socket is closed."""
        try:
            data = await self._ws.recv()
        except ConnectionClosed as exc:
            raise self._closed(exc) from exc
        message: dict[str, Any] = orjson.loads(data)
        kind = message.get("type")
        if kind == "result":
            self.result = message
        elif kind == "pong" and isinstance(message.get("t"), int | float):
            self.last_rtt_ms = time.time() * 1000.0 - message["t"]
        return message

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        """Messages until the socket closes: ends on 1000/1001, raises `MatchClosed` otherwise."""
        while True:
            try:
                yield await self.recv()
            except MatchClosed as exc:
                if exc.code in (1000, 1001):
                    return
                raise

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self._ws.close(code, reason)
        self._record_close()

    async def wait_closed(self) -> int | None:
        """Wait for the socket to close; returns the close code."""
        await self._ws.wait_closed()
        self._record_close()
        return self.close_code

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _record_close(self) -> None:
        if self.close_code is None:
            self.close_code = self._ws.close_code
            self.close_reason = self._ws.close_reason or ""

    def _closed(self, exc: ConnectionClosed) -> MatchClosed:
        if exc.rcvd is not None:
            self.close_code, self.close_reason = exc.rcvd.code, exc.rcvd.reason
        else:
            self._record_close()
        return MatchClosed(self.close_code, self.close_reason)
