"""What the HTTP API needs of the pod: the port `skirmish.server.services.Services` fills.

The API's modules see the pod only through this protocol, so they import nothing above
the base package (settings, tokens, the store) and the game core.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from api.ratelimit import RateLimiter
from game.modes import AnyMode
from skirmish.base.settings import Settings
from skirmish.base.store import Store
from skirmish.base.store.records import LobbyRecord
from skirmish.base.tokens import TokenService


class LobbyPush(Protocol):
    """Where the API tells the sockets what it changed (the realtime side's lobby rooms)."""

    async def lobby_changed(self, event: str, lobby: LobbyRecord) -> None:
        """`lobby` (as stored) changed by `event` (`joined`, `left`, `ready`, `settings`,
        `started`, `closed`): to every member's lobby socket, on every pod. Never raises:
        the change is made whether or not it could be pushed."""
        ...

    async def announce(self, text: str) -> str:
        """To every lobby and match socket on every pod; returns when it was said (ISO)."""
        ...


class PodServices(Protocol):
    ready: bool  # /readyz; a drain sets it False

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...
    @property
    def tokens(self) -> TokenService: ...
    @property
    def modes(self) -> Mapping[str, AnyMode]: ...
    @property
    def clock(self) -> Callable[[], float]: ...
    @property
    def limiter(self) -> RateLimiter | None: ...
    @property
    def push(self) -> LobbyPush: ...

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    async def drain(self) -> int:
        """Not ready from now on; hand every match over. Returns the sockets told."""
        ...

    def stats(self) -> dict[str, Any]:
        """What this pod carries right now (GET /admin/stats)."""
        ...
