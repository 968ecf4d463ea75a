"""GET /v1/protocol.json: the WebSocket protocol (match and lobby sockets) as JSON Schema.

Public, like GET /v1/modes: it describes every WebSocket message, each offered mode's
input and view included (skirmish/base/protocol_schema.py; docs/protocol.md). The
document depends only on the pod's modes, so it is built and encoded once per app.
It is not one of the versioned API's declared endpoints (api/routing.py): like
/openapi.json it is a document about the API, not a resource of it.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.services import PodServices
from skirmish.base.protocol_schema import protocol_schema

PATH = "/v1/protocol.json"


def protocol_route(services: PodServices) -> Route:
    document = orjson.dumps(protocol_schema(services.modes))

    async def protocol_json(request: Request) -> Response:
        return Response(document, media_type="application/json")

    return Route(PATH, protocol_json, include_in_schema=False)
