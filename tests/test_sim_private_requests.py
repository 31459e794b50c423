"""The simulated venue's ``private_requests`` and ``private_routes`` in ``GET /_sim/state``.

A dry run proves it sent nothing private by reading these counters, so: every public route a
dry run uses leaves them at 0; each private route, and any request carrying an L1/L2 auth
header, raises them by exactly 1, whether the request then succeeds, fails auth or meets a
fault. Real sim process on 127.0.0.1; the test thread owns every client.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import websocket

from sim.process import SimProcess
from tests.test_sim_support import KEY_A, KEY_B, Client, Socket, next_market, start_sim
from venue.auth import l1_headers

pytestmark = pytest.mark.timeout(60)

Step = Callable[[SimProcess, dict[str, Any]], object]


def _get(sim: SimProcess, path: str, **kw: Any) -> requests.Response:
    return requests.get(sim.base_url + path, timeout=5, **kw)


def _ok(r: requests.Response) -> requests.Response:
    r.raise_for_status()
    return r


def _send(sim: SimProcess, method: str, path: str, **kw: Any) -> requests.Response:
    return requests.request(method, sim.base_url + path, timeout=5, **kw)


def _market_socket(sim: SimProcess, m: dict[str, Any]) -> None:
    sock = Socket(sim.ws_url + "/ws/market")
    try:
        sock.send({"type": "market", "assets_ids": m["token_ids"]})
        sock.wait_for(lambda e: isinstance(e, dict) and e.get("event_type") == "book")
    finally:
        sock.close()


def _rtds_socket(sim: SimProcess, m: dict[str, Any]) -> None:
    sock = Socket(sim.ws_url + "/rtds")
    try:
        sock.send({"action": "subscribe", "subscriptions": [
            {"topic": "crypto_prices_chainlink", "type": "*", "filters": '{"symbol":"btc/usd"}'}]})
        sock.wait_for(lambda e: isinstance(e, dict) and e.get("topic") is not None)
    finally:
        sock.close()


def _polybolt_socket(sim: SimProcess, m: dict[str, Any]) -> None:
    sock = Socket(sim.ws_url + "/ws/prices")
    try:
        sock.send({"op": "ping", "rid": "p"})
        sock.wait_for(lambda e: isinstance(e, dict) and e.get("op") == "pong")
    finally:
        sock.close()


def _token(m: dict[str, Any]) -> dict[str, str]:
    return {"token_id": m["token_ids"][0]}


PUBLIC: list[tuple[str, Step]] = [
    ("gamma events by slug", lambda s, m: _ok(_get(s, "/gamma/events",
                                                   params={"slug": m["slug"]}))),
    ("gamma event by slug", lambda s, m: _ok(_get(s, f"/gamma/events/slug/{m['slug']}"))),
    ("gamma markets", lambda s, m: _ok(_get(s, "/gamma/markets"))),
    ("gamma market by slug", lambda s, m: _ok(_get(s, f"/gamma/markets/slug/{m['slug']}"))),
    ("gamma series", lambda s, m: _ok(_get(s, "/gamma/series",
                                           params={"slug": "btc-up-or-down-15m"}))),
    ("book", lambda s, m: _ok(_get(s, "/book", params=_token(m)))),
    ("books", lambda s, m: _ok(_send(s, "POST", "/books", json=[_token(m)]))),
    ("tick size", lambda s, m: _ok(_get(s, "/tick-size", params=_token(m)))),
    ("neg risk", lambda s, m: _ok(_get(s, "/neg-risk", params=_token(m)))),
    ("time", lambda s, m: _ok(_get(s, "/time"))),
    ("ok", lambda s, m: _ok(_get(s, "/ok"))),
    ("version", lambda s, m: _ok(_get(s, "/version"))),
    ("an unknown path that starts like /order", lambda s, m: _get(s, "/orderbook")),
    ("market websocket", _market_socket),
    ("rtds websocket", _rtds_socket),
    ("polybolt websocket, no auth frame", _polybolt_socket),
]


@pytest.fixture
def fresh_sim() -> Iterator[SimProcess]:
    proc = start_sim("--seed", "29")
    yield proc
    proc.stop()


def test_public_routes_count_nothing(fresh_sim: SimProcess) -> None:
    m = next_market(fresh_sim)
    for name, step in PUBLIC:
        step(fresh_sim, m)
        state = fresh_sim.state()
        assert (state["private_requests"], state["private_routes"]) == (0, {}), name
    assert fresh_sim.state()["orders_received"] == 0


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    proc = start_sim("--seed", "31")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def alice(sim: SimProcess) -> Client:
    return Client(sim, KEY_A)


def _user_socket(sim: SimProcess, alice: Client) -> None:
    Socket(sim.ws_url + "/ws/user").close()


def _user_socket_authed(sim: SimProcess, alice: Client) -> None:
    sock = Socket(sim.ws_url + "/ws/user")
    try:
        sock.send({"type": "user", "auth": alice.raw_auth()})
        sock.send("PING")
        sock.wait_for(lambda e: e == "PONG")
    finally:
        sock.close()


def _market_socket_with_header(sim: SimProcess, alice: Client) -> None:
    websocket.create_connection(sim.ws_url + "/ws/market", timeout=5,
                                header=["POLY_PASSPHRASE: p"]).close()


Private = Callable[[SimProcess, Client], object]
NO_ID = {"orderID": "0x" + "00" * 32}

# (case, request, the one "METHOD route" it must be counted under)
PRIVATE: list[tuple[str, Private, str]] = [
    ("post order, no auth", lambda s, a: _send(s, "POST", "/order", json={}), "POST /order"),
    ("post orders, no auth", lambda s, a: _send(s, "POST", "/orders", json=[]), "POST /orders"),
    ("cancel order, no auth", lambda s, a: _send(s, "DELETE", "/order", json=NO_ID),
     "DELETE /order"),
    ("cancel orders, no auth", lambda s, a: _send(s, "DELETE", "/orders", json=[]),
     "DELETE /orders"),
    ("cancel all, no auth", lambda s, a: _send(s, "DELETE", "/cancel-all"), "DELETE /cancel-all"),
    ("cancel market, no auth", lambda s, a: _send(s, "DELETE", "/cancel-market-orders"),
     "DELETE /cancel-market-orders"),
    ("open orders, no auth", lambda s, a: _get(s, "/data/orders"), "GET /data/orders"),
    ("one order, no auth", lambda s, a: _get(s, "/data/order/0x01"),
     "GET /data/order/{order_id}"),
    ("trades, no auth", lambda s, a: _get(s, "/data/trades"), "GET /data/trades"),
    ("heartbeat, no auth", lambda s, a: _send(s, "POST", "/v1/heartbeats",
                                              json={"heartbeat_id": ""}), "POST /v1/heartbeats"),
    ("derive key, no auth", lambda s, a: _get(s, "/auth/derive-api-key"),
     "GET /auth/derive-api-key"),
    ("derive key, L1 signed", lambda s, a: _get(s, "/auth/derive-api-key", headers=l1_headers(
        KEY_B, int(time.time()))).raise_for_status(), "GET /auth/derive-api-key"),
    ("create key, no auth", lambda s, a: _send(s, "POST", "/auth/api-key"), "POST /auth/api-key"),
    ("open orders, L2 signed", lambda s, a: a.call("GET", "/data/orders").raise_for_status(),
     "GET /data/orders"),
    ("heartbeat, L2 signed", lambda s, a: a.call(
        "POST", "/v1/heartbeats", b'{"heartbeat_id":""}').raise_for_status(),
     "POST /v1/heartbeats"),
    ("user websocket", _user_socket, "GET /ws/user"),
    ("user websocket with its auth frame", _user_socket_authed, "GET /ws/user"),
    ("book with POLY_API_KEY", lambda s, a: _get(s, "/book", params={"token_id": "1"},
                                                 headers={"POLY_API_KEY": "k"}), "GET /book"),
    ("time with poly_address, lower case", lambda s, a: _get(
        s, "/time", headers={"poly_address": "0x0"}), "GET /time"),
    ("ok with POLY_SIGNATURE", lambda s, a: _get(s, "/ok", headers={"POLY_SIGNATURE": "0x"}),
     "GET /ok"),
    ("version with POLY_TIMESTAMP", lambda s, a: _get(
        s, "/version", headers={"POLY_TIMESTAMP": "1"}), "GET /version"),
    ("gamma with POLY_NONCE", lambda s, a: _get(s, "/gamma/markets", headers={"POLY_NONCE": "0"}),
     "GET /gamma/markets"),
    ("market websocket with POLY_PASSPHRASE", _market_socket_with_header, "GET /ws/market"),
    ("a venue route the sim does not serve", lambda s, a: _get(s, "/balance-allowance"),
     "GET /balance-allowance"),
    ("wrong method on an order route", lambda s, a: _get(s, "/order"), "GET /order"),
    ("trailing slash", lambda s, a: _send(s, "POST", "/orders/", json=[]), "POST /orders/"),
]


def _counts(sim: SimProcess) -> tuple[int, Counter[str]]:
    state = sim.state()
    return state["private_requests"], Counter(state["private_routes"])


@pytest.mark.parametrize(("request_", "route"), [(r, route) for _, r, route in PRIVATE],
                         ids=[case for case, _, _ in PRIVATE])
def test_each_private_request_counts_once_under_its_route(
        sim: SimProcess, alice: Client, request_: Private, route: str) -> None:
    n0, routes0 = _counts(sim)
    request_(sim, alice)
    n1, routes1 = _counts(sim)
    assert (n1 - n0, routes1 - routes0) == (1, Counter({route: 1}))


def test_a_request_refused_by_a_fault_still_counts(sim: SimProcess) -> None:
    n0, routes0 = _counts(sim)
    sim.set_faults({"name": "all-500", "rest": {"server_error_rate": 1.0}})
    try:
        r = _send(sim, "POST", "/order", json={})
    finally:
        sim.set_faults("none")
    assert r.status_code == 500
    n1, routes1 = _counts(sim)
    assert (n1 - n0, routes1 - routes0) == (1, Counter({"POST /order": 1}))
