"""A TCP proxy on loopback whose open connections can be frozen: bytes stop flowing both
ways and nothing is closed, as when a server's host vanishes without a reset. Connections
made after the freeze flow normally (the server "came back" at the same address)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit


class FreezingProxy:
    def __init__(self, target_url: str) -> None:
        target = urlsplit(target_url)
        self.target = (target.hostname or "127.0.0.1", target.port or 0)
        self.scheme, self.path = target.scheme, target.path
        self.port = 0
        self._frozen: list[asyncio.Event] = []  # one per connection: set = frozen
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{self.path}"

    def freeze(self) -> None:
        for frozen in self._frozen:
            frozen.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        frozen = asyncio.Event()
        self._frozen.append(frozen)
        self._writers += [writer, up_writer]
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink, frozen))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _pipe(
        source: asyncio.StreamReader, sink: asyncio.StreamWriter, frozen: asyncio.Event
    ) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                if frozen.is_set():
                    await asyncio.Event().wait()  # swallow everything from now on, silently
                sink.write(data)
                await sink.drain()
            sink.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FreezingProxy]:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            self._server.close()
            for task in list(self._pipes):
                task.cancel()
            await asyncio.gather(*self._pipes, return_exceptions=True)
            for writer in self._writers:
                writer.close()
            await self._server.wait_closed()
