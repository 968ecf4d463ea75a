"""The direct-frames WebSocket protocol under a real uvicorn server and a real client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
import uvicorn
import websockets
from websockets.exceptions import ConnectionClosed

from realtime.ws_protocol import EXTENSION, DirectFramesProtocol
from tests.realtime.conftest import Harness

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[App], Awaitable[tuple[str, uvicorn.Server]]]]:
    servers: list[uvicorn.Server] = []
    tasks: list[asyncio.Task[None]] = []

    async def start(app: App) -> tuple[str, uvicorn.Server]:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, ws=DirectFramesProtocol, lifespan="off",
            log_level="warning", ws_per_message_deflate=False,
        )  # fmt: skip
        server = uvicorn.Server(config)
        servers.append(server)
        tasks.append(asyncio.get_running_loop().create_task(server.serve()))
        for _ in range(500):  # uvicorn offers no event for "listening"
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started
        port = server.servers[0].sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}", server

    yield start
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*tasks)


async def test_frames_go_to_the_handler_in_order_queued_ones_first(serve: Any) -> None:
    got: list[str | bytes] = []
    queued_now = asyncio.Event()
    events: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await queued_now.wait()  # the client's first frames now wait in uvicorn's queue
        scope["extensions"][EXTENSION]["register"](got.append)
        while True:
            message = await receive()
            events.append(message["type"])
            if message["type"] == "websocket.disconnect":
                return

    url, server = await serve(app)
    async with websockets.connect(url) as ws:
        for n in range(3):
            await ws.send(f"early {n}")
        (protocol,) = server.server_state.connections
        for _ in range(100):
            if protocol.queue.qsize() == 3:
                break
            await asyncio.sleep(0.02)
        assert protocol.queue.qsize() == 3  # waiting in the queue when the app registers
        queued_now.set()
        await ws.send(b"\x00binary")
        for n in range(3):
            await ws.send(f"late {n}")
        for _ in range(100):
            if len(got) == 7:
                break
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    assert got == ["early 0", "early 1", "early 2", b"\x00binary", "late 0", "late 1", "late 2"]
    assert events == ["websocket.disconnect"]  # no frame went through receive()


async def test_after_unregister_frames_go_through_the_queue_again(serve: Any) -> None:
    direct: list[str | bytes] = []
    queued: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        extension = scope["extensions"][EXTENSION]

        def handler(data: str | bytes) -> None:
            direct.append(data)
            if len(direct) == 2:  # the app stops reading directly, as a closing consumer does
                extension["unregister"]()

        extension["register"](handler)
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            queued.append(message["text"])
            if len(queued) == 2:
                return  # the app ends: uvicorn closes the connection

    url, _ = await serve(app)
    async with websockets.connect(url) as ws:
        for n in range(4):
            await ws.send(f"frame {n}")
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    assert direct == ["frame 0", "frame 1"]
    assert queued == ["frame 2", "frame 3"]


async def test_invalid_utf8_in_a_text_frame_closes_with_1007(serve: Any) -> None:
    got: list[str | bytes] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        scope["extensions"][EXTENSION]["register"](got.append)
        while (await receive())["type"] != "websocket.disconnect":
            pass

    url, _ = await serve(app)
    async with websockets.connect(url) as ws:
        await ws.send("fine")
        await ws.send(b"\xff\xfe", text=True)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007
    assert got == ["fine"]


async def test_an_app_that_does_not_register_gets_standard_receive_events(serve: Any) -> None:
    async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert EXTENSION in scope["extensions"]  # offered, not taken
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", "text": message["text"].upper()})

    url, _ = await serve(echo)
    async with websockets.connect(url) as ws:
        await ws.send("hello")
        assert await asyncio.wait_for(ws.recv(), 5) == "HELLO"


async def test_the_match_consumer_takes_its_frames_directly(serve: Any, harness: Harness) -> None:
    match = await harness.new_match(players=1)
    base, server = await serve(harness.app)
    protocols = ["skirmish.v1", "token." + harness.token(match, 0)]
    url = f"{base}/ws/matches/{match.id}"
    async with websockets.connect(url, subprotocols=protocols) as ws:  # type: ignore[arg-type]
        welcome = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert welcome["type"] == "welcome"
        (protocol,) = server.server_state.connections
        assert isinstance(protocol, DirectFramesProtocol) and protocol.frame_handler is not None
        await ws.send('{"type":"input","seq":1,"dx":1.0,"dy":0.0,"aim":0.0,"fire":false}')
        await ws.send('{"type":"nonsense"}')
        seen: list[dict[str, Any]] = []
        acked = False
        while not (acked and any(m["type"] == "error" for m in seen)):
            seen.append(orjson.loads(await asyncio.wait_for(ws.recv(), 5)))
            acked = acked or (seen[-1]["type"] == "snapshot" and seen[-1]["ack"] == 1)
        assert [m["code"] for m in seen if m["type"] == "error"] == ["unknown_type"]
