"""The simulated venue's websockets over real sockets: market, user (fills), PolyBolt, RTDS."""

from __future__ import annotations

import json

import pytest
import requests
import websocket

from sim.process import SimProcess
from tests.test_sim_support import (
    KEY_A,
    KEY_B,
    Client,
    Socket,
    current_market,
    next_market,
    start_sim,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sim():
    proc = start_sim("--seed", "12")
    yield proc
    proc.stop()


def _take(sim: SimProcess, token: str, side: str, price: str, size: str) -> dict:
    r = requests.post(sim.base_url + "/_sim/take", timeout=5,
                      json={"token_id": token, "side": side, "price": price, "size": size})
    r.raise_for_status()
    return r.json()


def test_market_channel_dump_changes_and_ping(sim):
    m = next_market(sim, "eth")
    up, down = m["token_ids"]
    alice = Client(sim, KEY_A)
    sock = Socket(sim.ws_url + "/ws/market")
    try:
        sock.send({"type": "market", "assets_ids": [up, down], "custom_feature_enabled": True})
        dump = json.loads(sock.recv_text())
        assert isinstance(dump, list) and {b["asset_id"] for b in dump} == {up, down}
        assert all(b["event_type"] == "book" and b["market"] == m["condition_id"] for b in dump)
        _, r = alice.post(down, "BUY", 4000)  # rests as an Up ask at 0.6
        assert r.status_code == 200
        change = sock.wait_for(lambda e: isinstance(e, dict)
                               and e.get("event_type") == "price_change")
        entries = {e["asset_id"]: e for e in change["price_changes"]}
        assert entries[down]["side"] == "BUY" and entries[down]["price"] == "0.4"
        assert entries[up]["side"] == "SELL" and entries[up]["price"] == "0.6"
        assert entries[down]["size"] == "10" and "best_bid" in entries[up]
        sock.send("PING")
        assert sock.wait_for(lambda e: e == "PONG") == "PONG"
        sock.send({"operation": "unsubscribe", "assets_ids": [down]})
        sock.send("PING")
        sock.wait_for(lambda e: e == "PONG")
        alice.post(down, "BUY", 3900)
        change = sock.wait_for(lambda e: isinstance(e, dict)
                               and e.get("event_type") == "price_change")
        assert {e["asset_id"] for e in change["price_changes"]} == {up}
    finally:
        sock.close()


def test_taker_fill_reaches_the_owner_as_matched_then_confirmed(sim):
    m = next_market(sim)
    up = m["token_ids"][0]
    alice, bob = Client(sim, KEY_A), Client(sim, KEY_B)
    mine, other = Socket(sim.ws_url + "/ws/user"), Socket(sim.ws_url + "/ws/user")
    market_ws = Socket(sim.ws_url + "/ws/market")
    try:
        mine.send({"type": "user", "auth": alice.raw_auth(), "markets": [m["condition_id"]]})
        other.send({"type": "user", "auth": bob.raw_auth()})
        market_ws.send({"type": "market", "assets_ids": [up], "custom_feature_enabled": True})
        market_ws.wait_for(lambda e: isinstance(e, dict) and e.get("event_type") == "book")
        order_id, r = alice.post(up, "BUY", 5000, 20_000_000)  # top of book at 0.50
        assert r.status_code == 200, r.text
        mine.wait_for(lambda e: e.get("type") == "PLACEMENT" and e["id"] == order_id)
        before = sim.state()["fills"]
        assert _take(sim, up, "SELL", "0.5", "8")["size"] == 8
        statuses = []
        trade = None
        while not statuses or statuses[-1] != "CONFIRMED":
            ev = mine.wait_for(lambda e: e.get("event_type") in ("trade", "order"))
            if ev["event_type"] == "order":
                assert ev["type"] == "UPDATE" and ev["size_matched"] == "8"
                continue
            trade = ev
            statuses.append(ev["status"])
        assert statuses == ["MATCHED", "MINED", "CONFIRMED"]
        assert trade is not None and trade["trader_side"] == "MAKER"
        fill = next(o for o in trade["maker_orders"] if o["owner"] == alice.creds.api_key)
        assert (fill["order_id"], fill["matched_amount"], fill["price"], fill["side"]) == (
            order_id, "8", "0.5", "BUY")
        assert sim.state()["fills"] == before + 1
        last = market_ws.wait_for(lambda e: e.get("event_type") == "last_trade_price")
        assert (last["price"], last["size"], last["side"]) == ("0.5", "8", "SELL")
        # On another market, a BUY Down at 0.50 rests as an Up ask at 0.50 (inside the seeded
        # asks from 0.51); a taker BUY Up at 0.50 hits exactly it.
        m2 = next_market(sim, "eth")
        mine.send({"operation": "subscribe", "markets": [m2["condition_id"]]})
        down_id, r = alice.post(m2["token_ids"][1], "BUY", 5000, 10_000_000)
        assert r.status_code == 200, r.text
        assert _take(sim, m2["token_ids"][0], "BUY", "0.5", "10")["size"] == 10
        trade = mine.wait_for(lambda e: e.get("event_type") == "trade"
                              and e["status"] == "MATCHED" and e["market"] == m2["condition_id"])
        assert (trade["asset_id"], trade["side"]) == (m2["token_ids"][0], "BUY")
        fill = next(o for o in trade["maker_orders"] if o["owner"] == alice.creds.api_key)
        assert (fill["order_id"], fill["asset_id"], fill["price"], fill["side"]) == (
            down_id, m2["token_ids"][1], "0.5", "BUY")
        # Bob saw none of it.
        other.send("PING")
        assert other.wait_for(lambda e: True) == "PONG"
    finally:
        for s in (mine, other, market_ws):
            s.close()


def test_user_channel_refuses_bad_credentials(sim):
    sock = Socket(sim.ws_url + "/ws/user")
    try:
        sock.send({"type": "user", "auth": {"apiKey": "x", "secret": "y", "passphrase": "z"}})
        sock.ws.settimeout(5)
        opcode, frame = sock.ws.recv_data_frame(True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE
        assert int.from_bytes(frame.data[:2], "big") == 4001
    finally:
        sock.close()


def test_polybolt_auth_subscribe_snapshot_and_updates(sim):
    alice = Client(sim, KEY_A)
    sock = Socket(sim.ws_url + "/ws/prices")
    try:
        sock.send({"op": "subscribe", "rid": "s0", "subscriptions": [
            {"channel": "price.crypto", "filter": {"symbol": "btcusd"}}]})
        assert sock.wait_for(lambda e: True) == {"op": "error", "code": "auth_required",
                                                 "rid": "s0"}
        sock.send({"op": "auth", "rid": "a1", "auth": alice.raw_auth()})
        assert sock.wait_for(lambda e: True) == {"op": "authed", "rid": "a1"}
        sock.send({"op": "subscribe", "rid": "s1", "subscriptions": [
            {"channel": "price.crypto", "filter": {"symbol": "btcusd"}},
            {"channel": "price.crypto.twap", "filter": {"symbol": "btcusd",
                                                        "window_seconds": 60}}]})
        acks, snaps, seqs = set(), {}, {"price.crypto": [], "price.crypto.twap": []}
        while len(seqs["price.crypto"]) < 3 or len(seqs["price.crypto.twap"]) < 2:
            ev = sock.wait_for(lambda e: True)
            if ev.get("op") == "subscribed":
                acks.add(ev["channel"])
            elif ev.get("snapshot"):
                snaps[ev["channel"]] = ev
                seqs[ev["channel"]].append(ev["seq"])
            elif "channel" in ev:
                seqs[ev["channel"]].append(ev["seq"])
                p = ev["payload"]
                assert p["symbol"] == "btcusd" and "." in p["full_accuracy_value"]
                if ev["channel"] == "price.crypto.twap":
                    assert p["window_seconds"] == 60
        assert acks == {"price.crypto", "price.crypto.twap"}
        assert snaps["price.crypto.twap"]["payload"]["data"]  # a minute of history at start
        for chan_seqs in seqs.values():
            assert chan_seqs == list(range(1, len(chan_seqs) + 1))
        sock.send({"op": "ping", "rid": "p"})
        sock.wait_for(lambda e: e.get("op") == "pong")
    finally:
        sock.close()


def test_rtds_legacy_topics_and_ping(sim):
    sock = Socket(sim.ws_url + "/rtds")
    try:
        sock.send({"action": "subscribe", "subscriptions": [
            {"topic": "crypto_prices", "type": "update", "filters": "ethusdt"},
            {"topic": "crypto_prices_chainlink", "type": "*",
             "filters": '{"symbol":"eth/usd"}'}]})
        ev = sock.wait_for(lambda e: isinstance(e, dict)
                           and e.get("topic") == "crypto_prices_chainlink")
        assert ev["payload"]["symbol"] == "eth/usd" and ev["payload"]["value"] > 0
        ev = sock.wait_for(lambda e: isinstance(e, dict) and e.get("topic") == "crypto_prices")
        assert ev["payload"]["symbol"] == "ethusdt"
        sock.send("PING")
        sock.wait_for(lambda e: e == "PONG")
    finally:
        sock.close()


def test_tick_change_is_announced_and_enforced(sim):
    m = current_market(sim, "eth")
    up = m["token_ids"][0]
    alice = Client(sim, KEY_A)
    sock = Socket(sim.ws_url + "/ws/market")
    try:
        sock.send({"type": "market", "assets_ids": [up]})
        sock.wait_for(lambda e: e.get("event_type") == "book")
        requests.post(sim.base_url + "/_sim/tick", json={"token_id": up, "tick": "0.001"},
                      timeout=5).raise_for_status()
        ev = sock.wait_for(lambda e: e.get("event_type") == "tick_size_change")
        assert (ev["old_tick_size"], ev["new_tick_size"]) == ("0.01", "0.001")
        assert requests.get(sim.base_url + "/tick-size", params={"token_id": up},
                            timeout=5).json() == {"minimum_tick_size": 0.001}
        _, r = alice.post(up, "BUY", 1230, tick_pips=10)
        assert r.status_code == 200, r.text
        requests.post(sim.base_url + "/_sim/tick", json={"token_id": up, "tick": "0.01"},
                      timeout=5).raise_for_status()
        h, r = alice.post(up, "BUY", 1240, tick_pips=10)
        assert r.json() == {"error": f"order {h} is invalid. Price (0.124) breaks minimum tick "
                                     f"size rule: 0.01"}
    finally:
        sock.close()
