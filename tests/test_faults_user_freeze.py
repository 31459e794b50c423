"""A user socket that answers pings but delivers nothing, and the fills it swallowed.

The user channel is legitimately quiet while nothing of ours happens, so silence alone proves
nothing. What proves it is stuck: orders the venue acknowledged over REST that never show up on
it. The OrderManager notices that (``order_manager.user_ack_timeout_s``) and has the user feed
reconnect; on the resync it reads our trades back from REST, so a fill that happened while the
channel was frozen still reaches the positions.
"""

from __future__ import annotations

import pytest

from tests.e2e import Harness, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ACK_TIMEOUT_S = 2.0
FREEZE_S = 30.0


def _our_live(h: Harness) -> list[dict]:
    return [o for o in h.sim.orders(h.api_key) if o.get("status") == "LIVE"]


def test_frozen_user_socket_is_noticed_and_missed_fills_are_recovered(tmp_path):
    overrides = {"order_manager.user_ack_timeout_s": ACK_TIMEOUT_S,
                 "user_feed.reconnect_min_s": 0.1, "user_feed.reconnect_max_s": 1.0}
    with Harness(tmp_path, window_s=60, overrides=overrides) as h:
        h.wait_quoting(n=2)
        user0 = h.feed_stats("user_feed")
        fills0 = h.state_status()["fills"]
        # Frozen for far longer than the test: only the ack watchdog can end it.
        assert h.sim.freeze("user", seconds=FREEZE_S)["user"] >= 1
        order = wait_until(lambda: next(iter(_our_live(h)), None), 20, "an order of ours "
                           "resting at the venue")
        token, price = str(order["asset_id"]), int(str(order["price_pips"]))
        taken = h.sim.take(token, "SELL", f"{price / 10_000:.4f}", "1000000")
        assert taken["trade_id"]
        wait_until(lambda: h.feed_stats("user_feed")["silent"] > user0["silent"], 20,
                   "the stuck user socket noticed through missing order acks")
        wait_until(lambda: h.feed_stats("user_feed")["connects"] > user0["connects"], 20,
                   "the user feed reconnected")
        wait_until(lambda: h.state_status()["fills"] > fills0, 20,
                   "the fill made while the channel was frozen reached the positions")
        h.wait_quoting(timeout=30)
    assert h.result["open_orders_after_shutdown"] == 0
