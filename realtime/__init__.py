"""The realtime side: ASGI routing, WebSocket consumers, match hosting and the tick loop."""
