"""Each fault kind of the simulated venue, observed from the client side and counted in
``/_sim/state``."""

from __future__ import annotations

import json

import pytest
import requests
import websocket

from sim.process import SimProcess
from tests.e2e import wait_until
from tests.test_sim_support import KEY_E, Client, Socket, current_market, start_sim

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sim():
    proc = start_sim("--seed", "13", "--market-rate", "200")
    yield proc
    proc.stop()


@pytest.fixture(autouse=True)
def _no_faults_after(sim: SimProcess):
    yield
    sim.set_faults("none")


@pytest.fixture(scope="module")
def client(sim: SimProcess) -> Client:
    return Client(sim, KEY_E)


def _faults(sim: SimProcess) -> dict[str, int]:
    return sim.state()["faults"]


@pytest.mark.parametrize(("field", "status", "kind"), [
    ("too_early_rate", 425, "rest_425"),
    ("rate_limited_rate", 429, "rest_429"),
    ("server_error_rate", 500, "rest_500"),
])
def test_rest_error_faults(sim, client, field, status, kind):
    before = _faults(sim).get(kind, 0)
    sim.set_faults({"name": kind, "rest": {field: 1.0, "retry_after_s": 3}})
    r = client.call("GET", "/data/orders")
    assert r.status_code == status
    if status != 500:
        assert r.headers["Retry-After"] == "3"
    assert _faults(sim)[kind] == before + 1
    sim.set_faults("none")
    assert client.call("GET", "/data/orders").status_code == 200


def test_post_only_mode_fault_refuses_order_posts_but_not_cancels(sim, client):
    m = current_market(sim)
    sim.set_faults({"rest": {"post_only_mode_rate": 1.0, "post_only_retry_after_s": 7}})
    _, r = client.post(m["token_ids"][0], "BUY", 1000)
    assert r.status_code == 503
    assert r.json() == {"error": "post-only mode: only post-only orders and cancels are allowed",
                        "code": "post_only_mode", "retry_after_seconds": 7}
    assert client.call("DELETE", "/cancel-all").status_code == 200
    assert _faults(sim)["rest_503_post_only"] >= 1


def test_delay_fault_still_answers(sim, client):
    sim.set_faults({"rest": {"delay_rate": 1.0, "delay_ms": 50}})
    assert client.call("GET", "/data/orders").status_code == 200
    assert _faults(sim)["rest_delay"] >= 1


def test_post_timeout_fault_accepts_the_order_then_hangs(sim, client):
    m = current_market(sim)
    sim.set_faults({"rest": {"post_timeout_rate": 1.0, "post_timeout_s": 3}})
    h, body = client.build(m["token_ids"][0], "BUY", 1100, 10_000_000)
    with pytest.raises(requests.Timeout):
        client.call("POST", "/order", body, timeout=0.5)
    sim.set_faults("none")
    one = client.call("GET", f"/data/order/{h}").json()
    assert one["id"] == h and one["status"] == "LIVE"  # resolvable by its hash
    assert _faults(sim)["post_timeout"] >= 1
    client.call("DELETE", "/cancel-all")


def _subscribed_market_socket(sim: SimProcess) -> Socket:
    m = current_market(sim, "eth")
    sock = Socket(sim.ws_url + "/ws/market")
    sock.send({"type": "market", "assets_ids": m["token_ids"]})
    sock.wait_for(lambda e: isinstance(e, dict) and e.get("event_type") == "price_change")
    return sock


def test_socket_drop_fault(sim):
    sock = _subscribed_market_socket(sim)
    try:
        sim.set_faults({"sockets": {"channels": ["market"], "drop_per_min": 6000}})
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
            sock.wait_for(lambda e: False, timeout=10)
        assert _faults(sim)["socket_drop"] >= 1
    finally:
        sock.close()


def test_socket_freeze_fault_keeps_pongs_but_stops_data(sim):
    sock = _subscribed_market_socket(sim)
    try:
        before = _faults(sim).get("socket_freeze", 0)
        sim.set_faults({"sockets": {"channels": ["market"], "freeze_per_min": 6000,
                                    "freeze_s": 30}})
        wait_until(lambda: _faults(sim).get("socket_freeze", 0) > before, 10,
                   "the venue counts the socket freeze")
        sim.set_faults("none")
        sock.send("PING")
        sock.wait_for(lambda e: e == "PONG")  # frames written before the freeze come first
        # Frozen: data stops (200 msgs/s were flowing) but pings are still answered.
        with pytest.raises(websocket.WebSocketTimeoutException):
            sock.recv_text(timeout=1.0)
        sock.send("PING")
        assert sock.recv_text() == "PONG"
    finally:
        sock.close()


def test_malformed_frame_fault(sim):
    sock = _subscribed_market_socket(sim)
    try:
        sim.set_faults({"sockets": {"channels": ["market"], "malformed_per_min": 6000}})

        def malformed(text: object) -> bool:
            return isinstance(text, str)  # only non-JSON text reaches the predicate as a str

        bad = sock.wait_for(malformed)
        with pytest.raises(ValueError):
            json.loads(bad)
        assert _faults(sim)["malformed_frame"] >= 1
    finally:
        sock.close()


def test_tick_change_fault(sim):
    sock = Socket(sim.ws_url + "/ws/market")
    try:
        state = sim.state()
        tokens = [t for m in state["markets"] if not m["closed"] for t in m["token_ids"]]
        sock.send({"type": "market", "assets_ids": tokens, "initial_dump": False})
        sim.set_faults({"tick": {"change_every_s": 1}})
        ev = sock.wait_for(lambda e: isinstance(e, dict)
                           and e.get("event_type") == "tick_size_change")
        assert {ev["old_tick_size"], ev["new_tick_size"]} == {"0.01", "0.001"}
        assert _faults(sim)["tick_change"] >= 1
    finally:
        sock.close()


def test_profiles_load_by_name_and_bad_profiles_are_refused(sim):
    sim.set_faults("chaos")
    assert sim.state()["fault_profile"] == "chaos"
    r = requests.post(sim.base_url + "/_sim/faults", json={"rest": {"bogus_rate": 1}},
                      timeout=5)
    assert r.status_code == 400 and "faults.rest.bogus_rate: unknown key" in r.json()["error"]
    sim.set_faults("none")
    assert sim.state()["fault_profile"] == "none"
