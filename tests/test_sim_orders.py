"""The simulated venue's REST side over real sockets: auth, order rules, cancels, heartbeats,
reads, Gamma and ``/_sim/state``."""

from __future__ import annotations

import json
import time

import pytest
import requests

from sim.process import SimProcess
from tests.test_sim_support import (
    KEY_A,
    KEY_B,
    KEY_C,
    KEY_D,
    Client,
    Socket,
    current_market,
    next_market,
    start_sim,
)
from venue.auth import ApiCreds, l1_headers

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sim():
    proc = start_sim("--seed", "11")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def alice(sim: SimProcess) -> Client:
    return Client(sim, KEY_A)


@pytest.fixture(scope="module")
def market(sim: SimProcess) -> dict:
    return next_market(sim)


def test_signed_order_rests_and_is_listed(sim, alice, market):
    up = market["token_ids"][0]
    before = sim.state()
    order_id, r = alice.post(up, "BUY", 3000)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["status"] == "live"
    assert body["orderID"] == order_id  # the venue's id is the EIP-712 hash
    assert order_id in alice.open_ids()
    assert order_id in alice.open_ids(market=market["condition_id"])
    assert order_id not in alice.open_ids(asset_id=market["token_ids"][1])
    one = alice.call("GET", f"/data/order/{order_id}").json()
    assert (one["price"], one["original_size"], one["side"], one["status"]) == (
        "0.3", "10", "BUY", "LIVE")
    after = sim.state()
    assert after["orders_accepted"] == before["orders_accepted"] + 1
    assert order_id in after["open_orders"][alice.creds.api_key]["ids"]
    book = requests.get(sim.base_url + "/book", params={"token_id": up}, timeout=5).json()
    assert {"price": "0.3", "size": "10"} in book["bids"]
    down_book = requests.get(sim.base_url + "/book", params={"token_id": market["token_ids"][1]},
                             timeout=5).json()
    assert {"price": "0.7", "size": "10"} in down_book["asks"]  # the mirror on the Down book


def test_bad_signature_is_refused(sim, alice, market):
    before = sim.state()["signature_failures"]
    _, body = alice.build(market["token_ids"][0], "BUY", 2500, 10_000_000, sign_with=KEY_B)
    r = alice.call("POST", "/order", body)
    assert (r.status_code, r.json()) == (400, {"error": "Invalid order payload"})
    assert sim.state()["signature_failures"] == before + 1


def test_bad_hmac_is_refused(sim, alice, market):
    before = sim.state()["auth_failures"]
    wrong = ApiCreds(api_key=alice.creds.api_key, secret="A" * 43 + "=",
                     passphrase=alice.creds.passphrase)
    r = alice.call("GET", "/data/orders", creds=wrong)
    assert (r.status_code, r.json()) == (401, {"error": "Unauthorized/Invalid api key"})
    _, body = alice.build(market["token_ids"][0], "BUY", 2500, 10_000_000)
    r = alice.http.post(sim.base_url + "/order", data=body, timeout=5)  # no headers at all
    assert r.status_code == 401
    assert sim.state()["auth_failures"] == before + 2


def test_l1_create_and_derive_agree_and_bad_l1_is_refused(sim):
    headers = l1_headers(KEY_D, int(time.time()))
    created = requests.post(sim.base_url + "/auth/api-key", headers=headers, timeout=5).json()
    derived = requests.get(sim.base_url + "/auth/derive-api-key", headers=headers,
                           timeout=5).json()
    assert created == derived and set(created) == {"apiKey", "secret", "passphrase"}
    headers["POLY_ADDRESS"] = "0x" + "ab" * 20
    r = requests.get(sim.base_url + "/auth/derive-api-key", headers=headers, timeout=5)
    assert (r.status_code, r.json()) == (401, {"error": "Invalid L1 Request headers"})


def test_order_rules_use_the_venues_messages(sim, alice, market):
    up, down = market["token_ids"]
    # Price off the tick grid: 0.305 at tick 0.01 (10 shares for 3.05 USD).
    h, body = alice.build_raw(up, "BUY", 3_050_000, 10_000_000)
    r = alice.call("POST", "/order", body)
    assert r.json() == {"error": f"order {h} is invalid. Price (0.305) breaks minimum tick "
                                 f"size rule: 0.01"}
    h, r = alice.post(up, "BUY", 3000, 4_000_000)
    assert r.json() == {"error": f"order {h} is invalid. Size (4) lower than the minimum: 5"}
    # A BUY Up at 0.6 crosses the seeded asks around 0.5.
    _, r = alice.post(up, "BUY", 6000)
    assert r.json() == {"error": "invalid post-only order: order crosses book"}
    # A BUY Down at 0.6 crosses the Up bids (mirrored asks on the Down book).
    _, r = alice.post(down, "BUY", 6000)
    assert r.json() == {"error": "invalid post-only order: order crosses book"}
    h, body = alice.build(up, "BUY", 2000, 10_000_000)
    assert alice.call("POST", "/order", body).status_code == 200
    before = sim.state()["duplicates"]
    r = alice.call("POST", "/order", body)
    assert r.json() == {"error": f"order {h} is invalid. Duplicated."}
    assert sim.state()["duplicates"] == before + 1
    r = alice.call("POST", "/order", body.replace(alice.creds.api_key.encode(), b"someone"))
    assert r.json() == {"error": "the order owner has to be the owner of the API KEY"}
    bob = Client(sim, KEY_B)
    _, bob_body = bob.build(up, "BUY", 2000, 10_000_000)
    r = alice.call("POST", "/order", bob_body.replace(bob.creds.api_key.encode(),
                                                      alice.creds.api_key.encode()))
    assert r.json() == {"error": "the order signer address has to be the address of the API KEY"}
    rejects = sim.state()["rejects"]
    assert {"tick", "min_size", "post_only_cross", "duplicate", "owner", "signer"} <= set(rejects)


def test_batch_post_limits_and_per_entry_results(sim, alice, market):
    up = market["token_ids"][0]
    bodies = [alice.build(up, "BUY", 1000 + 100 * i, 5_000_000)[1] for i in range(16)]
    r = alice.call("POST", "/orders", b"[" + b",".join(bodies) + b"]")
    assert (r.status_code, r.json()) == (
        400, {"error": "Too many orders in payload: 16, max allowed: 15"})
    good = alice.build(up, "BUY", 1100, 5_000_000)
    bad = alice.build(up, "BUY", 1200, 1_000_000)
    r = alice.call("POST", "/orders", b"[" + good[1] + b"," + bad[1] + b"]")
    results = r.json()
    assert r.status_code == 200 and len(results) == 2
    assert results[0]["success"] and results[0]["orderID"] == good[0]
    assert not results[1]["success"] and "lower than the minimum" in results[1]["errorMsg"]


def test_cancel_routes(sim, market):
    carol = Client(sim, KEY_C)
    up, down = market["token_ids"]
    ids = [carol.post(up, "BUY", 1000 + 100 * i)[0] for i in range(4)]
    ids.append(carol.post(down, "BUY", 1500)[0])
    r = carol.call("DELETE", "/order", json.dumps({"orderID": ids[0]}).encode()).json()
    assert r == {"canceled": [ids[0]], "not_canceled": {}}
    r = carol.call("DELETE", "/orders", json.dumps([ids[1], ids[1], "0xdead"]).encode()).json()
    assert r["canceled"] == [ids[1]] and list(r["not_canceled"]) == ["0xdead"]
    r = carol.call("DELETE", "/cancel-market-orders",
                   json.dumps({"asset_id": down}).encode()).json()
    assert r["canceled"] == [ids[4]]
    r = carol.call("DELETE", "/cancel-all").json()
    assert sorted(r["canceled"]) == sorted(ids[2:4])
    assert carol.open_ids() == set()
    assert carol.creds.api_key not in sim.state()["open_orders"]


def test_heartbeat_protocol_and_dead_man_cancel(sim, market):
    dave = Client(sim, "0x" + "66" * 32)
    user = Socket(sim.ws_url + "/ws/user")
    try:
        user.send({"type": "user", "auth": dave.raw_auth(), "markets": []})
        order_id, r = dave.post(market["token_ids"][0], "BUY", 1200)
        assert r.status_code == 200
        user.wait_for(lambda e: isinstance(e, dict) and e.get("type") == "PLACEMENT")
        first = dave.call("POST", "/v1/heartbeats", b'{"heartbeat_id":""}').json()["heartbeat_id"]
        second = dave.call("POST", "/v1/heartbeats",
                           json.dumps({"heartbeat_id": first}).encode()).json()["heartbeat_id"]
        r = dave.call("POST", "/v1/heartbeats", json.dumps({"heartbeat_id": first}).encode())
        assert (r.status_code, r.json()) == (
            400, {"error_msg": "Invalid Heartbeat ID", "heartbeat_id": second})
        # No more heartbeats: the 2 s dead-man timeout cancels the order.
        event = user.wait_for(lambda e: isinstance(e, dict) and e.get("type") == "CANCELLATION",
                              timeout=15)
        assert event["id"] == order_id and event["status"] == "CANCELED"
        assert dave.open_ids() == set()
        assert sim.state()["heartbeat_expiries"] >= 1
    finally:
        user.close()


def test_reads_book_tick_time_and_gamma(sim, alice):
    m = current_market(sim)
    up = m["token_ids"][0]
    assert requests.get(sim.base_url + "/tick-size", params={"token_id": up},
                        timeout=5).json() == {"minimum_tick_size": 0.01}
    r = requests.get(sim.base_url + "/book", params={"token_id": "123"}, timeout=5)
    assert (r.status_code, r.json()) == (
        404, {"error": "No orderbook exists for the requested token id"})
    assert abs(int(requests.get(sim.base_url + "/time", timeout=5).text) - time.time()) < 5
    ev = requests.get(sim.base_url + "/gamma/events", params={"slug": m["slug"]},
                      timeout=5).json()
    assert len(ev) == 1 and ev[0]["slug"] == m["slug"]
    assert ev[0]["eventMetadata"]["priceToBeat"] > 0  # the window is open
    mk = ev[0]["markets"][0]
    assert json.loads(mk["clobTokenIds"]) == m["token_ids"]
    assert len(m["token_ids"][0]) >= 70 and m["token_ids"][0].isdigit()
    assert mk["outcomes"] == '["Up", "Down"]'
    assert mk["conditionId"] == m["condition_id"] and len(mk["conditionId"]) == 66
    assert (mk["version"], mk["negRisk"], mk["orderPriceMinTickSize"], mk["orderMinSize"]) == (
        "v1", False, 0.01, 5)
    assert mk["acceptingOrders"] and mk["active"] and not mk["closed"]
    assert mk["feeSchedule"] == {"exponent": 1, "rate": 0.07, "takerOnly": True,
                                 "rebateRate": 0.2}
    start = int(m["slug"].rsplit("-", 1)[1])
    assert start % 900 == 0 and m["slug"].startswith("btc-updown-15m-")
    assert mk["eventStartTime"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))
    nxt = next_market(sim)
    one = requests.get(f"{sim.base_url}/gamma/markets/slug/{nxt['slug']}", timeout=5).json()
    assert one["conditionId"] == nxt["condition_id"]
    ev2 = requests.get(f"{sim.base_url}/gamma/events/slug/{nxt['slug']}", timeout=5).json()
    assert ev2["eventMetadata"] is None  # no price to beat before the open
    series = requests.get(sim.base_url + "/gamma/series", params={"slug": "btc-up-or-down-15m"},
                          timeout=5).json()
    assert len(series) == 1 and len(series[0]["events"]) >= 3  # current + 2 ahead
    listed = requests.get(sim.base_url + "/gamma/events",
                          params=[("slug", m["slug"]), ("slug", nxt["slug"])], timeout=5).json()
    assert [e["slug"] for e in listed] == [m["slug"], nxt["slug"]]
