"""Consumer variants to measure the product against, on the same workload (benchmark only).

- `direct`: the product as it is (`DirectWebsocketConsumer`: a plain `receive()` loop).
- `stock`: the same `MatchConsumer`, run by channels' own `AsyncConsumer.__call__` and
  `dispatch`: `await_many_dispatch` (an `asyncio.wait` and a new Task per inbound frame)
  and `aclose_old_connections()` (a hop through a worker thread) before every handler.
- `stock-layer`: as `stock`, plus what a stock consumer that may hear from a group has: a
  channel of its own on an in-memory layer, awaited beside the socket.

Patches (`BENCH_PATCHES`, comma-separated; target `single+NAME` in loadtest/bench.py) are
prototypes of fixes to realtime/, monkeypatched here so that their gain can be measured
before anyone edits the product:

- `tick-yield`: the pod's tick scheduler yields to the event loop before every tick, also
  when it runs behind; as it is, a pod that falls behind runs tick after tick without
  reading a single socket (inputs and pings wait until it catches up, if ever).
- `gc-freeze`: `gc.collect(); gc.freeze()` once the pod has started, so that the cyclic
  collector's full passes no longer walk every object of Django, pydantic and the app.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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

    return StockMatchConsumer


def _tick_yield() -> None:
    import asyncio

    from realtime import metrics
    from realtime.match_host import MatchHost

    async def _run(self: Any) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.tick_rate
        next_at = loop.time()
        while True:
            next_at += interval
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                if delay < -5 * interval:  # hopelessly behind: skip, don't spiral
                    next_at = loop.time()
                await asyncio.sleep(0)  # THE FIX: let the sockets be read between ticks
            started = loop.time()
            metrics.TICK_LATENESS.observe(max(started - next_at, 0.0))
            self.tick_all()
            self.relay.flush()
            metrics.TICK_DURATION.observe(loop.time() - started)

    MatchHost._run = _run  # type: ignore[method-assign]


def _gc_freeze() -> None:
    """At the end of startup: move every object built so far out of the collector's sight
    (`gc.freeze()`), so that full collections scan only what the matches allocate."""
    import gc

    from realtime.match_host import MatchHost

    start = MatchHost.start

    async def start_then_freeze(self: Any) -> None:
        await start(self)
        gc.collect()
        gc.freeze()

    MatchHost.start = start_then_freeze  # type: ignore[method-assign]


PATCHES = {"tick-yield": _tick_yield, "gc-freeze": _gc_freeze}


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
