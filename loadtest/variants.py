"""What a benchmark pod can run instead of the product's defaults, through the seams of
the application and services factories (skirmish/server/): nothing here changes the
product's code.

Consumer variants (`BENCH_VARIANT`; target `single-NAME` in loadtest/bench.py):
- `direct`: the product as it is (`DirectWebsocketConsumer`: a plain `receive()` loop).
- `stock`: the same `MatchConsumer`, run by channels' own `AsyncConsumer.__call__` and
  `dispatch`: `await_many_dispatch` (an `asyncio.wait` and a new Task per inbound frame)
  and `aclose_old_connections()` (a hop through a worker thread) before every handler.
- `stock-layer`: as `stock`, plus what a stock consumer that may hear from a group has: a
  channel of its own on an in-memory layer, awaited beside the socket.

Options (`BENCH_PATCHES`, comma-separated; target `single+NAME` or `cluster+NAME`):
- `gc-relaxed`: fewer garbage collections (young ones every 20,000 allocations, full ones
  10× rarer), a process setting.
- `relay-replies`: the relay on the Redis layer's stock calls (`send` awaits Redis's reply,
  `receive` goes through channels_redis's lock, tasks and buffer), to measure what `post`
  and `receive_exclusive` (realtime/layers.py) save.
- `relay-direct`: relay batches pod to pod over TCP, Redis left out (relay_direct.py): what
  the channel layer's hops cost the split cluster.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

VARIANTS = ("direct", "stock", "stock-layer")
IN_MEMORY_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
OPTIONS = ("gc-relaxed", "relay-replies", "relay-direct")


@dataclass
class PodChoices:
    """Keyword arguments for `build_services` and `build_application`."""

    services: dict[str, Any] = field(default_factory=dict)
    application: dict[str, Any] = field(default_factory=dict)


def configure_django_for(variant: str) -> None:
    """Before the application module is imported: Django settings, with a default layer
    for `stock-layer`."""
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


def _relay_replies() -> Callable[[Any], Any]:
    from realtime.layers import StockLayerCalls
    from skirmish.server.services import settings_layer

    return lambda settings: StockLayerCalls(settings_layer(settings))


def _relay_direct() -> Callable[[Any], Any]:
    from loadtest.relay_direct import DirectLayer

    return lambda settings: DirectLayer()


def choices(variant: str, options: str) -> PodChoices:
    """The factories' arguments for a consumer variant and comma-separated options."""
    configure_django_for(variant)
    chosen = PodChoices()
    if variant != "direct":
        chosen.application["consumer"] = stock_consumer()
    for name in filter(None, (n.strip() for n in options.split(","))):
        if name not in OPTIONS:
            raise ValueError(f"unknown patch {name!r}; use some of {sorted(OPTIONS)}")
        if name == "gc-relaxed":
            gc.set_threshold(20_000, 10, 100)
        elif name == "relay-replies":
            chosen.services["layer_factory"] = _relay_replies()
        else:
            chosen.services["layer_factory"] = _relay_direct()
    return chosen
