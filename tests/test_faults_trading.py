"""Fault scenarios, end to end: failed trades, tick changes and window rollover (issue 6).

* MATCHED → FAILED: every trade of the venue fails (``--trade-fail-rate 1``); a taker hits our
  resting order: while the trade is MATCHED/RETRYING the OrderManager's risk position and the
  State's inventory count the fill; once it FAILED both are back where they were.
* Tick size changes mid-window (0.01 ↔ 0.001, forced through the venue's admin route): no order
  is rejected for its tick more than once per change, and quoting goes on.
* Window rollover under load (30 s windows, 2,000 extra market messages per second): the bot
  pulls its quotes before each close, so the venue never cancels one of our orders because its
  market expired, and it quotes the next window.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e import Harness, nudge_fill, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(120)]


def _our_live(h: Harness) -> list[dict[str, object]]:
    return [o for o in h.sim.orders(h.api_key) if o["status"] == "LIVE"]


def _one_live(h: Harness) -> dict[str, object]:
    """One order of ours resting at the venue, waited for: mid-replace, or while the bot has
    pulled its quotes before a window closes, none rests."""
    order: dict[str, object] = wait_until(lambda: next(iter(_our_live(h)), None), 20,
                                          "an order of ours resting at the venue")
    return order


def _matched(h: Harness) -> dict[str, int]:
    """Matched size per order of ours at the venue."""
    return {str(o["id"]): int(str(o["matched_micro"])) for o in h.sim.orders(h.api_key)}


def _inventory_shares(h: Harness, token_index: int) -> float:
    key = ("inv_up", "inv_down")[token_index]
    return sum(float(m[key]) for m in h.state_status()["markets"])


def test_matched_then_failed_trade_reverts_inventory_and_risk_counted_it(tmp_path):
    sim_args = ["--trade-fail-rate", "1", "--mined-delay-ms", "1500",
                "--confirmed-delay-ms", "1500", "--noise-rate", "0.5"]
    with Harness(tmp_path, sim_args=sim_args) as h:
        h.wait_quoting()
        tracker = h.tracker()
        for _ in range(5):
            order = _one_live(h)
            token, price = str(order["asset_id"]), int(str(order["price_pips"]))
            tokens = next(m["token_ids"] for m in h.venue()["markets"] if token in m["token_ids"])
            before = {t: tracker.positions().get(t, 0) for t in tokens}
            inv_before = [_inventory_shares(h, i) for i in range(2)]
            matched_before = _matched(h)
            # A taker sells into our bid and everything better (the whole side down to our
            # price): the bid it meets fills completely.
            taken = h.sim.take(token, "SELL", f"{price / 10_000:.4f}", "1000000")
            assert taken["trade_id"]
            # Only BUYs on the take's token can meet it (the venue matches no complement).
            filled = [o for o in h.sim.orders(h.api_key) if str(o["asset_id"]) == token
                      and int(str(o["matched_micro"])) != matched_before.get(str(o["id"]), 0)]
            if filled:
                break
            # The bot re-priced that order below the take's price between our read and the
            # take, so the take met none of our orders: pick again.
        # The bot may also have re-priced it *up* in between: then the take filled the
        # replacement. Which of our orders it filled is read from the venue, not assumed.
        assert len(filled) == 1, f"the take met none (or several) of our orders: {filled}"
        matched, oid = int(str(filled[0]["matched_micro"])), str(filled[0]["id"])
        assert matched == int(str(filled[0]["original_micro"])), filled  # filled completely
        size = matched - matched_before.get(oid, 0)
        idx = tokens.index(token)
        before_token, inv_before_token = before[token], inv_before[idx]

        # MATCHED (then RETRYING): risk and inventory count the fill.
        wait_until(lambda: tracker.positions().get(token, 0) >= before_token + size, 5,
                   "risk position counts the matched fill")
        wait_until(lambda: _inventory_shares(h, idx) >= inv_before_token + size / 1e6, 5,
                   "State inventory counts the matched fill")
        assert h.om_stats()["fills"] >= 1
        # FAILED: both revert.
        wait_until(lambda: tracker.positions().get(token, 0) == before_token, 10,
                   "risk position reverted after FAILED")
        wait_until(lambda: abs(_inventory_shares(h, idx) - inv_before_token) < 1e-9, 10,
                   "State inventory reverted after FAILED")
    assert h.result["open_orders_after_shutdown"] == 0


def test_tick_change_mid_window_rejects_at_most_once_per_change(tmp_path):
    changes = 0
    with Harness(tmp_path, sim_args=["--noise-rate", "1"]) as h:
        h.wait_quoting()
        token = str(_one_live(h)["asset_id"])
        for tick in ("0.001", "0.01", "0.001", "0.01"):
            posted = h.om_stats()["orders_posted"]
            h.sim.set_tick(token, tick)
            changes += 1
            # The bot re-quotes on the new grid (the quoter prices afresh on every change).
            # Usually the new grid re-prices at once; an order still within tolerance on a
            # coarser grid stays, so after a few seconds fill one to make the bot post again.
            t_change = time.monotonic()

            def posted_again(posted: int = posted, t0: float = t_change) -> bool:
                if h.om_stats()["orders_posted"] > posted:
                    return True
                if time.monotonic() - t0 > 3.0:
                    nudge_fill(h)
                return False

            wait_until(posted_again, 30, f"quoting after the tick changed to {tick}")
        rejects = h.om_stats()["rejects"]
    venue = h.final_state
    assert venue["faults"]["tick_change"] >= changes
    tick_rejects = venue["rejects"].get("tick", 0)
    assert tick_rejects <= venue["faults"]["tick_change"], venue["rejects"]
    assert rejects.get("tick", 0) <= changes
    assert h.result["open_orders_after_shutdown"] == 0


def test_window_rollover_under_load_leaves_no_order_on_an_expired_market(tmp_path):
    overrides = {"quoter.min_seconds_to_close": 8}
    with Harness(tmp_path, sim_args=["--market-rate", "2000"], overrides=overrides) as h:
        h.wait_quoting()
        first = {str(_one_live(h)["market"])} | {str(o["market"]) for o in _our_live(h)}

        def closed_ours() -> list[str]:
            return [m["condition_id"] for m in h.venue()["markets"]
                    if m["closed"] and m["condition_id"] in first]

        closed = wait_until(closed_ours, 45, "a window we quoted closed")
        # And the bot quotes the next window.
        wait_until(lambda: {str(o["market"]) for o in _our_live(h)} - set(closed), 30,
                   "quotes on the next window")
        tracker = h.tracker()
    venue = h.final_state
    assert venue["canceled_at_close"] == 0
    assert not [o for o in tracker.orders() if o.condition_id in closed]
    quoted = {str(o["market"]) for o in h.final_orders}
    assert set(closed) <= quoted
    assert h.result["open_orders_after_shutdown"] == 0
