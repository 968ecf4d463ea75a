"""`skirmish serve` runs a pod; `skirmish bot` plays real matches against it."""

from __future__ import annotations

import argparse
import logging
import logging.config
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from skirmish.base.logs import log_config
from skirmish.base.mode_loader import ModeConfigError
from skirmish.base.settings import Settings
from skirmish.sdk import bot
from skirmish.server import cluster, replay_check


def redacted(url: str) -> str:
    """The URL without its password: startup lines end up in logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def serve_command(args: argparse.Namespace) -> int:
    import uvicorn

    from skirmish.server.asgi import APP, server_options

    settings = Settings()
    try:
        offered = settings.modes  # a misconfigured SKIRMISH_MODES stops the server here
    except ModeConfigError as exc:
        print(f"skirmish: {exc}", file=sys.stderr)
        return 2
    logs = log_config(settings.log_format, args.log_level)
    logging.config.dictConfig(logs)
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    mode = (
        f"Redis at {redacted(settings.redis_url)}" if settings.redis_url else "embedded (in memory)"
    )
    banner = (
        f"Skirmish {mode}, playing {', '.join(offered)}: open http://{shown}:{port}/ "
        "in your browser"
    )
    if settings.log_format == "json":  # every line a JSON object, this one too
        logging.getLogger("skirmish").info(banner)
    else:
        print(banner, flush=True)
    options = server_options(
        settings, log_config=logs, log_level=args.log_level, access_log=not args.no_access_log
    )
    uvicorn.run(APP, factory=True, host=host, port=port, **options)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skirmish", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run a Skirmish server (one pod)")
    serve.add_argument("--host", help="bind address (default SKIRMISH_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default SKIRMISH_PORT or 8000)")
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--no-access-log", action="store_true")
    serve.set_defaults(run=serve_command)

    bots = commands.add_parser("bot", help="connect bots that play real matches")
    bot.add_bot_arguments(bots)
    bots.set_defaults(run=bot.bot_command)

    local = commands.add_parser("cluster", help="local cluster: Redis, N pods, nginx in front")
    cluster.add_cluster_arguments(local)
    local.set_defaults(run=cluster.cluster_command)

    check = commands.add_parser(
        "replay", help="play a recorded match again and check its result bit for bit"
    )
    replay_check.add_replay_arguments(check)
    check.set_defaults(run=replay_check.replay_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
