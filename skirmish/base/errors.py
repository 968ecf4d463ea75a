"""Errors that carry their client-facing code and HTTP status, raised anywhere below the API."""

from __future__ import annotations


class SkirmishError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(SkirmishError):
    status, code = 401, "unauthorized"


class Forbidden(SkirmishError):
    status, code = 403, "forbidden"


class NotFound(SkirmishError):
    status, code = 404, "not_found"


class Conflict(SkirmishError):
    status, code = 409, "conflict"


class AlreadyInLobby(Conflict):
    code = "already_in_lobby"


class CodeTaken(Conflict):
    """A private lobby's join code is held by another open lobby: draw another."""

    code = "code_taken"
