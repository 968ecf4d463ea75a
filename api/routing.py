"""Declaring an endpoint once gives its route, its body validation, its auth and its OpenAPI.

    @endpoint("POST", "/v1/lobbies", body=LobbyIn, response=LobbyOut, status=201)
    async def create_lobby(ctx: Context, body: LobbyIn) -> LobbyOut: ...

The handler receives a `Context` (services, the authenticated player, path params, the
validated `query` model if the endpoint declares one) and the validated body; it returns a
pydantic model, or raises a SkirmishError.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.errors import error_response
from api.services import PodServices
from skirmish.base.errors import SkirmishError, Unauthorized
from skirmish.base.tokens import PlayerClaims

MAX_BODY_BYTES = 16 * 1024


class InvalidBody(SkirmishError):
    status, code = 422, "invalid_body"


class BodyTooLarge(SkirmishError):
    status, code = 413, "too_large"


class InvalidQuery(SkirmishError):
    status, code = 422, "invalid_query"


@dataclass(slots=True)
class Context:
    request: Request
    services: PodServices
    player: PlayerClaims | None
    params: dict[str, str]
    query: Any = None

    @property
    def me(self) -> PlayerClaims:
        assert self.player is not None, "endpoint declared without auth"
        return self.player


Handler = Callable[..., Awaitable[BaseModel]]


@dataclass(slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    body: type[BaseModel] | None
    response: type[BaseModel]
    status: int
    auth: bool
    errors: tuple[int, ...] = field(default_factory=tuple)
    query: type[BaseModel] | None = None

    async def serve(self, request: Request) -> Response:
        services = request.app.state.services
        player = authenticate(request, services) if self.auth else None
        ctx = Context(request, services, player, dict(request.path_params))
        if self.query is not None:
            ctx.query = parse_query(request, self.query)
        args: list[Any] = [ctx]
        if self.body is not None:
            args.append(await parse_body(request, self.body))
        result = await self.handler(*args)
        payload = orjson.dumps(result.model_dump(mode="json"))
        return Response(payload, self.status, media_type="application/json")


ENDPOINTS: list[Endpoint] = []


def build_routes(endpoints: list[Endpoint]) -> list[Route]:
    """One route per path, dispatching on the method, so a 405 lists every allowed method."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for ep in endpoints:
        by_path.setdefault(ep.path, {})[ep.method] = ep
    routes = []
    for path, methods in by_path.items():

        async def dispatch(request: Request, methods: dict[str, Endpoint] = methods) -> Response:
            # Starlette adds HEAD beside every GET: it is served as the GET (no body is sent).
            method = "GET" if request.method == "HEAD" else request.method
            return await methods[method].serve(request)

        routes.append(Route(path, dispatch, methods=list(methods)))
    return routes


def endpoint(
    method: str,
    path: str,
    *,
    response: type[BaseModel],
    body: type[BaseModel] | None = None,
    status: int = 200,
    auth: bool = True,
    errors: tuple[int, ...] = (),
    query: type[BaseModel] | None = None,
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        summary = (handler.__doc__ or handler.__name__).strip().splitlines()[0]
        implied: tuple[int, ...] = (401,) if auth else ()
        implied += (413, 422) if body is not None else ()
        implied += (422,) if query is not None else ()
        ENDPOINTS.append(
            Endpoint(
                method,
                path,
                handler,
                summary,
                body,
                response,
                status,
                auth,
                tuple(sorted({*errors, *implied})),
                query,
            )
        )
        return handler

    return register


def authenticate(request: Request, services: PodServices) -> PlayerClaims:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send 'Authorization: Bearer <player token>'")
    claims: PlayerClaims = services.tokens.verify_player(token.strip())
    return claims


async def read_body(request: Request) -> bytes:
    """The body, refused before it is buffered when it is (or claims to be) too large."""
    too_large = BodyTooLarge(f"body larger than {MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:  # chunked, or a lying Content-Length
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_body(request: Request, model: type[BaseModel]) -> BaseModel:
    raw = await read_body(request)
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        raise InvalidBody(first_error(exc, "body")) from None


def parse_query(request: Request, model: type[BaseModel]) -> BaseModel:
    """The query string as `model` (unknown or repeated parameters are refused)."""
    items = request.query_params.multi_items()
    names = [name for name, _ in items]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidQuery(f"{repeated[0]}: given more than once")
    try:
        return model.model_validate(dict(items))
    except ValidationError as exc:
        raise InvalidQuery(first_error(exc, "query")) from None


def first_error(exc: ValidationError, whole: str) -> str:
    """`field.path: what is wrong` for the first error (`whole` when it is not one field's)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or whole
    return f"{where}: {first['msg']}"


def not_found_response() -> Response:
    return error_response(404, "not_found", "no such route")
