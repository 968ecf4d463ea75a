"""How a pod logs: text for a terminal, or one JSON object per line for a log pipeline.

One `logging.config.dictConfig` covers our loggers and uvicorn's (`uvicorn.error`,
`uvicorn.access`); uvicorn is handed the same dictionary so that it does not install its
own. JSON lines come from python-json-logger; request lines carry the request's parts as
fields of their own (method, path, status, client) rather than inside a sentence.
"""

from __future__ import annotations

import logging
import re
from typing import Any

TRACE = 5  # uvicorn's level below DEBUG
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s"  # and "time", ISO 8601 in UTC


class PlainFields(logging.Filter):
    """uvicorn adds `color_message`, its message with terminal colour codes: not for a log
    pipeline."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        return True


# A match token rides in the socket's subprotocol list (`token.<jwt>`); uvicorn's debug and
# trace lines print handshake headers and scopes. No log line may carry one, in any format.
SECRETS = re.compile(r"(token\.|Bearer )?eyJ[\w-]*\.[\w-]*\.[\w-]*")


class Redacted(logging.Filter):
    """Tokens out of every record, whatever logger and level wrote it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "eyJ" in message:
            record.msg, record.args = SECRETS.sub("[token]", message), None
        return True


class RequestFields(logging.Filter):
    """uvicorn's access records carry (client, method, path, http version, status) as
    arguments of a sentence; give them to the JSON formatter as fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            client, method, path, version, status = args
            record.client, record.method, record.path = client, method, path
            record.http_version, record.status = version, status
        return True


def log_config(log_format: str, level: str = "info") -> dict[str, Any]:
    """`level` is uvicorn's (`--log-level`); our own loggers keep INFO unless it asks for
    more detail, so that `--log-level warning` quiets uvicorn, not the pod's own news."""
    logging.addLevelName(TRACE, "TRACE")  # uvicorn's, registered by uvicorn only later
    level = level.upper()
    root_level = level if logging.getLevelName(level) < logging.INFO else "INFO"
    if log_format == "json":
        formatter: dict[str, Any] = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        }
        access: dict[str, Any] = formatter
    else:
        formatter = {"format": TEXT_FORMAT}
        access = {
            "()": "uvicorn.logging.AccessFormatter",
            "fmt": '%(asctime)s %(levelname)s %(client_addr)s "%(request_line)s" %(status_code)s',
        }
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_fields": {"()": RequestFields},
            "plain": {"()": PlainFields},
            "redacted": {"()": Redacted},
        },
        "formatters": {"default": formatter, "access": access},
        "handlers": {
            "default": {**handler, "formatter": "default", "filters": ["plain", "redacted"]},
            "access": {
                **handler,
                "formatter": "access",
                "filters": ["request_fields", "redacted"],
            },
        },
        "root": {"handlers": ["default"], "level": root_level},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["access"], "level": level, "propagate": False},
        },
    }
