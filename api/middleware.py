"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task per request)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class PodHeaderMiddleware:
    """Adds `x-skirmish-pod: <pod name>` to every HTTP response: which pod answered."""

    def __init__(self, app: ASGIApp, pod: str) -> None:
        if not pod:
            raise ValueError("pod name must not be empty")
        self.app = app
        self.header = (b"x-skirmish-pod", pod.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.header]}
            await send(message)

        await self.app(scope, receive, send_with_header)
