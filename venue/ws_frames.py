"""Whole websocket messages from a connected socket, read in large chunks (RFC 6455 §5).

Why not websocket-client's ``recv_data``: it reads every frame with two or three ``recv``
calls (header, extended length, payload) and builds several objects per frame, ~65 µs of the
market feed's reader thread per small frame on a 2-core machine (``bin/polymm bench
--profile`` shows where it goes); at a few thousand frames per second that is a large share of
the interpreter every other thread waits for. ``FrameReader`` reads whatever the socket has
(up to ``chunk`` bytes per call), parses the frames out of that buffer, and returns one message
per call; under load one ``recv`` brings many frames. websocket-client still does the
handshake and every send.

Rules kept (the parts of §5 a client reading a server's frames needs): no extension is
negotiated, so RSV bits are an error; server frames must not be masked (§5.1); control frames
are at most 125 bytes and never fragmented (§5.5); a message is a first TEXT/BINARY frame and
its CONTINUATION frames, with control frames allowed in between. PING is answered with a PONG
of the same payload (through ``pong``); PONG is dropped; CLOSE is returned. A message longer
than ``max_message_bytes`` is read past (never buffered) and returned as ``TOO_LARGE``, with
its size in ``last_size``.

Thread ownership: one reader thread per instance (the feed's reader). ``pong`` may take the
websocket's send lock.
"""

from __future__ import annotations

from collections.abc import Callable

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
TOO_LARGE = -1
"""The opcode ``recv_data`` returns for a message over ``max_message_bytes`` (data ``b""``)."""

_COMPACT_AT = 1 << 16


class ProtocolError(Exception):
    """The peer broke RFC 6455; the connection cannot be trusted any more."""


class ConnectionLost(Exception):
    """The peer closed the TCP connection (``recv`` returned no bytes)."""


class FrameReader:
    """Reads messages from ``recv`` (a socket's ``recv``) until the connection ends.

    Args:
        recv: ``socket.recv`` of the connected (possibly TLS) socket, blocking.
        pong: sends a PONG frame with the given payload.
        max_message_bytes: longer messages are skipped (``TOO_LARGE``).
        chunk: the most bytes asked of one ``recv``.
    """

    __slots__ = ("_buf", "_chunk", "_max", "_part_len", "_part_op", "_parts", "_pong", "_pos",
                 "_recv", "last_size")

    def __init__(self, recv: Callable[[int], bytes], pong: Callable[[bytes], None], *,
                 max_message_bytes: int, chunk: int = 1 << 18) -> None:
        if max_message_bytes < 1 or chunk < 1:
            raise ValueError("max_message_bytes and chunk must be >= 1")
        self._recv = recv
        self._pong = pong
        self._max = max_message_bytes
        self._chunk = chunk
        self._buf = bytearray()
        self._pos = 0
        self._part_op = -1  # the opcode of a fragmented message being read, -1 = none
        self._parts: list[bytes] = []
        self._part_len = 0
        self.last_size = 0

    def recv_data(self) -> tuple[int, bytes]:
        """The next message: ``(OP_TEXT or OP_BINARY, payload)``, ``(OP_CLOSE, payload)`` or
        ``(TOO_LARGE, b"")``.

        Raises:
            ConnectionLost: the peer closed the connection.
            ProtocolError: a frame broke the protocol.
            OSError: from ``recv`` (e.g. the socket was shut down to stop the reader).
        """
        while True:
            fin, op, data, size = self._frame()
            if op >= OP_CLOSE:
                if op == OP_PING:
                    self._pong(data)
                elif op == OP_CLOSE:
                    return OP_CLOSE, data
                elif op != OP_PONG:
                    raise ProtocolError(f"reserved control opcode {op:#x}")
                continue
            if op == OP_CONT:
                if self._part_op < 0:
                    raise ProtocolError("a continuation frame without a message to continue")
            elif op not in (OP_TEXT, OP_BINARY):
                raise ProtocolError(f"reserved data opcode {op:#x}")
            elif self._part_op >= 0:
                raise ProtocolError("a new message inside a fragmented one")
            elif fin:  # the usual case: a whole message in one frame
                if size > self._max:
                    self.last_size = size
                    return TOO_LARGE, b""
                return op, data
            else:
                self._part_op, self._parts, self._part_len = op, [], 0
            self._part_len += size
            if self._part_len <= self._max:
                self._parts.append(data)
            else:
                self._parts = []  # over the limit: keep counting, stop keeping
            if fin:
                msg_op, self._part_op = self._part_op, -1
                if self._part_len > self._max:
                    self.last_size = self._part_len
                    return TOO_LARGE, b""
                out, self._parts = b"".join(self._parts), []
                return msg_op, out

    # -- frames ------------------------------------------------------------------------------

    def _frame(self) -> tuple[bool, int, bytes, int]:
        """(fin, opcode, payload, payload size) of the next frame; a payload over the limit is
        read past and given as ``b""`` (its size still counts)."""
        self._need(2)
        buf, pos = self._buf, self._pos
        b0, b1 = buf[pos], buf[pos + 1]
        if b0 & 0x70:
            raise ProtocolError("RSV bits set without a negotiated extension")
        if b1 & 0x80:
            raise ProtocolError("a masked frame from the server")
        op = b0 & 0x0F
        size = b1 & 0x7F
        head = 2
        # ``_need`` may compact the buffer: the unread bytes move, so ``pos`` is re-read.
        if size == 126:
            self._need(4)
            pos = self._pos
            size = int.from_bytes(buf[pos + 2:pos + 4], "big")
            head = 4
        elif size == 127:
            self._need(10)
            pos = self._pos
            size = int.from_bytes(buf[pos + 2:pos + 10], "big")
            if size >> 63:
                raise ProtocolError("a 64-bit payload length with the top bit set")
            head = 10
        if op >= OP_CLOSE and (size > 125 or not b0 & 0x80):
            raise ProtocolError("a control frame longer than 125 bytes or fragmented")
        if size > self._max:
            self._pos = pos + head
            self._skip(size)
            return bool(b0 & 0x80), op, b"", size
        self._need(head + size)
        start = self._pos + head
        data = bytes(buf[start:start + size])
        self._pos = start + size
        return bool(b0 & 0x80), op, data, size

    def _need(self, n: int) -> None:
        """Read until ``n`` unread bytes are buffered (the buffer is compacted as it goes)."""
        buf = self._buf
        while len(buf) - self._pos < n:
            if self._pos >= _COMPACT_AT or self._pos == len(buf):
                del buf[:self._pos]
                self._pos = 0
            data = self._recv(self._chunk)
            if not data:
                raise ConnectionLost("the connection was closed by the peer")
            buf += data

    def _skip(self, n: int) -> None:
        """Consume ``n`` payload bytes without keeping them."""
        buf = self._buf
        while True:
            have = len(buf) - self._pos
            if have >= n:
                self._pos += n
                return
            n -= have
            buf.clear()
            self._pos = 0
            data = self._recv(self._chunk)
            if not data:
                raise ConnectionLost("the connection was closed by the peer")
            buf += data
