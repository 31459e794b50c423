"""venue.ws_frames.FrameReader against frames built by websocket-client's own encoder (ABNF).

The byte stream is cut into arbitrary ``recv`` chunks, so every frame boundary case (a header
split across reads, a payload across many, many frames in one read) is exercised.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
import websocket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from venue.ws_frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    TOO_LARGE,
    ConnectionLost,
    FrameReader,
    ProtocolError,
)


def frame(op: int, data: bytes, *, fin: bool = True, rsv1: int = 0) -> bytes:
    return websocket.ABNF(int(fin), rsv1, 0, 0, op, 0, data).format()


def chunked(stream: bytes, sizes: list[int]) -> Callable[[int], bytes]:
    """A ``recv`` that hands out ``stream`` in pieces of the given sizes (then EOF)."""
    pieces: Iterator[int] = iter(sizes)
    pos = 0

    def recv(n: int) -> bytes:
        nonlocal pos
        k = min(n, next(pieces, n), len(stream) - pos)
        out = stream[pos:pos + max(k, 0)]
        pos += len(out)
        return out

    return recv


def reader(stream: bytes, sizes: list[int] | None = None, max_bytes: int = 1 << 20,
           pongs: list[bytes] | None = None) -> FrameReader:
    sink = pongs if pongs is not None else []
    return FrameReader(chunked(stream, sizes or []), sink.append, max_message_bytes=max_bytes)


messages = st.lists(st.tuples(st.sampled_from([OP_TEXT, OP_BINARY]),
                              st.one_of(st.binary(max_size=200),
                                        st.binary(min_size=60_000, max_size=70_000)),
                              st.integers(1, 4), st.booleans()),
                    max_size=8)


# Generating 60-70 KB payloads is slow on a loaded 2-core machine; that says nothing about
# the reader, so the too_slow health check must not fail the run.
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msgs=messages, sizes=st.lists(st.integers(1, 9000), max_size=60))
def test_messages_survive_any_fragmentation_and_any_recv_sizes(msgs, sizes) -> None:
    stream, pings = b"", []
    for i, (op, data, parts, ping) in enumerate(msgs):
        cut = [len(data) * k // parts for k in range(parts + 1)]
        for k in range(parts):
            stream += frame(op if k == 0 else OP_CONT, data[cut[k]:cut[k + 1]],
                            fin=k == parts - 1)
            if ping and k == 0:  # a control frame in the middle of a fragmented message
                pings.append(b"p%d" % i)
                stream += frame(OP_PING, pings[-1]) + frame(OP_PONG, b"ignored")
    pongs: list[bytes] = []
    r = reader(stream, sizes, pongs=pongs)
    assert [r.recv_data() for _ in msgs] == [(op, data) for op, data, _, _ in msgs]
    with pytest.raises(ConnectionLost):
        r.recv_data()  # (a ping after the last message is answered on the way)
    assert pongs == pings


def test_close_is_returned_with_its_payload() -> None:
    close = frame(OP_CLOSE, (4001).to_bytes(2, "big") + b"bye")
    r = reader(frame(OP_TEXT, b"a") + close + frame(OP_TEXT, b"after"))
    assert r.recv_data() == (OP_TEXT, b"a")
    assert r.recv_data() == (OP_CLOSE, (4001).to_bytes(2, "big") + b"bye")


@pytest.mark.parametrize("parts", [1, 3])
def test_a_message_over_the_limit_is_skipped_and_the_next_one_read(parts: int) -> None:
    big = b"x" * 5000
    cut = [len(big) * k // parts for k in range(parts + 1)]
    stream = b"".join(frame(OP_TEXT if k == 0 else OP_CONT, big[cut[k]:cut[k + 1]],
                            fin=k == parts - 1) for k in range(parts))
    r = reader(stream + frame(OP_TEXT, b"ok"), [700] * 20, max_bytes=4096)
    assert r.recv_data() == (TOO_LARGE, b"")
    assert r.last_size == 5000
    assert r.recv_data() == (OP_TEXT, b"ok")


BAD = [
    ("rsv bit", frame(OP_TEXT, b"a", rsv1=1), "RSV"),
    ("masked", websocket.ABNF(1, 0, 0, 0, OP_TEXT, 1, b"abc").format(), "masked"),
    ("long ping", frame(OP_PING, b"p" * 126), "control frame"),
    ("fragmented ping", frame(OP_PING, b"p", fin=False), "control frame"),
    ("reserved control", b"\x8b\x00", "reserved control"),  # ABNF will not encode these
    ("reserved data", b"\x83\x01a", "reserved data"),
    ("orphan continuation", frame(OP_CONT, b"a"), "continuation"),
    ("message inside a message", frame(OP_TEXT, b"a", fin=False) + frame(OP_TEXT, b"b"),
     "inside"),
    ("huge length", b"\x81\x7f" + (1 << 63).to_bytes(8, "big"), "64-bit"),
]


@pytest.mark.parametrize(("name", "stream", "match"), BAD, ids=[b[0] for b in BAD])
def test_protocol_errors(name: str, stream: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        reader(stream).recv_data()


def test_eof_inside_a_frame_is_a_lost_connection() -> None:
    with pytest.raises(ConnectionLost):
        reader(frame(OP_TEXT, b"abcdef")[:-2]).recv_data()


def test_reads_many_frames_per_recv_from_a_real_socket() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(5)
        b.settimeout(5)
        calls = 0

        def recv(n: int) -> bytes:
            nonlocal calls
            calls += 1
            return b.recv(n)

        payloads = [b'{"event_type":"price_change","n":%d}' % i for i in range(200)]
        a.sendall(b"".join(frame(OP_TEXT, p) for p in payloads))
        r = FrameReader(recv, lambda _: None, max_message_bytes=1 << 20)
        assert [r.recv_data()[1] for _ in payloads] == payloads
        assert calls < 20  # not one or more reads per frame
        a.close()
        with pytest.raises(ConnectionLost):
            r.recv_data()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="max_message_bytes"):
        FrameReader(lambda n: b"", lambda p: None, max_message_bytes=0)
