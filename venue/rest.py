"""The CLOB REST client (protocol §5): orders, cancels, queries, heartbeats, API keys.

One ``ClobClient`` per actor that talks REST (the OrderManager), on a ``requests.Session``
(``venue.keepalive.new_session``) whose only adapter is a ``KeepAliveAdapter`` with one
keep-alive connection: no proxy/netrc look-ups, no hooks, no cookies, bodies sent as the
exact bytes that were signed. The order path (``POST /orders``; ``DELETE /orders`` on a second
adapter, so a cancel can be in flight while its replacement is posted, which ``Session.send``
cannot express) is written with the adapter's ``begin_raw``/``finish``: header lines built
once (``venue.auth.L2Headers``: only the signature and timestamp are per request).

Errors (``venue.rest_errors``, the tree in ``messages.errors``): a non-2xx reply raises a
``VenueError`` subclass with the venue's status, message and ``retry_after_s``; a 2xx reply we
cannot read raises ``BadReply``. A request that may have reached the venue without a reply
(timeout, reset after sending) raises ``OutcomeUnknown``; a failure before anything was
written (connection refused, connect timeout) raises ``NotSent``
(``venue.rest_call.no_reply``). Nothing is retried here: retry policy belongs to the caller,
which knows whether a request is idempotent.

Timing: ``last_send_ns`` is ``time.time_ns()`` just before the request's ``sendall`` on a
connected socket; ``last_recv_ns`` right after the reply body was read.

Thread ownership: the owning actor's thread. Calls from another thread are serialised by the
adapter's lock (the supervisor's last-resort cancel-all uses that). Secrets never appear in
exceptions or logs: error texts carry routes and venue messages, never headers.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import orjson
import requests

from messages import RejectReason
from messages.errors import BadReply, NotSent, PolymmError
from venue.auth import ApiCreds, L2Headers, l1_headers, l2_headers
from venue.keepalive import KeepAliveAdapter, TimedResponse, new_session
from venue.numbers import parse_pips_num
from venue.rest_call import Call, RateLimitInfo, no_reply, prepared, rate_limit_of
from venue.rest_errors import (
    InvalidHeartbeat,
    PostOnlyMode,
    RateLimited,
    ServiceUnavailable,
    TooEarly,
    Unauthorized,
    classify_reject,
    error_from_response,
)

__all__ = ["ClobClient", "InvalidHeartbeat", "PostOnlyMode", "RateLimitInfo", "RateLimited",
           "ServiceUnavailable", "TooEarly", "Unauthorized", "classify_reject"]

START_CURSOR = "MA=="
END_CURSOR = "LTE="
MAX_BATCH = 15
MAX_CANCEL_IDS = 1000  # docs say 3,000; the 2026-06-15 changelog lowered it to 1,000
_MAX_PAGES = 1000
_USER_AGENT = "polymm/0.1"
_NO_PROXIES: dict[str, str] = {}  # spares Session.send a proxy look-up per request


def _unix_s() -> int:
    return int(time.time())


class ClobClient:
    """Polymarket CLOB REST over one keep-alive connection (plus one for cancels).

    Args:
        base_url: ``https://clob.polymarket.com`` or the simulated venue's URL.
        address: the signing EOA (``POLY_ADDRESS``).
        creds: API credentials for L2 routes; None until derived (L1 routes and public reads
            still work).
        timeout_s: bound on every socket read/write after connecting.
        connect_timeout_s: bound on the TCP connect (and TLS handshake).
        clock: Unix seconds for ``POLY_TIMESTAMP`` (inject the venue's ``/time`` offset if the
            local clock is off).
        chain_id: for L1 signatures.
        ssl_context: TLS settings for https (default: verify against requests' CA bundle).
    """

    def __init__(self, base_url: str, *, address: str, creds: ApiCreds | None,
                 timeout_s: float = 2.0, connect_timeout_s: float = 1.0,
                 clock: Callable[[], int] = _unix_s, chain_id: int = 137,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.address = address
        self.creds = creds
        self.chain_id = chain_id
        self._clock = clock
        self.adapter = KeepAliveAdapter(self.base_url, connect_timeout_s=connect_timeout_s,
                                        timeout_s=timeout_s, ssl_context=ssl_context)
        self.cancel_adapter = KeepAliveAdapter(self.base_url,
                                               connect_timeout_s=connect_timeout_s,
                                               timeout_s=timeout_s, ssl_context=ssl_context)
        self.session = new_session(self.adapter)
        self._plain = {"User-Agent": _USER_AGENT, "Accept": "application/json"}
        self._json = {**self._plain, "Content-Type": "application/json"}
        self._json_head = b"".join(f"{k}: {v}\r\n".encode() for k, v in self._json.items())
        # The base URL's path prefix (none for the CLOB): raw requests carry the path only.
        self._prefix = self.base_url[len(self.adapter.origin):]
        self._l2: L2Headers | None = None
        self.last_send_ns = 0
        self.last_recv_ns = 0
        self.rate_limit: RateLimitInfo | None = None

    def set_clock(self, clock: Callable[[], int]) -> None:
        """Sign ``POLY_TIMESTAMP`` with ``clock`` from now on (the venue's, when ours is off:
        pre-flight measures the offset). Call before any other thread uses the client."""
        self._clock = clock

    def close(self) -> None:
        self.session.close()
        self.cancel_adapter.close()

    def __enter__(self) -> ClobClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------------

    def _call(self, method: str, route: str, *, query: Mapping[str, str] | None = None,
              body: bytes | None = None, auth: bool = True,
              extra: Mapping[str, str] | None = None, order_route: bool = False,
              none_on_404: bool = False) -> TimedResponse | None:
        request = self._request(method, route, query=query, body=body, auth=auth, extra=extra)
        try:
            reply = self.session.send(request, allow_redirects=False, proxies=_NO_PROXIES)
        except requests.RequestException as exc:
            raise no_reply(method, route, exc) from exc
        return self._outcome(reply, order_route=order_route, none_on_404=none_on_404)

    def _request(self, method: str, route: str, *, query: Mapping[str, str] | None,
                 body: bytes | None, auth: bool,
                 extra: Mapping[str, str] | None) -> requests.PreparedRequest:
        target = f"{route}?{urlencode(query)}" if query else route
        headers = dict(self._json if body is not None else self._plain)
        if auth:
            if self.creds is None:
                raise NotSent(f"{method} {route}: no API credentials (derive them first)",
                              code=RejectReason.AUTH.value)
            # Signed over the route without its query and the exact body bytes (§5.2).
            headers.update(l2_headers(self.address, self.creds, self._clock(), method, route,
                                      body))
        if extra:
            headers.update(extra)
        return prepared(method, self.base_url + target, headers, body)

    def _begin(self, adapter: KeepAliveAdapter, method: str, route: str, *,
               body: bytes) -> Call:
        """Write an L2-signed request with a JSON body (the order path: ``POST /orders``,
        ``DELETE /orders``) as raw bytes: the same request ``_request`` would build, minus
        its ``PreparedRequest`` and the per-header checks (``L2Headers`` checks the parts
        once)."""
        creds = self.creds
        if creds is None:
            raise NotSent(f"{method} {route}: no API credentials (derive them first)",
                          code=RejectReason.AUTH.value)
        l2 = self._l2
        if l2 is None or l2.creds is not creds:
            try:
                l2 = self._l2 = L2Headers(self.address, creds)
            except ValueError as exc:
                raise NotSent(f"{method} {route}: {exc}", code=RejectReason.AUTH.value
                              ) from None
        head = self._json_head + l2.lines(self._clock(), method, route, body)
        try:
            pending = adapter.begin_raw(method, self._prefix + route, head, body)
        except requests.RequestException as exc:
            raise no_reply(method, route, exc) from exc
        return Call(adapter, pending, method, route)

    def _finish(self, call: Call, *, order_route: bool = False) -> TimedResponse | None:
        try:
            reply = call.adapter.finish(call.pending)
        except requests.RequestException as exc:
            raise no_reply(call.method, call.route, exc) from exc
        return self._outcome(reply, order_route=order_route)

    def _outcome(self, reply: requests.Response, *, order_route: bool = False,
                 none_on_404: bool = False) -> TimedResponse | None:
        """``reply`` if 2xx (stamps and rate-limit headers noted), None for an allowed 404,
        else the venue's error raised."""
        if not isinstance(reply, TimedResponse):  # only KeepAliveAdapter is mounted
            raise PolymmError(f"ClobClient: reply from another adapter ({type(reply)})")
        self.last_send_ns = reply.sent_ns
        self.last_recv_ns = reply.recv_ns
        rl = rate_limit_of(reply.headers, reply.recv_ns)
        if rl is not None:
            self.rate_limit = rl
        status = reply.status_code
        if 200 <= status < 300:
            return reply
        if none_on_404 and status == 404:
            return None
        raise error_from_response(status, reply.content, reply.headers.get("Retry-After"),
                                  now_s=self._clock(), order_route=order_route,
                                  reason_phrase=reply.reason)

    @staticmethod
    def _decode(reply: TimedResponse | None, route: str) -> Any:
        if reply is None:
            return None
        data = reply.content
        try:
            return orjson.loads(data) if data else None
        except orjson.JSONDecodeError:
            raise BadReply(f"{route}: reply is not JSON", status=reply.status_code) from None

    def _dict(self, reply: TimedResponse | None, route: str) -> dict[str, Any]:
        obj = self._decode(reply, route)
        if not isinstance(obj, dict):
            raise BadReply(f"{route}: expected a JSON object, got {type(obj).__name__}")
        return obj

    def _paged(self, route: str, query: dict[str, str]) -> list[dict[str, Any]]:
        """Follow ``next_cursor`` from ``MA==`` until ``LTE=`` (§5.3)."""
        out: list[dict[str, Any]] = []
        cursor = START_CURSOR
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            obj = self._decode(self._call("GET", route, query={**query, "next_cursor": cursor}),
                               route)
            if isinstance(obj, list):  # an unpaged reply
                out.extend(obj)
                return out
            if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
                raise BadReply(f"{route}: expected {{data: [...], next_cursor}}")
            out.extend(obj["data"])
            seen.add(cursor)
            nxt = obj.get("next_cursor")
            if not nxt or nxt == END_CURSOR:
                return out
            if not isinstance(nxt, str) or nxt in seen:
                raise BadReply(f"{route}: paging cursor {nxt!r} does not advance")
            cursor = nxt
        raise BadReply(f"{route}: more than {_MAX_PAGES} pages")

    # -- orders ---------------------------------------------------------------------------------

    def post_order(self, body: bytes) -> dict[str, Any]:
        """``POST /order`` with one signed envelope; the §5.4 reply. 400 → ``OrderRefused``."""
        return self._dict(self._call("POST", "/order", body=body, order_route=True), "/order")

    def post_orders(self, body: bytes) -> list[dict[str, Any]]:
        """``POST /orders`` with a JSON array of 1–15 envelopes; per-entry results in order
        (``success``/``errorMsg``: classify with ``classify_reject(200, errorMsg)``)."""
        call = self._begin(self.adapter, "POST", "/orders", body=body)
        obj = self._decode(self._finish(call, order_route=True), "/orders")
        if not isinstance(obj, list) or not all(isinstance(e, dict) for e in obj):
            raise BadReply("/orders: expected a JSON array of results")
        return obj

    def cancel_order(self, order_id: str) -> dict[str, Any]:
        """``DELETE /order`` → ``{"canceled": [...], "not_canceled": {id: reason}}``."""
        body = orjson.dumps({"orderID": order_id})
        return self._dict(self._call("DELETE", "/order", body=body), "/order")

    def cancel_orders(self, ids: Sequence[str]) -> dict[str, Any]:
        """``DELETE /orders`` for up to 1,000 ids (no request for an empty list)."""
        if not ids:
            return {"canceled": [], "not_canceled": {}}
        return self.finish_cancel_orders(self.begin_cancel_orders(ids))

    def begin_cancel_orders(self, ids: Sequence[str]) -> Call:
        """Write ``DELETE /orders`` for 1–1,000 ids on the cancel connection and return
        without waiting; ``finish_cancel_orders`` reads the reply (and must be called, once,
        before the next cancel: the connection is taken until then).

        Raises:
            NotSent: nothing was written (``OutcomeUnknown``: part of it was).
        """
        if not ids or len(ids) > MAX_CANCEL_IDS:
            raise PolymmError(f"cancel_orders: {len(ids)} ids, 1 to {MAX_CANCEL_IDS} "
                              "per request")
        body = orjson.dumps(list(ids))
        return self._begin(self.cancel_adapter, "DELETE", "/orders", body=body)

    def finish_cancel_orders(self, call: Call) -> dict[str, Any]:
        """The reply of a ``begin_cancel_orders``: ``{"canceled": [...], "not_canceled":
        {id: reason}}``.

        Raises:
            OutcomeUnknown: no reply (the venue may have canceled them).
            VenueError: the venue refused the request.
        """
        return self._dict(self._finish(call), "/orders")

    def cancel_all(self) -> dict[str, Any]:
        """``DELETE /cancel-all``: every order of these credentials."""
        return self._dict(self._call("DELETE", "/cancel-all"), "/cancel-all")

    def cancel_market(self, *, market: str | None = None,
                      asset_id: str | None = None) -> dict[str, Any]:
        """``DELETE /cancel-market-orders`` by condition id and/or token id (at least one)."""
        if not market and not asset_id:
            raise PolymmError("cancel_market: give market and/or asset_id")
        filt = {k: v for k, v in (("market", market), ("asset_id", asset_id)) if v}
        body = orjson.dumps(filt)
        return self._dict(self._call("DELETE", "/cancel-market-orders", body=body),
                          "/cancel-market-orders")

    def open_orders(self, *, market: str | None = None,
                    asset_id: str | None = None) -> list[dict[str, Any]]:
        """``GET /data/orders`` (all pages) for these credentials, optionally filtered."""
        query = {k: v for k, v in (("market", market), ("asset_id", asset_id)) if v}
        return self._paged("/data/orders", query)

    def get_order(self, order_id: str) -> dict[str, Any] | None:
        """``GET /data/order/{id}``; None if the venue does not know the order (404/empty)."""
        route = f"/data/order/{order_id}"
        obj = self._decode(self._call("GET", route, none_on_404=True), route)
        if obj is None or obj == {} or obj == "":
            return None
        if not isinstance(obj, dict):
            raise BadReply(f"{route}: expected a JSON object")
        return obj

    def trades(self, *, market: str | None = None,
               after: int | None = None) -> list[dict[str, Any]]:
        """``GET /data/trades`` (all pages); ``after`` in Unix seconds."""
        query = {"market": market} if market else {}
        if after is not None:
            query["after"] = str(after)
        return self._paged("/data/trades", query)

    def heartbeat(self, heartbeat_id: str) -> str:
        """``POST /v1/heartbeats`` (§7.4): send the last id ("" first), get the next one.

        Raises:
            InvalidHeartbeat: the id was stale; ``expected_id`` is the one to send.
        """
        body = orjson.dumps({"heartbeat_id": heartbeat_id})
        obj = self._dict(self._call("POST", "/v1/heartbeats", body=body), "/v1/heartbeats")
        new_id = obj.get("heartbeat_id")
        if not isinstance(new_id, str):
            raise BadReply("/v1/heartbeats: reply without heartbeat_id")
        return new_id

    # -- public reads -----------------------------------------------------------------------------

    def get_tick_size(self, token_id: str) -> int:
        """``GET /tick-size?token_id=`` → the token's tick in pips (authoritative, §7.1)."""
        obj = self._dict(self._call("GET", "/tick-size", query={"token_id": token_id},
                                    auth=False), "/tick-size")
        try:
            tick = parse_pips_num(obj.get("minimum_tick_size"))
        except ValueError:
            raise BadReply(f"/tick-size: bad minimum_tick_size "
                             f"{obj.get('minimum_tick_size')!r}") from None
        if not 0 < tick < 10_000:
            raise BadReply(f"/tick-size: tick out of range: {tick} pips")
        return tick

    def server_time(self) -> int:
        """``GET /time`` → the venue's Unix seconds."""
        obj = self._decode(self._call("GET", "/time", auth=False), "/time")
        if isinstance(obj, dict):
            obj = obj.get("time", obj.get("timestamp"))
        if isinstance(obj, str) and obj.isdigit():
            obj = int(obj)
        if not isinstance(obj, int) or isinstance(obj, bool):
            raise BadReply("/time: expected an integer")
        return obj

    # -- API keys (L1) ----------------------------------------------------------------------------

    def _l1(self, private_key: str, nonce: int) -> dict[str, str]:
        try:
            return l1_headers(private_key, self._clock(), nonce, chain_id=self.chain_id)
        except ValueError:
            raise PolymmError("L1 auth: the private key is malformed") from None

    @staticmethod
    def _creds(obj: dict[str, Any], route: str) -> ApiCreds:
        key, secret, phrase = obj.get("apiKey"), obj.get("secret"), obj.get("passphrase")
        if not (isinstance(key, str) and isinstance(secret, str) and isinstance(phrase, str)
                and key and secret and phrase):
            raise BadReply(f"{route}: reply without apiKey/secret/passphrase")
        return ApiCreds(api_key=key, secret=secret, passphrase=phrase)

    def create_api_key(self, private_key: str, nonce: int = 0) -> ApiCreds:
        """``POST /auth/api-key`` (L1): new credentials for the key's address and ``nonce``."""
        reply = self._call("POST", "/auth/api-key", auth=False,
                           extra=self._l1(private_key, nonce))
        return self._creds(self._dict(reply, "/auth/api-key"), "/auth/api-key")

    def derive_api_key(self, private_key: str, nonce: int = 0) -> ApiCreds:
        """``GET /auth/derive-api-key`` (L1): the existing credentials for address + nonce."""
        reply = self._call("GET", "/auth/derive-api-key", auth=False,
                           extra=self._l1(private_key, nonce))
        return self._creds(self._dict(reply, "/auth/derive-api-key"), "/auth/derive-api-key")
