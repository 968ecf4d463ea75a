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
from skirmish.base.tokens import TokenService


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

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    async def drain(self) -> int:
        """Not ready from now on; hand every match over. Returns the sockets told."""
        ...

    def stats(self) -> dict[str, Any]:
        """What this pod carries right now (GET /admin/stats)."""
        ...
