"""Consumer variants to measure the product against, on the same workload (benchmark only).

- `direct`: the product as it is (`DirectWebsocketConsumer`: a plain `receive()` loop).
- `stock`: the same `MatchConsumer`, run by channels' own `AsyncConsumer.__call__` and
  `dispatch`: `await_many_dispatch` (an `asyncio.wait` and a new Task per inbound frame)
  and `aclose_old_connections()` (a hop through a worker thread) before every handler.
- `stock-layer`: as `stock`, plus what a stock consumer that may hear from a group has: a
  channel of its own on an in-memory layer, awaited beside the socket.

Patches (`BENCH_PATCHES`, comma-separated; target `single+NAME` in loadtest/bench.py) are
prototypes of fixes to realtime/, monkeypatched here so that their gain can be measured
before anyone edits the product. The first two (`tick-yield`, `gc-freeze`) were measured
here and have landed in realtime/match_host.py and realtime/asgi.py. Pending:
`gc-relaxed`, fewer garbage collections (docs/performance.md). `relay-replies` goes the
other way: the relay as it was before `post` and `receive_exclusive` (realtime/layers.py),
for a side-by-side measurement of what they save (`--targets cluster,cluster+relay-replies`).
`tick-grid` (pods ticking in phase on one wall-clock grid) was measured without a gain
beyond this host's noise and has not landed (docs/performance.md). `relay-direct` sends
relay batches pod to pod over TCP, Redis left out: what the channel layer's hops cost the
split cluster (`--targets cluster,cluster+relay-direct`; measured, not landed).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

VARIANTS = ("direct", "stock", "stock-layer")
IN_MEMORY_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def configure_django_for(variant: str) -> None:
    """Before realtime.asgi is imported: Django settings, with a default layer if asked."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; use one of {VARIANTS}")
    if variant == "stock-layer":
        from django.conf import settings

        if not settings.configured:
            settings.configure(INSTALLED_APPS=[], CHANNEL_LAYERS=IN_MEMORY_LAYER, USE_TZ=True)


def stock_consumer() -> type[Any]:
    from channels.consumer import AsyncConsumer

    from realtime.consumers import MatchConsumer

    class StockMatchConsumer(MatchConsumer):
        """MatchConsumer under channels' stock dispatch machinery."""

        __call__ = AsyncConsumer.__call__
        dispatch = AsyncConsumer.dispatch

        def take_frames_directly(self) -> bool:
            return False  # every frame through the stock dispatch, as the variant says

    return StockMatchConsumer


def _gc_relaxed() -> None:
    """Young collections every 20,000 allocations instead of 700, full ones 10× rarer."""
    import gc

    gc.set_threshold(20_000, 10, 100)


def _relay_replies() -> None:
    """The relay on the layer's stock calls: `send` awaits Redis's reply and `receive` goes
    through channels_redis's lock, tasks and buffer (relay.py falls back to them)."""
    from realtime.layers import ShardSafeRedisChannelLayer

    ShardSafeRedisChannelLayer.post = None  # type: ignore[assignment,method-assign]
    ShardSafeRedisChannelLayer.receive_exclusive = None  # type: ignore[assignment,method-assign]


def _tick_grid() -> None:
    """Every pod's tick loop starts on a boundary of one wall-clock grid (multiples of the
    tick interval), so that pods tick in phase and a peer's batch lands while the pod is
    still awake from its own tick."""
    import asyncio
    import time

    from realtime.match_host import MatchHost

    original = MatchHost._run

    async def aligned(self: MatchHost) -> None:
        interval = 1.0 / self.tick_rate
        await asyncio.sleep(interval - time.time() % interval)
        await original(self)

    MatchHost._run = aligned  # type: ignore[method-assign]


def _relay_direct() -> None:
    """Relay batches pod to pod over TCP, Redis left out (loadtest/relay_direct.py)."""
    from loadtest import relay_direct

    relay_direct.install()


PATCHES: dict[str, Callable[[], None]] = {
    "tick-grid": _tick_grid,
    "gc-relaxed": _gc_relaxed,
    "relay-replies": _relay_replies,
    "relay-direct": _relay_direct,
}


def apply_patches(names: str) -> None:
    for name in filter(None, (n.strip() for n in names.split(","))):
        if name not in PATCHES:
            raise ValueError(f"unknown patch {name!r}; use some of {sorted(PATCHES)}")
        PATCHES[name]()


@contextlib.contextmanager
def applied(variant: str) -> Iterator[None]:
    """While building the application, route match sockets to the variant's consumer."""
    from realtime import asgi

    if variant == "direct":
        yield
        return
    original = asgi.MatchConsumer  # type: ignore[attr-defined]
    asgi.MatchConsumer = stock_consumer()  # type: ignore[attr-defined]
    try:
        yield
    finally:
        asgi.MatchConsumer = original  # type: ignore[attr-defined]
