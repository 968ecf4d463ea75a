"""The match socket (docs/protocol.md, section 2): one connection, its frames decoded."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, Self

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from skirmish.sdk.records import MatchAccess, MatchClosed, SkirmishError

SUBPROTOCOL = "skirmish.v1"
CHAT_MAX_CHARS = 200  # once trimmed


async def open_socket(
    url: str, token: str, timeout: float, waited_for: str, silent_code: int | None
) -> tuple[ClientConnection, dict[str, Any]]:
    """Open a Skirmish socket and read its first message (`waited_for` names what the
    server sends first). `MatchClosed` if the handshake is refused or not answered, if the
    server closes the socket (`code`, with the `error` that says why), or if nothing comes
    within `timeout` (code `silent_code`). A refusal's `error` is returned once its close
    has come."""
    ws = await _handshake(url, token, timeout)
    first: dict[str, Any] = {}
    try:
        async with asyncio.timeout(timeout):
            first = orjson.loads(await ws.recv())
            if first.get("type") == "error":  # a refusal: its close follows at once
                await ws.wait_closed()
    except ConnectionClosed as exc:
        raise MatchClosed(ws.close_code, ws.close_reason or "", error=first or None) from exc
    except TimeoutError as exc:
        ws.transport.abort()
        raise MatchClosed(silent_code, f"no {waited_for} within {timeout:g} s") from exc
    except BaseException:
        ws.transport.abort()
        raise
    return ws, first


async def _handshake(url: str, token: str, open_timeout: float) -> ClientConnection:
    """The WebSocket handshake; `MatchClosed` (code None) if it is refused or not answered."""
    protocols = [Subprotocol(SUBPROTOCOL), Subprotocol("token." + token)]
    try:
        return await ws_connect(
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
        status = exc.response.status_code
        raise MatchClosed(None, f"handshake refused: HTTP {status}", status=status) from exc
    except InvalidHandshake as exc:
        raise MatchClosed(None, f"handshake failed: {exc}") from exc
    except OSError as exc:  # refused, unreachable, timed out (TimeoutError): no answer
        raise MatchClosed(None, f"no answer: {exc!r}") from exc


def chat_message(text: str, team: bool = False) -> dict[str, Any]:
    """A `chat` message of `text`, trimmed (1..200 characters, else ValueError); `team`:
    for the sender's team only (a match of a mode with teams)."""
    line = text.strip()
    if not 1 <= len(line) <= CHAT_MAX_CHARS:
        raise ValueError(f"a chat line is 1 to {CHAT_MAX_CHARS} characters once trimmed")
    return {"type": "chat", "text": line, "team": True} if team else {"type": "chat", "text": line}


def input_message(seq: int, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Input `seq` with the mode's `fields`; ValueError if a number is not finite."""
    if any(isinstance(v, float) and not math.isfinite(v) for v in fields.values()):
        raise ValueError("input numbers must be finite")
    return {**fields, "type": "input", "seq": seq}


class ClosedOnExit:
    """`async with` it: entering gives it back, leaving closes it (`close()`)."""

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class SingleReader(ClosedOnExit):
    """Messages read across sockets, through one iterator that `_run` makes on first use
    (one reader): each socket's first message (a welcome, a snapshot...) included."""

    _messages: AsyncIterator[dict[str, Any]] | None = None

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        """The server's messages; the same iterator on every call."""
        if self._messages is None:
            self._messages = self._run()
        return self._messages

    def _run(self) -> AsyncIterator[dict[str, Any]]:
        raise NotImplementedError


class MatchConnection(ClosedOnExit):
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
        """Open the socket and wait for `welcome`; `MatchClosed` if none comes: the
        handshake was refused (`status`) or not answered, or the server closed the socket
        (`code`, after the `error` that says why)."""
        ws, first = await open_socket(url, access.token, open_timeout, "welcome", None)
        if first.get("type") == "error":
            raise MatchClosed(ws.close_code, ws.close_reason or "", error=first)
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
        message = input_message(self._seq + 1, fields)
        self._seq += 1
        await self.send(message)
        return self._seq

    async def chat(self, text: str, team: bool = False) -> None:
        """Say `text` to the match's players (`team`: to your team only); the line comes
        back through `recv` as a `chat`, as everyone's do."""
        await self.send(chat_message(text, team))

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
        """Messages until the socket closes: ends on 1000 (the match is over or the client
        closed), raises `MatchClosed` otherwise."""
        while True:
            try:
                yield await self.recv()
            except MatchClosed as exc:
                if exc.code == 1000:
                    return
                raise

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self._ws.close(code, reason)
        self._record_close()

    def abort(self) -> None:
        """Drop the socket at once, without the closing handshake (which a frozen server
        or network would hold up for seconds)."""
        self._ws.transport.abort()
        if self.close_code is None:
            self.close_code, self.close_reason = 1006, "aborted"

    async def wait_closed(self) -> int | None:
        """Wait for the socket to close; returns the close code."""
        await self._ws.wait_closed()
        self._record_close()
        return self.close_code

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
