"""WebSocket frames on the socket that websocket-client opened.

websocket-client does the handshake (HTTP upgrade, subprotocols, TLS, proxies); after it,
frames are read and written here: websocket-client spends ~50 µs of Python per frame
received (two or three exact-size reads, a frame object) and ~60 µs per frame sent, which
at 30 messages a second each way per player made the load generator the bottleneck. Here a
read takes whatever the kernel holds and cuts every whole frame out of it.
"""

from __future__ import annotations

import contextlib
import random
import socket
from typing import Any

from gevent.lock import Semaphore

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
READ_SIZE = 65536


class ConnectionLost(Exception):
    """The peer went away without a close frame."""


def _header(opcode: int, length: int) -> bytes:
    """FIN, opcode and the masked payload length (client frames are always masked)."""
    if length < 126:
        return bytes((0x80 | opcode, 0x80 | length))
    if length < 65536:
        return bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    return bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")


def _mask(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    keystream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(keystream, "big")).to_bytes(n, "big")


class FrameSocket:
    """Reads whole messages and control frames; writes masked frames, one writer at a time."""

    def __init__(self, sock: socket.socket, rng: random.Random, keep: Any = None) -> None:
        self.sock = sock
        self.rng = rng
        self.keep = keep  # the websocket-client object that owns the socket
        self.buffer = bytearray()
        self.fragments: list[bytes] = []
        self.fragment_opcode = 0
        self.write_lock = Semaphore()

    # -- reading ---------------------------------------------------------------------------

    def receive(self) -> tuple[int, bytes]:
        """The next message (TEXT/BINARY, reassembled) or control frame: (opcode, payload)."""
        while True:
            frame = self._cut()
            if frame is None:
                data = self.sock.recv(READ_SIZE)
                if not data:
                    raise ConnectionLost("connection closed without a close frame")
                self.buffer += data
                continue
            fin, opcode, payload = frame
            if opcode >= CLOSE:  # control frames may come between fragments
                return opcode, payload
            if opcode != CONTINUATION:
                self.fragment_opcode, self.fragments = opcode, []
            if fin and not self.fragments:
                return opcode, payload
            self.fragments.append(payload)
            if fin:
                return self.fragment_opcode, b"".join(self.fragments)

    def _cut(self) -> tuple[bool, int, bytes] | None:
        """One whole frame off the front of the buffer, or None until more bytes arrive."""
        buf = self.buffer
        if len(buf) < 2:
            return None
        length, offset = buf[1] & 0x7F, 2
        if length == 126:
            length, offset = int.from_bytes(buf[2:4], "big"), 4
        elif length == 127:
            length, offset = int.from_bytes(buf[2:10], "big"), 10
        key = b""
        if buf[1] & 0x80:  # servers do not mask; accept it anyway
            key, offset = bytes(buf[offset : offset + 4]), offset + 4
        end = offset + length
        if len(buf) < end:
            return None
        payload = bytes(buf[offset:end])
        fin, opcode = bool(buf[0] & 0x80), buf[0] & 0x0F
        del buf[:end]
        return fin, opcode, _mask(payload, key) if key else payload

    # -- writing ---------------------------------------------------------------------------

    def send(self, payload: bytes, opcode: int = TEXT) -> None:
        key = self.rng.getrandbits(32).to_bytes(4, "big")
        frame = _header(opcode, len(payload)) + key + _mask(payload, key)
        with self.write_lock:
            self.sock.sendall(frame)

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        self.send(code.to_bytes(2, "big") + reason.encode()[:120], CLOSE)

    def shutdown(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
