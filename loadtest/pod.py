"""Benchmark servers: a real Skirmish pod, or the bare ceiling, under `skirmish serve`'s uvicorn.

    python -m loadtest.pod --app skirmish --port 8001     # a pod offering the arena30 mode
    python -m loadtest.pod --app bare --port 8002         # the ceiling (loadtest/bare_app.py)

Both are served with the uvicorn options of every Skirmish pod
(`skirmish.server.asgi.server_options`), so the two are served identically and stay so. The
Skirmish pod is the real application (`skirmish.server.asgi.build_application`: token
middleware, URLRouter, MatchConsumer, the pod's match host and, with REDIS_URL, the Redis
layer), with two additions for the benchmark only: the "arena30" mode is offered, and a
probe notes the time of every pod-wide tick (`GET /bench/probe`). `BENCH_VARIANT` picks a
consumer variant to compare against and `BENCH_PATCHES` options such as another relay
transport (loadtest/variants.py), passed to the factories; by default the pod is the
product as it is.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from game.modes import AnyMode, ArenaRules, build_modes
from skirmish.base.logs import log_config
from skirmish.base.settings import Settings

VARIANT_ENV = "BENCH_VARIANT"
PATCHES_ENV = "BENCH_PATCHES"


class BenchSettings(Settings):
    """The product's settings, plus the arena30 benchmark mode."""

    @cached_property
    def modes(self) -> dict[str, AnyMode]:
        product: dict[str, AnyMode] = Settings.modes.func(self)  # type: ignore[attr-defined]
        bench = build_modes(ArenaRules(tick_rate=self.tick_rate), bench=True)["arena30"]
        return {**product, "arena30": bench}


def serve_options() -> dict[str, Any]:
    """The uvicorn options every Skirmish pod is served with (skirmish/server/asgi.py)."""
    from skirmish.server.asgi import server_options

    settings = BenchSettings()
    logs = log_config(settings.log_format, "warning")
    return server_options(settings, log_config=logs, log_level="warning", access_log=False)


def skirmish_factory() -> Any:
    """The real Skirmish application, with the arena30 mode and the tick probe."""
    from loadtest import variants

    chosen = variants.choices(
        os.environ.get(VARIANT_ENV, "direct"), os.environ.get(PATCHES_ENV, "")
    )
    from loadtest.probe import ProbeApp, TickProbe
    from realtime import metrics
    from skirmish.server import asgi
    from skirmish.server.services import build_services

    received = metrics.RECEIVED
    probe = TickProbe(lambda: received.input)
    services = build_services(BenchSettings(), on_tick=probe.mark, **chosen.services)
    app = asgi.build_application(services, **chosen.application)
    probed = ProbeApp(app, probe)
    asgi.freeze_startup_objects()  # as the product's factory does
    return probed


def bare_factory() -> Any:
    from loadtest.bare_app import application_factory
    from loadtest.probe import ProbeApp

    app = application_factory()
    return ProbeApp(app, app.probe)


FACTORIES = {"skirmish": "loadtest.pod:skirmish_factory", "bare": "loadtest.pod:bare_factory"}


def main(argv: Sequence[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", choices=sorted(FACTORIES), default="skirmish")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    options = serve_options()
    uvicorn.run(FACTORIES[args.app], factory=True, host=args.host, port=args.port, **options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
