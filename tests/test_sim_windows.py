"""Rolling windows: a window resolves at its close (orders canceled, ``market_resolved``, no
new orders), failed trades go RETRYING → FAILED, and noise traders move the book."""

from __future__ import annotations

import pytest

from sim.exchange import NOT_READY
from sim.process import SimProcess
from tests.test_sim_support import BASE_ARGS, KEY_A, Client, Socket, current_market

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def sim():
    proc = SimProcess([*BASE_ARGS, "--window-seconds", "10", "--seed", "14",
                       "--trade-fail-rate", "1", "--noise-rate", "20"]).start()
    yield proc
    proc.stop()


def test_window_resolves_at_close(sim):
    alice = Client(sim, KEY_A)
    m = current_market(sim)
    up = m["token_ids"][0]
    market_ws, user_ws = Socket(sim.ws_url + "/ws/market"), Socket(sim.ws_url + "/ws/user")
    try:
        market_ws.send({"type": "market", "assets_ids": m["token_ids"],
                        "custom_feature_enabled": True, "initial_dump": False})
        user_ws.send({"type": "user", "auth": alice.raw_auth()})
        order_id, r = alice.post(up, "BUY", 100)
        if r.status_code != 200:  # the window closed between the two calls: use the next one
            m = current_market(sim)
            order_id, r = alice.post(m["token_ids"][0], "BUY", 100)
        assert r.status_code == 200, r.text
        ev = market_ws.wait_for(lambda e: isinstance(e, dict)
                                and e.get("event_type") == "market_resolved"
                                and e["market"] == m["condition_id"], timeout=30)
        assert ev["winning_asset_id"] in m["token_ids"]
        assert ev["winning_outcome"] in ("Up", "Down")
        cancel = user_ws.wait_for(lambda e: isinstance(e, dict) and e.get("id") == order_id
                                  and e.get("type") == "CANCELLATION", timeout=10)
        assert cancel["status"] == "CANCELED"
        _, r = alice.post(m["token_ids"][0], "BUY", 200)
        assert (r.status_code, r.json()) == (400, {"error": NOT_READY})
        closed = [x for x in sim.state()["markets"] if x["condition_id"] == m["condition_id"]]
        assert closed and closed[0]["closed"] and not closed[0]["accepting"]
    finally:
        market_ws.close()
        user_ws.close()


def test_failed_trades_go_retrying_then_failed(sim):
    alice = Client(sim, KEY_A)
    user_ws = Socket(sim.ws_url + "/ws/user")
    try:
        user_ws.send({"type": "user", "auth": alice.raw_auth()})
        # A marketable (not post-only) BUY at 0.99 takes the noise asks: alice is the taker.
        for _ in range(2):  # a window may close between the state read and the post
            _, r = alice.post(current_market(sim)["token_ids"][0], "BUY", 9900, 5_000_000,
                              post_only=False, order_type="FAK")
            if r.status_code == 200:
                break
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "matched"
        statuses = []
        while not statuses or statuses[-1] != "FAILED":
            ev = user_ws.wait_for(lambda e: isinstance(e, dict)
                                  and e.get("event_type") == "trade", timeout=10)
            assert ev["trader_side"] == "TAKER"
            statuses.append(ev["status"])
        assert statuses == ["MATCHED", "RETRYING", "FAILED"]
    finally:
        user_ws.close()


def test_noise_traders_move_the_book(sim):
    m = current_market(sim, "eth")
    sock = Socket(sim.ws_url + "/ws/market")
    try:
        sock.send({"type": "market", "assets_ids": m["token_ids"], "initial_dump": False})
        for _ in range(3):
            ev = sock.wait_for(lambda e: isinstance(e, dict)
                               and e.get("event_type") in ("price_change", "book"), timeout=10)
            assert ev["market"] == m["condition_id"]
    finally:
        sock.close()
