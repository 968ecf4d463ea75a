"""Every error leaves as `{"error": {"code", "message"}}` with its 4xx/5xx status."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from skirmish.base.errors import SkirmishError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_body",
    429: "rate_limited",
}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def skirmish_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SkirmishError)
    return error_response(exc.status, exc.code, exc.message)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response = error_response(exc.status_code, HTTP_CODES.get(exc.status_code, "error"), exc.detail)
    response.headers.update(exc.headers or {})  # e.g. Allow on 405
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal", "internal server error")


EXCEPTION_HANDLERS = {
    SkirmishError: skirmish_error,
    HTTPException: http_error,
    Exception: server_error,
}
