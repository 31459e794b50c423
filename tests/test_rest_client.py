"""ClobClient against a tiny stdlib HTTP server on 127.0.0.1 that checks L2 auth.

The server verifies every private request's HMAC independently of ``venue.auth`` (path without
query, body exactly as received) and answers with canned venue replies and errors.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from messages import RejectReason
from messages.errors import (
    NotSent,
    OrderRefused,
    OutcomeUnknown,
    PolymmError,
    ServerError,
    VenueError,
)
from tests.rest_fake import ADDRESS, CREDS, PRIVATE_KEY, SECRET, FakeClob, Reply, Seen
from tests.rest_fake import fake as fake  # the fixture
from venue.auth import ApiCreds
from venue.keepalive import KeepAliveAdapter, TimedResponse, new_session
from venue.rest import ClobClient
from venue.rest_call import prepared
from venue.rest_errors import (
    InvalidHeartbeat,
    PostOnlyMode,
    RateLimited,
    ServiceUnavailable,
    TooEarly,
    Unauthorized,
)


@pytest.fixture
def client(fake: FakeClob) -> Iterator[ClobClient]:
    c = ClobClient(fake.url, address=ADDRESS, creds=CREDS, timeout_s=0.5, connect_timeout_s=0.5,
                   clock=lambda: 1_780_000_000)
    yield c
    c.close()


ORDER_BODY = (b'{"order":{"salt":1,"maker":"' + ADDRESS.encode()
              + b'","side":"BUY"},"owner":"' + CREDS.api_key.encode()
              + b'","orderType":"GTC","postOnly":true}')


def test_post_order_sends_signed_bytes_unchanged(fake: FakeClob, client: ClobClient) -> None:
    fake.on("POST", "/order", body={"success": True, "errorMsg": "", "orderID": "0xabc",
                                    "status": "live"})
    reply = client.post_order(ORDER_BODY)
    assert reply["orderID"] == "0xabc" and reply["status"] == "live"
    (req,) = fake.seen
    assert req.body == ORDER_BODY
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["POLY_TIMESTAMP"] == "1780000000"
    assert 0 < client.last_send_ns <= client.last_recv_ns


def test_post_orders_returns_per_entry_results(fake: FakeClob, client: ClobClient) -> None:
    entries = [{"success": True, "orderID": "0x1", "status": "live", "errorMsg": ""},
               {"success": False, "orderID": "", "errorMsg": "post_only_mode"}]
    fake.on("POST", "/orders", body=entries)
    assert client.post_orders(b"[" + ORDER_BODY + b"," + ORDER_BODY + b"]") == entries


def test_keep_alive_reuses_one_connection(fake: FakeClob, client: ClobClient) -> None:
    fake.on("DELETE", "/cancel-all", body={"canceled": ["0x1"], "not_canceled": {}})
    for _ in range(3):
        assert client.cancel_all()["canceled"] == ["0x1"]
    assert len({r.peer for r in fake.seen}) == 1
    assert all(r.body == b"" for r in fake.seen)


def test_stale_keep_alive_connection_is_replaced_not_unknown(fake: FakeClob,
                                                              client: ClobClient) -> None:
    # The server closes the socket after its reply without saying so (no Connection: close).
    fake.on("DELETE", "/cancel-all", body={"canceled": [], "not_canceled": {}},
            headers={"X-Test-Close": "1"})
    client.cancel_all()
    assert fake.closed.wait(5)  # the server has closed its end (the FIN is on its way)
    client.cancel_all()
    assert len(fake.seen) == 2
    assert fake.seen[0].peer != fake.seen[1].peer


def test_cancels_send_the_documented_bodies(fake: FakeClob, client: ClobClient) -> None:
    fake.on("DELETE", "/order", body={"canceled": ["0xa"], "not_canceled": {}})
    fake.on("DELETE", "/orders", body={"canceled": ["0xa"], "not_canceled": {"0xb": "gone"}})
    fake.on("DELETE", "/cancel-market-orders", body={"canceled": [], "not_canceled": {}})
    client.cancel_order("0xa")
    assert client.cancel_orders(["0xa", "0xb"])["not_canceled"] == {"0xb": "gone"}
    client.cancel_market(market="0x" + "c" * 64, asset_id="123")
    bodies = [json.loads(r.body) for r in fake.seen]
    assert bodies == [{"orderID": "0xa"}, ["0xa", "0xb"],
                      {"market": "0x" + "c" * 64, "asset_id": "123"}]


def test_cancel_orders_empty_sends_nothing(fake: FakeClob, client: ClobClient) -> None:
    assert client.cancel_orders([]) == {"canceled": [], "not_canceled": {}}
    assert fake.seen == []


def test_open_orders_follows_cursors_and_signs_path_without_query(
        fake: FakeClob, client: ClobClient) -> None:
    pages = {"MA==": ([{"id": "0x1"}, {"id": "0x2"}], "NTAw"),
             "NTAw": ([{"id": "0x3"}], "LTE=")}

    def orders(req: Seen) -> Reply:
        data, nxt = pages[req.query["next_cursor"][0]]
        return 200, {"data": data, "next_cursor": nxt, "limit": 2, "count": len(data)}, {}

    fake.routes[("GET", "/data/orders")] = orders
    got = client.open_orders(market="0x" + "d" * 64)
    assert [o["id"] for o in got] == ["0x1", "0x2", "0x3"]
    assert [r.query["next_cursor"][0] for r in fake.seen] == ["MA==", "NTAw"]
    assert all(r.query["market"] == ["0x" + "d" * 64] for r in fake.seen)


def test_paging_that_does_not_advance_is_an_error(fake: FakeClob, client: ClobClient) -> None:
    fake.on("GET", "/data/trades", body={"data": [{"id": "t"}], "next_cursor": "MA=="})
    with pytest.raises(VenueError, match="does not advance"):
        client.trades(after=1_780_000_000)
    assert fake.seen[0].query["after"] == ["1780000000"]


def test_get_order_404_is_none(fake: FakeClob, client: ClobClient) -> None:
    fake.on("GET", "/data/order/0xfeed", body={"id": "0xfeed", "status": "LIVE"})
    assert client.get_order("0xfeed") == {"id": "0xfeed", "status": "LIVE"}
    assert client.get_order("0xdead") is None


def test_heartbeat_returns_new_id_and_types_a_stale_one(fake: FakeClob,
                                                        client: ClobClient) -> None:
    def hb(req: Seen) -> Reply:
        sent = json.loads(req.body)["heartbeat_id"]
        if sent in ("", "hb-1"):
            return 200, {"heartbeat_id": "hb-2" if sent else "hb-1"}, {}
        return 400, {"error_msg": "Invalid Heartbeat ID", "heartbeat_id": "hb-1"}, {}

    fake.routes[("POST", "/v1/heartbeats")] = hb
    assert client.heartbeat("") == "hb-1"
    assert client.heartbeat("hb-1") == "hb-2"
    with pytest.raises(InvalidHeartbeat) as info:
        client.heartbeat("stale")
    assert info.value.expected_id == "hb-1" and info.value.status == 400


@pytest.mark.parametrize(("status", "body", "headers", "exc_type", "reason", "retry"), [
    (400, {"error": "invalid post-only order: order crosses book"}, {}, OrderRefused,
     RejectReason.POST_ONLY_CROSS, None),
    (400, {"error": "order 0x1 is invalid. Price (0.123) breaks minimum tick size rule: 0.01"},
     {}, OrderRefused, RejectReason.TICK, None),
    (425, b"", {"Retry-After": "2"}, TooEarly, RejectReason.TOO_EARLY, 2.0),
    (429, {"error": "Too Many Requests"}, {"Retry-After": "1.5"}, RateLimited,
     RejectReason.RATE_LIMITED, 1.5),
    (503, {"error": "post-only mode: only post-only orders and cancels are allowed",
           "code": "post_only_mode", "retry_after_seconds": 79}, {}, PostOnlyMode,
     RejectReason.POST_ONLY_MODE, 79.0),
    (503, {"error": "Trading is currently disabled. Check status."}, {}, ServiceUnavailable,
     RejectReason.TRADING_DISABLED, None),
    (500, {"error": "the trade contains rounding issues"}, {}, ServerError,
     RejectReason.SERVER, None),
    (502, b"<html><body>Bad gateway</body></html>", {}, ServerError, RejectReason.SERVER, None),
])
def test_errors_keep_status_message_and_retry_after(
        fake: FakeClob, client: ClobClient, status: int, body: Any, headers: dict[str, str],
        exc_type: type[VenueError], reason: RejectReason, retry: float | None) -> None:
    fake.on("POST", "/order", status=status, body=body, headers=headers)
    with pytest.raises(VenueError) as info:
        client.post_order(ORDER_BODY)
    exc = info.value
    assert type(exc) is exc_type
    assert exc.status == status and exc.code == reason.value and exc.retry_after_s == retry
    if isinstance(body, dict):
        assert exc.message == body["error"]


def test_bad_credentials_are_unauthorized_and_secrets_stay_out(fake: FakeClob) -> None:
    wrong = ApiCreds(api_key=CREDS.api_key, secret=base64.urlsafe_b64encode(b"x" * 32).decode(),
                     passphrase=CREDS.passphrase)
    c = ClobClient(fake.url, address=ADDRESS, creds=wrong, timeout_s=0.5)
    try:
        with pytest.raises(Unauthorized) as info:
            c.cancel_all()
    finally:
        c.close()
    text = f"{info.value} {info.value!r} {info.value.message}"
    assert info.value.status == 401 and info.value.code == RejectReason.AUTH.value
    assert wrong.secret not in text and CREDS.passphrase not in text
    assert CREDS.passphrase not in repr(CREDS) and SECRET not in repr(CREDS)


def test_slow_reply_times_out_as_outcome_unknown(fake: FakeClob, client: ClobClient) -> None:
    def slow(_req: Seen) -> Reply:
        fake.release.wait(10)  # released in teardown
        return 200, {"success": True}, {}

    fake.routes[("POST", "/order")] = slow
    with pytest.raises(OutcomeUnknown) as info:
        client.post_order(ORDER_BODY)
    assert info.value.code == RejectReason.TIMEOUT.value
    assert "may have acted" in str(info.value)


def test_connection_dropped_after_sending_is_outcome_unknown(fake: FakeClob,
                                                             client: ClobClient) -> None:
    fake.routes[("POST", "/order")] = lambda _req: None
    with pytest.raises(OutcomeUnknown):
        client.post_order(ORDER_BODY)
    assert len(fake.seen) == 1  # it did reach the venue


def test_connect_refused_is_not_sent() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = ClobClient(f"http://127.0.0.1:{port}", address=ADDRESS, creds=CREDS,
                   connect_timeout_s=0.5)
    try:
        with pytest.raises(VenueError) as info:
            c.post_order(ORDER_BODY)
    finally:
        c.close()
    assert type(info.value) is NotSent
    assert "not sent" in str(info.value)


def test_no_credentials_for_a_private_route(fake: FakeClob) -> None:
    c = ClobClient(fake.url, address=ADDRESS, creds=None)
    try:
        with pytest.raises(VenueError, match="no API credentials"):
            c.cancel_all()
    finally:
        c.close()
    assert fake.seen == []


def test_public_reads(fake: FakeClob, client: ClobClient) -> None:
    fake.on("GET", "/time", body=1_780_000_123)
    fake.on("GET", "/tick-size", body={"minimum_tick_size": 0.001})
    assert client.server_time() == 1_780_000_123
    assert client.get_tick_size("1") == 10
    assert all("POLY_API_KEY" not in r.headers for r in fake.seen)
    assert fake.seen[1].query == {"token_id": ["1"]}


def test_rate_limit_headers_are_recorded(fake: FakeClob, client: ClobClient) -> None:
    assert client.rate_limit is None
    fake.on("DELETE", "/cancel-all", body={"canceled": [], "not_canceled": {}},
            headers={"Poly-RateLimit-Remaining": "57", "Poly-RateLimit-Reset": "1780000010",
                     "Poly-RateLimit-Tier": "standard", "Poly-RateLimit-Warning": "true"})
    client.cancel_all()
    rl = client.rate_limit
    assert rl is not None
    assert (rl.remaining, rl.reset_s, rl.tier, rl.warning) == (57, 1_780_000_010, "standard", True)


def test_l1_create_and_derive_api_key(fake: FakeClob) -> None:
    issued = {"apiKey": CREDS.api_key, "secret": SECRET, "passphrase": CREDS.passphrase}
    fake.on("POST", "/auth/api-key", body=issued)
    fake.on("GET", "/auth/derive-api-key", body=issued)
    c = ClobClient(fake.url, address=ADDRESS, creds=None, clock=lambda: 1_780_000_000)
    try:
        assert c.create_api_key(PRIVATE_KEY) == CREDS
        assert c.derive_api_key(PRIVATE_KEY, nonce=3) == CREDS
    finally:
        c.close()
    for req, nonce in zip(fake.seen, ("0", "3"), strict=True):
        assert req.headers["POLY_ADDRESS"] == ADDRESS
        assert req.headers["POLY_NONCE"] == nonce
        assert req.headers["POLY_TIMESTAMP"] == "1780000000"
        assert req.headers["POLY_SIGNATURE"].startswith("0x")
        assert len(req.headers["POLY_SIGNATURE"]) == 132


def test_l1_with_a_malformed_key_does_not_echo_it(fake: FakeClob, client: ClobClient) -> None:
    with pytest.raises(Exception) as info:
        client.derive_api_key("0xnot-a-key-but-still-secret")
    assert "not-a-key" not in str(info.value)
    assert fake.seen == []


def test_session_shares_the_connection_and_stores_no_cookies(fake: FakeClob,
                                                             client: ClobClient) -> None:
    fake.on("GET", "/cookie", body={"ok": True}, headers={"Set-Cookie": "sid=abc; Path=/"})
    fake.on("GET", "/time", body=1)
    r = client.session.get(fake.url + "/cookie")
    assert r.status_code == 200 and r.json() == {"ok": True}
    client.server_time()
    assert len(client.session.cookies) == 0
    assert len({s.peer for s in fake.seen}) == 1
    assert "Cookie" not in fake.seen[1].headers


def test_requests_go_through_the_session(fake: FakeClob, client: ClobClient) -> None:
    fake.on("GET", "/time", body=1)
    assert client.server_time() == 1
    # With nothing mounted, a call that went around the Session would still reach the venue.
    client.session.adapters.clear()
    with pytest.raises(VenueError, match="not sent: InvalidSchema") as info:
        client.server_time()
    assert type(info.value) is NotSent
    assert len(fake.seen) == 1


def test_cancel_can_be_in_flight_while_a_post_goes_on_the_other_connection(
        fake: FakeClob, client: ClobClient) -> None:
    posted = threading.Event()

    def cancel(req: Seen) -> Reply:
        # The venue answers the cancel only once the post has arrived: a client that waited
        # for this reply before posting would time out here.
        assert posted.wait(5)
        return 200, {"canceled": ["0xa"], "not_canceled": {}}, {}

    def post(req: Seen) -> Reply:
        posted.set()
        return 200, [{"success": True, "orderID": "0x1", "status": "live", "errorMsg": ""}], {}

    fake.routes[("DELETE", "/orders")] = cancel
    fake.routes[("POST", "/orders")] = post
    call = client.begin_cancel_orders(["0xa"])
    assert client.post_orders(b"[" + ORDER_BODY + b"]")[0]["orderID"] == "0x1"
    assert client.finish_cancel_orders(call) == {"canceled": ["0xa"], "not_canceled": {}}
    cancel_req, post_req = sorted(fake.seen, key=lambda r: r.method)
    assert cancel_req.body == b'["0xa"]' and cancel_req.peer != post_req.peer
    with pytest.raises(RuntimeError, match="twice"):
        client.finish_cancel_orders(call)
    # The cancel connection is free again and kept alive.
    fake.routes[("DELETE", "/orders")] = lambda req: (200, {"canceled": [],
                                                             "not_canceled": {}}, {})
    client.cancel_orders(["0xb"])
    assert fake.seen[-1].peer == cancel_req.peer


def test_cancel_that_cannot_be_written_frees_its_connection() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once it is closed
    c = ClobClient(f"http://127.0.0.1:{port}", address=ADDRESS, creds=CREDS, timeout_s=0.5,
                   connect_timeout_s=0.5)
    try:
        for _ in range(2):  # a connection left taken would block the second attempt
            with pytest.raises(VenueError, match="not sent") as err:
                c.begin_cancel_orders(["0xa"])
            assert not isinstance(err.value, OutcomeUnknown)
        assert not c.cancel_adapter._lock.locked()
        with pytest.raises(PolymmError, match="1 to 1000"):
            c.begin_cancel_orders([])
    finally:
        c.close()


class _RawServer:
    """Listens on 127.0.0.1, records each request's bytes and answers each with the next
    canned reply, on whatever connection it comes (bounded: daemon thread, socket timeouts)."""

    def __init__(self, replies: list[bytes]) -> None:
        self.replies = replies
        self.requests: list[bytes] = []
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.srv.settimeout(5)
        self.port = self.srv.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        replies = list(self.replies)
        with self.srv:
            while replies:
                c = self.srv.accept()[0]
                with c:
                    c.settimeout(5)
                    self._serve_conn(c, replies)

    def _serve_conn(self, c: socket.socket, replies: list[bytes]) -> None:
        buf = b""
        while replies:
            while b"\r\n\r\n" not in buf:
                more = c.recv(65536)
                if not more:
                    return  # the client closed: the next request comes on a new connection
                buf += more
            head, _, rest = buf.partition(b"\r\n\r\n")
            n = 0
            for line in head.split(b"\r\n")[1:]:
                if line.lower().startswith(b"content-length:"):
                    n = int(line.split(b":")[1])
            while len(rest) < n:
                rest += c.recv(65536)
            self.requests.append(head + b"\r\n\r\n" + rest[:n])
            buf = rest[n:]
            c.sendall(replies.pop(0))


def test_request_bytes_and_a_chunked_reply() -> None:
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"3\r\n[{\"\r\n4\r\na\":1\r\n2\r\n}]\r\n0\r\n\r\n")
    srv = _RawServer([chunked, b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"])
    base = f"http://127.0.0.1:{srv.port}/v1"
    session = new_session(KeepAliveAdapter(base, connect_timeout_s=1, timeout_s=2))
    try:
        reply = session.send(prepared("POST", base + "/orders", {"X-Key": "k"}, b'["x"]'))
        assert (reply.status_code, reply.content) == (200, b'[{"a":1}]')
        assert isinstance(reply, TimedResponse) and 0 < reply.sent_ns <= reply.recv_ns
        with pytest.raises(ValueError, match="illegal header"):
            session.send(prepared("GET", base + "/x", {"X-Bad": "a\r\nInjected: 1"}, None))
        with pytest.raises(ValueError, match="illegal request target"):
            session.send(prepared("GET", base + "/x HTTP/1.1\r\nInjected: 1\r\n\r\nGET /y",
                                  {}, None))
        # A fresh socket after the failed request; the Session adds no header of its own.
        assert session.send(prepared("DELETE", base + "/cancel-all", {}, None)).status_code == 204
        with pytest.raises(requests.exceptions.InvalidSchema):
            session.get("http://127.0.0.2:1/")  # no stock urllib3 adapter to fall back on
    finally:
        session.close()
    srv.thread.join(5)
    post, delete = srv.requests
    assert post == (b"POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Key: k\r\n"
                    b"Content-Length: 5\r\n\r\n[\"x\"]" % srv.port)
    assert delete == b"DELETE /v1/cancel-all HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % srv.port
