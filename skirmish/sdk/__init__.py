"""The Python SDK: `SkirmishClient` (REST and match sockets), `Reconnector` (a match
played to its end across dropped sockets), `LobbyRoom` (a member's lobby socket: pushed
changes, chat, the start) and `Spectator` (a match watched, live or from its recording).
Imported on first use, so that importing `skirmish.sdk.schema_inputs` alone (the load
test's gevent processes do) pulls in no asyncio client."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skirmish.sdk.client import SkirmishClient
    from skirmish.sdk.connection import MatchConnection
    from skirmish.sdk.lobby_room import LobbyClosed, LobbyRoom, RoomTiming
    from skirmish.sdk.reconnect import ReconnectFailed, Reconnector, Timing
    from skirmish.sdk.records import (
        ApiError,
        MatchAccess,
        MatchClosed,
        SkirmishError,
        SpectateAccess,
    )
    from skirmish.sdk.spectator import Spectator, SpectatorClosed, SpectatorTiming

_EXPORTS = {
    "ApiError": "skirmish.sdk.records",
    "MatchAccess": "skirmish.sdk.records",
    "MatchClosed": "skirmish.sdk.records",
    "SkirmishError": "skirmish.sdk.records",
    "SpectateAccess": "skirmish.sdk.records",
    "MatchConnection": "skirmish.sdk.connection",
    "LobbyClosed": "skirmish.sdk.lobby_room",
    "LobbyRoom": "skirmish.sdk.lobby_room",
    "RoomTiming": "skirmish.sdk.lobby_room",
    "SkirmishClient": "skirmish.sdk.client",
    "ReconnectFailed": "skirmish.sdk.reconnect",
    "Reconnector": "skirmish.sdk.reconnect",
    "Timing": "skirmish.sdk.reconnect",
    "Spectator": "skirmish.sdk.spectator",
    "SpectatorClosed": "skirmish.sdk.spectator",
    "SpectatorTiming": "skirmish.sdk.spectator",
}
__all__ = [
    "ApiError",
    "LobbyClosed",
    "LobbyRoom",
    "MatchAccess",
    "MatchClosed",
    "MatchConnection",
    "ReconnectFailed",
    "Reconnector",
    "RoomTiming",
    "SkirmishClient",
    "SkirmishError",
    "SpectateAccess",
    "Spectator",
    "SpectatorClosed",
    "SpectatorTiming",
    "Timing",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'skirmish.sdk' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
