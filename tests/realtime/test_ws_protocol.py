"""The direct-frames WebSocket protocol under a real uvicorn server and a real client."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
import uvicorn
import websockets
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from realtime.ws_protocol import EXTENSION, DirectFramesProtocol
from tests.realtime.conftest import Harness

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[App], Awaitable[tuple[str, uvicorn.Server]]]]:
    servers: list[uvicorn.Server] = []
    tasks: list[asyncio.Task[None]] = []

    async def start(app: App, max_size: int = 16 * 1024 * 1024) -> tuple[str, uvicorn.Server]:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, ws=DirectFramesProtocol, lifespan="off",
            log_level="warning", ws_per_message_deflate=False, ws_max_size=max_size,
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


def recording_app(got: list[str | bytes]) -> App:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        scope["extensions"][EXTENSION]["register"](got.append)
        while (await receive())["type"] != "websocket.disconnect":
            pass

    return app


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


def unregistering_app(
    direct: list[str | bytes], queued: list[str], after: int, end_after: int | None = None
) -> App:
    """Takes `after` frames directly, then unregisters (as a closing consumer does) and
    reads the rest from the queue; returns after `end_after` of those (uvicorn closes)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        extension = scope["extensions"][EXTENSION]

        def handler(data: str | bytes) -> None:
            direct.append(data)
            if len(direct) == after:
                extension["unregister"]()

        extension["register"](handler)
        while (message := await receive())["type"] != "websocket.disconnect":
            queued.append(message["text"])
            if len(queued) == end_after:
                return

    return app


async def test_after_unregister_frames_go_through_the_queue_again(serve: Any) -> None:
    direct: list[str | bytes] = []
    queued: list[str] = []
    app = unregistering_app(direct, queued, after=2, end_after=2)

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
    url, _ = await serve(recording_app(got))
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


# -- the fast path: frames unframed by the protocol itself, under awkward TCP chunking --------


class RawClient:
    """A WebSocket client that writes hand-made frame bytes in chunks of our choosing and
    reads the server's frames with websockets' own sans-I/O parser."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.protocol: ClientProtocol

    @classmethod
    async def connect(cls, url: str) -> RawClient:
        host, port = url.removeprefix("ws://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        client = cls(reader, writer)
        client.protocol = ClientProtocol(parse_uri(url))
        client.protocol.send_request(client.protocol.connect())
        writer.writelines(client.protocol.data_to_send())
        while client.protocol.state is not State.OPEN:
            client.protocol.receive_data(await asyncio.wait_for(reader.read(65536), 5))
        client.protocol.events_received()  # the handshake response
        return client

    async def write(self, data: bytes, chunk: int | None = None) -> None:
        step = chunk or len(data)
        for at in range(0, len(data), step):
            self.writer.write(data[at : at + step])
            await self.writer.drain()
            if chunk:
                await asyncio.sleep(0.002)  # separate segments, separate data_received calls

    async def frames(self, until: Callable[[list[Frame]], bool]) -> list[Frame]:
        got: list[Frame] = []
        while not until(got):
            data = await asyncio.wait_for(self.reader.read(65536), 5)
            if not data:
                self.protocol.receive_eof()
                got += [e for e in self.protocol.events_received() if isinstance(e, Frame)]
                break
            self.protocol.receive_data(data)
            got += [e for e in self.protocol.events_received() if isinstance(e, Frame)]
        return got

    def close(self) -> None:
        self.writer.close()


def masked(opcode: Opcode, data: bytes, *, fin: bool = True) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=True, extensions=[])


def count_fast_path(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the frames DirectFramesProtocol unframes itself (not through the parser)."""
    count = [0]
    deliver = DirectFramesProtocol._deliver

    def counted(self: DirectFramesProtocol, opcode: int, payload: bytes) -> None:
        count[0] += 1
        deliver(self, opcode, payload)

    monkeypatch.setattr(DirectFramesProtocol, "_deliver", counted)
    return count


async def wait_for_count(got: list[Any], n: int) -> None:
    for _ in range(250):
        if len(got) >= n:
            return
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("chunk", [None, 1, 3, 7])
async def test_frames_split_anywhere_by_tcp_arrive_whole_and_in_order(
    serve: Any, chunk: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    got: list[str | bytes] = []
    direct = count_fast_path(monkeypatch)
    url, _ = await serve(recording_app(got))
    client = await RawClient.connect(url)
    long_text = "x" * 300  # a 16-bit extended length
    stream = (
        masked(Opcode.TEXT, b"first")
        + masked(Opcode.BINARY, b"\x00\x01")
        + masked(Opcode.TEXT, long_text.encode())
        + masked(Opcode.TEXT, "é".encode())
        + masked(Opcode.TEXT, b"")
    )
    await client.write(stream, chunk)
    await wait_for_count(got, 5)
    client.close()
    assert got == ["first", b"\x00\x01", long_text, "é", ""]
    if chunk is None:  # all in one segment: the fast path took every frame, not the parser
        assert direct == [5]


async def test_control_frames_and_fragments_between_direct_frames(serve: Any) -> None:
    got: list[str | bytes] = []
    url, _ = await serve(recording_app(got))
    client = await RawClient.connect(url)
    stream = (
        masked(Opcode.TEXT, b"a")
        + masked(Opcode.PING, b"are you there")
        + masked(Opcode.TEXT, b"b")
        + masked(Opcode.TEXT, b"frag", fin=False)
        + masked(Opcode.CONT, b"men", fin=False)
        + masked(Opcode.PING, b"mid-message")
        + masked(Opcode.CONT, b"ted")
        + masked(Opcode.TEXT, b"c")
    )
    await client.write(stream, 5)
    await wait_for_count(got, 4)
    pongs = await client.frames(lambda f: len(f) >= 2)
    client.close()
    assert got == ["a", "b", "fragmented", "c"]
    assert [(f.opcode, f.data) for f in pongs] == [
        (Opcode.PONG, b"are you there"),
        (Opcode.PONG, b"mid-message"),
    ]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (Frame(Opcode.TEXT, b"bare").serialize(mask=False, extensions=[]), 1002),  # unmasked
        (b"\x81\x85" + b"\x00" * 4 + b"hello"[:4], None),  # a partial frame, then EOF
        (bytes([0x83, 0x80]) + b"\x00" * 4, 1002),  # a reserved opcode
        (bytes([0xC1, 0x81]) + b"\x00" * 4 + b"x", 1002),  # RSV1 without an extension
        (masked(Opcode.BINARY, b"z" * 4097), 1009),  # over the size limit, 16-bit length
        (masked(Opcode.BINARY, b"z" * 70_000), 1009),  # over it, 64-bit length
    ],
)
async def test_frames_the_fast_path_does_not_take_are_judged_by_the_parser(
    serve: Any, frame: bytes, code: int | None
) -> None:
    got: list[str | bytes] = []
    url, _ = await serve(recording_app(got), max_size=4096)
    client = await RawClient.connect(url)
    after = masked(Opcode.TEXT, b"after") if code is not None else b""
    await client.write(masked(Opcode.TEXT, b"before") + frame + after)
    if code is None:  # the client goes away mid-frame: nothing half-read reaches the app
        client.writer.write_eof()
    closing = await client.frames(lambda f: any(x.opcode is Opcode.CLOSE for x in f))
    client.close()
    assert got == ["before"]
    if code is not None:
        (close,) = [f for f in closing if f.opcode is Opcode.CLOSE]
        assert Close.parse(close.data).code == code


async def test_a_frame_of_exactly_the_size_limit_is_taken(serve: Any) -> None:
    got: list[str | bytes] = []
    url, _ = await serve(recording_app(got), max_size=4096)
    client = await RawClient.connect(url)
    await client.write(masked(Opcode.BINARY, b"z" * 4096) + masked(Opcode.TEXT, b"next"))
    await wait_for_count(got, 2)
    client.close()
    assert got == [b"z" * 4096, "next"]


async def test_unregistering_mid_segment_sends_the_rest_through_the_queue(serve: Any) -> None:
    direct: list[str | bytes] = []
    queued: list[str] = []
    app = unregistering_app(direct, queued, after=1)  # after the first frame of the segment
    url, _ = await serve(app)
    client = await RawClient.connect(url)
    await client.write(b"".join(masked(Opcode.TEXT, b"%d" % n) for n in range(3)))
    await wait_for_count(queued, 2)
    client.close()
    assert direct == ["0"]
    assert queued == ["1", "2"]


async def test_bad_utf8_after_the_clients_close_in_one_segment_raises_nothing(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    got: list[str | bytes] = []
    url, _ = await serve(recording_app(got))
    client = await RawClient.connect(url)
    close = Frame(Opcode.CLOSE, Close(1000, "bye").serialize())
    segment = (
        masked(Opcode.PING, b"p")  # the parser takes the segment from here on
        + masked(Opcode.TEXT, b"\xff\xfe")
        + close.serialize(mask=True, extensions=[])
    )
    with caplog.at_level(logging.ERROR):
        await client.write(segment)
        frames = await client.frames(lambda f: any(x.opcode is Opcode.CLOSE for x in f))
    client.close()
    assert got == []
    assert any(f.opcode is Opcode.CLOSE for f in frames)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
