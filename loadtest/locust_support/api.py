"""The REST calls of the protocol on Locust's HttpSession, named so that the stats group
them by route (`/v1/lobbies/[id]`), with the flows that get a player into a match of a
given game mode.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent

from .modes import ModeInfo, catalogue
from .options import Settings

Access = dict[str, Any]  # match access: {"match_id", "ws_path", "token", "expires_at"}
Report = Callable[..., None]  # report(name, ms, length=0, exc=None)


class FlowFailure(Exception):
    """A flow that did not get its player into a match (shown in Locust's failures)."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: dict[str, Any]


def _age(lobby: dict[str, Any]) -> tuple[str, str]:
    return str(lobby.get("created_at", "")), str(lobby.get("id", ""))


def error_text(response: Any) -> str:
    """`409 conflict: lobby is full` from the protocol's error body, or the raw status."""
    try:
        error = response.json()["error"]
        return f"{response.status_code} {error['code']}: {error['message']}"[:200]
    except Exception:
        return f"{response.status_code} {getattr(response, 'reason', '') or response.error}"[:200]


class Api:
    """One signed-in player's REST calls. Every call lands in Locust's stats."""

    def __init__(self, client: Any, settings: Settings, name_prefix: str) -> None:
        self.client = client
        self.settings = settings
        self.name = f"{name_prefix}-{random.getrandbits(32):08x}"
        self.token: str | None = None
        self.player_id: str | None = None

    def call(
        self,
        method: str,
        path: str,
        name: str | None = None,
        body: dict[str, Any] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> Reply | None:
        """The reply when its status is one of `ok`; otherwise a failure and None."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        with self.client.request(
            method, path, name=name or path, json=body, headers=headers, catch_response=True
        ) as response:
            if response.status_code not in ok:
                response.failure(error_text(response))
                if response.status_code == 429:
                    gevent.sleep(float(response.headers.get("Retry-After") or 1))
                return None
            try:
                data = response.json() if response.content else {}
            except ValueError:
                response.failure(f"{response.status_code}: body is not JSON")
                return None
            response.success()
            return Reply(response.status_code, data if isinstance(data, dict) else {})

    def sign_in(self) -> bool:
        self.token = None
        reply = self.call("POST", "/v1/auth/guest", body={"name": self.name}, ok=(201,))
        if reply is not None:
            self.token = str(reply.body["token"])
            self.player_id = str(reply.body["player_id"])
        return self.token is not None

    def modes(self) -> dict[str, ModeInfo] | None:
        """The game modes the server offers (GET /v1/modes), by name."""
        reply = self.call("GET", "/v1/modes")
        return catalogue(reply.body) if reply else None

    # -- matchmaking -----------------------------------------------------------------------

    def create_ticket(self, mode: str) -> str | None:
        reply = self.call("POST", "/v1/matchmaking/tickets", body={"mode": mode}, ok=(201,))
        return str(reply.body["id"]) if reply else None

    def get_ticket(self, ticket_id: str) -> dict[str, Any] | None:
        reply = self.call(
            "GET", f"/v1/matchmaking/tickets/{ticket_id}", name="/v1/matchmaking/tickets/[id]"
        )
        return reply.body if reply else None

    def cancel_ticket(self, ticket_id: str) -> dict[str, Any] | None:
        """The ticket, cancelled; or matched, when the matcher was quicker (409)."""
        path = f"/v1/matchmaking/tickets/{ticket_id}"
        reply = self.call("DELETE", path, name="/v1/matchmaking/tickets/[id]", ok=(200, 409))
        if reply is not None and reply.status == 409:
            return self.get_ticket(ticket_id)
        return reply.body if reply else None

    def queue(self, report: Report, mode: str) -> Access | None:
        """Queue for `mode` and poll the ticket until matched; reports `MM ticket→matched`."""
        started = time.perf_counter()
        ticket_id = self.create_ticket(mode)
        if ticket_id is None:
            return None
        deadline = started + self.settings.queue_timeout
        while time.perf_counter() < deadline:
            gevent.sleep(self.settings.poll_interval)
            ticket = self.get_ticket(ticket_id)
            status = ticket["status"] if ticket else "searching"
            if status == "matched":
                report("ticket→matched", (time.perf_counter() - started) * 1000, kind="MM")
                return dict(ticket["match"])  # type: ignore[index]
            if status != "searching":
                report("ticket→matched", 0, kind="MM", exc=FlowFailure(f"ticket {status}"))
                return None
        ticket = self.cancel_ticket(ticket_id)
        if ticket and ticket.get("status") == "matched":
            return dict(ticket["match"])
        elapsed = self.settings.queue_timeout * 1000
        failure = FlowFailure(f"no match within {self.settings.queue_timeout:g} s")
        report("ticket→matched", elapsed, kind="MM", exc=failure)
        return None

    # -- lobbies ---------------------------------------------------------------------------

    def list_lobbies(self) -> list[dict[str, Any]]:
        reply = self.call("GET", "/v1/lobbies")
        return list(reply.body.get("lobbies", [])) if reply else []

    def lobby(
        self, lobby_id: str, action: str = "", body: dict[str, Any] | None = None
    ) -> Reply | None:
        """GET a lobby, or POST one of its actions (join, leave, ready, start)."""
        path = f"/v1/lobbies/{lobby_id}" + (f"/{action}" if action else "")
        name = "/v1/lobbies/[id]" + (f"/{action}" if action else "")
        return self.call("POST" if action else "GET", path, name=name, body=body, ok=(200, 409))

    def create_lobby(self, name: str, max_players: int, mode: str) -> dict[str, Any] | None:
        body = {"mode": mode, "name": name, "max_players": max_players}
        reply = self.call("POST", "/v1/lobbies", body=body, ok=(201,))
        return reply.body if reply else None

    def join_some_lobby(self, prefix: str, max_players: int, mode: str) -> dict[str, Any] | None:
        """Join the oldest open `mode` lobby named `prefix…` with room; else create one."""
        for lobby in self.joinable_lobbies(prefix, mode):
            reply = self.lobby(lobby["id"], "join")
            if reply is not None and reply.status == 200:
                return reply.body
        return self.create_lobby(f"{prefix} {self.name}", max_players, mode)

    def joinable_lobbies(self, prefix: str, mode: str | None) -> list[dict[str, Any]]:
        """Open lobbies named `prefix…` (of `mode`, or any) with room and without us,
        oldest first."""
        lobbies = [lb for lb in self.list_lobbies() if self._joinable(lb, prefix, mode)]
        return sorted(lobbies, key=_age)[:20]

    def _joinable(self, lobby: dict[str, Any], prefix: str, mode: str | None = None) -> bool:
        members = lobby.get("members") or []
        return (
            str(lobby.get("name", "")).startswith(prefix)
            and mode in (None, lobby.get("mode"))
            and lobby.get("status") == "open"
            and len(members) < int(lobby.get("max_players", 0))
            and all(m.get("player_id") != self.player_id for m in members)
        )

    def regroup(self, lobby: dict[str, Any], prefix: str, mode: ModeInfo) -> dict[str, Any]:
        """Alone in our lobby? Move to an older one: players who all created a lobby at
        the same moment end up together, in the oldest (which never moves). A player is in
        one open lobby at a time, so ours is left first; if the older one filled meanwhile,
        we gather again from scratch."""
        if len(lobby.get("members") or []) != 1:
            return lobby
        older = [lb for lb in self.joinable_lobbies(prefix, mode.name) if _age(lb) < _age(lobby)]
        if not older:
            return lobby
        self.lobby(lobby["id"], "leave")
        for other in older:
            reply = self.lobby(other["id"], "join")
            if reply is not None and reply.status == 200:
                self.lobby(other["id"], "ready", {"ready": True})
                return dict(reply.body)
        size = mode.group_size(self.settings.lobby_size)
        again = self.join_some_lobby(prefix, size, mode.name) or lobby
        self.lobby(again["id"], "ready", {"ready": True})
        return again

    def lobby_match(self, report: Report, mode: ModeInfo, prefix: str = "lt-play") -> Access | None:
        """Gather in a `mode` lobby, get ready, start it as its host; reports
        `MM lobby→started`. The lobby's size is `lobby-size` as far as the mode allows."""
        started = time.perf_counter()
        lobby = self.join_some_lobby(prefix, mode.group_size(self.settings.lobby_size), mode.name)
        if lobby is None:
            return None
        self.lobby(lobby["id"], "ready", {"ready": True})
        deadline = started + self.settings.queue_timeout
        polls = 0
        while time.perf_counter() < deadline and lobby["status"] == "open":
            if self._startable(lobby, mode, time.perf_counter() - started):
                self.lobby(lobby["id"], "start")  # 409 when someone just joined or left
            gevent.sleep(self.settings.poll_interval)
            polls += 1
            if polls % 4 == 0:
                lobby = self.regroup(lobby, prefix, mode)
            reply = self.lobby(lobby["id"])
            lobby = reply.body if reply and reply.status == 200 else lobby
        if lobby["status"] == "started" and lobby.get("match"):
            report("lobby→started", (time.perf_counter() - started) * 1000, kind="MM")
            return dict(lobby["match"])
        self.lobby(lobby["id"], "leave")
        failure = FlowFailure(f"lobby {lobby['status']}, no match")
        report("lobby→started", (time.perf_counter() - started) * 1000, kind="MM", exc=failure)
        return None

    def _startable(self, lobby: dict[str, Any], mode: ModeInfo, waited: float) -> bool:
        """Host, everyone ready, and full (or waited long enough) with a number of players
        the mode can start with (its minimum, and a multiple of its teams)."""
        members = lobby.get("members") or []
        full = len(members) >= int(lobby.get("max_players", 2))
        enough = (full or waited >= self.settings.lobby_fill_seconds) and mode.can_start(
            len(members)
        )
        return (
            lobby.get("host_id") == self.player_id and enough and all(m["ready"] for m in members)
        )
