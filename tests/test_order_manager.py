"""The OrderManager actor against a fake CLOB client and the real signer.

Synchronisation: every ``tell`` is followed by an ask (``stats()``) through the same mailbox,
waited on with a timeout, so the told message has been handled when the ask returns. Time is
an injected clock; timers are off and driven by telling ``TimerFired``s.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest

from messages import (
    CancelAll,
    FeedStatus,
    KillSwitch,
    MakerFill,
    OrderCanceled,
    OrderFilled,
    OrderHash,
    OrderPlaced,
    OrderRejected,
    RejectReason,
    Side,
    TickSizeChanged,
    TradeEvent,
    TradeId,
    TradeStatus,
)
from messages.errors import NotSent, OutcomeUnknown, PostOnlyMode, RateLimited, ServerError
from runtime.metric_names import BY_NAME
from tests.builders import make_markets_changed, market_n
from tests.fakes import Clock
from tests.om_env import CID, DOWN, TIMEOUT, UP, Env, q
from tests.om_env import env as env  # the fixture
from trading.order_replay import check_record
from trading.params import OrderParams, RiskLimits


def test_desired_quotes_are_posted_in_batches_of_15(env):
    env.start()
    stats = env.desire([q(100 * i) for i in range(10, 30)])
    assert [c[1] for c in env.client.calls if c[0] == "post_orders"] == [15, 5]
    assert stats["orders_posted"] == 20 and stats["open_orders"] == 20
    placed = env.sink.of(OrderPlaced)
    assert len(placed) == 20 and all(p.status == "live" for p in placed)
    # hashes are known before sending: the logged post records name the venue's ids
    logged = {o["id"] for r in env.log.ops("post") for o in r["orders"]}
    assert logged == set(env.client.open)
    assert env.log.ops("desired")[0]["seq"] == 1
    env_body = env.client.posted_bodies[0][0]
    assert env_body["owner"] == "api-key-uuid" and env_body["postOnly"] is True


def test_cancels_go_before_posts(env):
    env.start()
    env.desire([q(4500), q(5000, DOWN)])
    env.client.calls.clear()
    stats = env.desire([q(4000), q(5000, DOWN)])  # Up re-priced beyond tolerance
    assert env.calls("cancel_orders", "post_orders") == ["cancel_orders", "post_orders"]
    assert stats["orders_canceled"] == 1 and stats["open_orders"] == 2
    assert len(env.sink.of(OrderCanceled)) == 1


def test_unchanged_desired_is_not_reposted_on_timer(env):
    env.start()
    env.desire([q(4500)])
    env.housekeeping()
    env.housekeeping()
    assert env.client.count("post_orders") == 1


def test_post_only_cross_is_dropped_not_retried(env):
    env.start()
    env.client.reject = lambda e: ("invalid post-only order: order crosses book"
                                   if e["order"]["takerAmount"] and e["order"]["makerAmount"]
                                   == "5500000" else None)
    stats = env.desire([q(5500), q(4000)])
    rejected = env.sink.of(OrderRejected)
    assert [r.reason for r in rejected] == [RejectReason.POST_ONLY_CROSS]
    assert stats["rejects"] == {"post_only_cross": 1} and stats["open_orders"] == 1
    env.housekeeping()
    env.clock.t += 5
    env.housekeeping()
    assert env.client.count("post_orders") == 1  # the next snapshot re-prices
    env.client.reject = lambda e: None
    env.desire([q(5400), q(4000)])
    assert env.client.count("post_orders") == 2


@pytest.mark.parametrize("placed", [True, False])
def test_post_timeout_is_never_resent_and_gets_resolved(env, placed):
    env.start()
    env.client.post_errors = [OutcomeUnknown("read timed out")]
    env.client.place_on_error = placed
    stats = env.desire([q(4500)])
    assert stats["in_flight"] == 1 and stats["unknown_outcome"] == 1
    first = env.log.ops("post")[0]["orders"][0]["id"]
    env.housekeeping()  # nothing re-posted while unknown; lookup not due yet
    assert env.client.count("post_orders") == 1 and env.client.count("get_order") == 0
    env.clock.t += 1.0
    stats = env.housekeeping()
    assert env.client.count("get_order") == 1
    if placed:
        assert stats["open_orders"] == 1 and stats["unknown_resolved"] == 1
        assert env.sink.of(OrderPlaced)[0].order_id == first
        env.clock.t += 20
        env.housekeeping()
        assert env.client.count("post_orders") == 1
    else:
        assert stats["unknown_outcome"] == 1  # not found yet: not concluded before the timeout
        env.clock.t += 10.0
        stats = env.housekeeping()
        assert stats["unknown_resolved"] == 1
        # Proven not placed: a fresh order (new salt, new hash) goes out, never the old one.
        posts = env.log.ops("post")
        assert env.client.count("post_orders") == 2 and posts[1]["orders"][0]["id"] != first
    assert stats["duplicate_orders"] == 0


def test_retry_after_is_honoured(env):
    env.start()
    env.client.post_errors = [RateLimited("Too Many Requests", status=429, retry_after_s=5.0)]
    stats = env.desire([q(4500)])
    assert stats["open_orders"] == 0 and stats["rejects"] == {"rate_limited": 1}
    env.clock.t += 4.9
    env.housekeeping()
    assert env.client.count("post_orders") == 1
    env.clock.t += 0.1
    stats = env.housekeeping()
    assert env.client.count("post_orders") == 2 and stats["open_orders"] == 1


def test_post_only_mode_blocks_posts_but_not_cancels(env):
    env.start()
    env.desire([q(4500)])
    env.client.post_errors = [PostOnlyMode(
        "post-only mode: only post-only orders and cancels are allowed", status=503,
        retry_after_s=79.0)]
    env.desire([q(4000)])  # cancel 4500 (allowed), post 4000 refused
    env.client.calls.clear()
    env.desire([q(3500)])
    env.clock.t += 30
    env.housekeeping()
    assert env.calls("post_orders") == []
    env.clock.t += 50
    stats = env.housekeeping()
    assert env.calls("post_orders") == ["post_orders"] and stats["open_orders"] == 1


def test_tick_rejection_refreshes_tick_once(env):
    env.start()
    env.client.tick_sizes[UP] = 1000
    env.client.reject = lambda e: ("order 0x is invalid. Price (0.45) breaks minimum tick "
                                   "size rule: 0.1")
    stats = env.desire([q(4500)])
    assert stats["rejects"] == {"tick": 1} and env.client.count("get_tick_size") == 1
    # The REST tick goes to the State, the tick's one owner; the OrderManager keeps no copy.
    (change,) = env.sink.of(TickSizeChanged)
    assert (change.token_id, change.old_tick_pips, change.new_tick_pips) == (UP, 100, 1000)
    env.desire([q(4500), q(4400)], tick_pips=1000)  # the Quoter's next quotes, on the new tick
    assert env.client.count("post_orders") == 1  # off the new grid: refused locally
    assert env.client.count("get_tick_size") == 1


def test_heartbeat_ids_rotate_and_recover(env):
    env.start()
    env.proxy.on_heartbeat().get(timeout=TIMEOUT)
    env.client.hb_expected = "venue-restarted"
    env.proxy.on_heartbeat().get(timeout=TIMEOUT)
    sent = [c[1] for c in env.client.calls if c[0] == "heartbeat"]
    assert sent == ["", "hb-1", "hb-2", "venue-restarted"]
    assert env.stats()["heartbeat_errors"] == 0


def test_start_reconciles_and_cancels_unknown_orders(env):
    stray = "0x" + "77" * 32
    env.client.add_open(stray)
    stats = env.start().stats()
    assert ("cancel_orders", [stray]) in env.client.calls
    assert stats["unknown_orders"] == 1 and env.client.open == {}


def test_user_feed_resync_reconciles(env):
    env.start()
    env.desire([q(4500)])
    oid = next(iter(env.client.open))
    env.client.open.pop(oid)  # canceled at the venue while the feed was down
    env.client.add_open("0x" + "66" * 32)
    env.client.calls.clear()
    stats = env.tell(FeedStatus(feed="user", connected=True, reason="resync", ts_recv_ns=1))
    assert env.calls("open_orders", "cancel_orders", "post_orders") == [
        "open_orders", "cancel_orders", "post_orders"]  # stray canceled, quote replaced
    assert stats["unknown_orders"] == 1 and stats["open_orders"] == 1


def test_fill_rediffs_without_new_desired(env):
    env.start()
    env.desire([q(4500)])
    oid = OrderHash(next(iter(env.client.open)))
    env.client.calls.clear()
    stats = env.tell(TradeEvent(
        trade_id=TradeId("t1"), status=TradeStatus.MATCHED, condition_id=CID, token_id=UP,
        side=Side.SELL, price_pips=4500, size_micro=5_000_000, taker_order_id=OrderHash("0x0"),
        trader_side="MAKER", owner="other",
        maker_fills=(MakerFill(order_id=oid, owner="self", token_id=UP, side=Side.BUY,
                               price_pips=4500, matched_size_micro=5_000_000),),
        ts_event_ms=1, ts_recv_ns=1))
    assert stats["fills"] == 1 and len(env.sink.of(OrderFilled)) == 1
    # half filled: outside the size tolerance → cancel the rest and post a full-size quote
    assert env.calls("cancel_orders", "post_orders") == ["cancel_orders", "post_orders"]


def test_removed_market_orders_are_canceled(env):
    env.start()
    env.desire([q(4500)])
    other = market_n(2)
    stats = env.tell(dataclasses.replace(make_markets_changed(other), removed=(CID,)))
    assert stats["open_orders"] == 0 and env.client.open == {}


def test_kill_switch_cancels_all_and_stops_posting(env):
    env.start()
    env.desire([q(4500)])
    stats = env.tell(KillSwitch(on=True, reason="operator", ts_recv_ns=1))
    assert env.client.count("cancel_all") == 1 and stats["open_orders"] == 0
    env.desire([q(4400)])
    env.housekeeping()
    assert env.client.count("post_orders") == 1
    env.tell(KillSwitch(on=False, reason="operator", ts_recv_ns=2))
    assert env.client.count("post_orders") == 2


def test_cancel_all_halt(env):
    env.start()
    env.desire([q(4500)])
    stats = env.tell(CancelAll(reason="test", halt=True))
    assert stats["halted"] and env.client.open == {}
    env.housekeeping()
    assert env.client.count("post_orders") == 1


def test_risk_limits_drop_posts(env):
    env.start(limits=RiskLimits(max_open_orders_per_market=1))
    stats = env.desire([q(4500), q(4000, DOWN)])
    assert stats["open_orders"] == 1 and stats["rejects"] == {"risk": 1}
    assert env.sink.of(OrderRejected)[0].reason is RejectReason.RISK


def test_shutdown_cancels_all_and_reports_zero_open(env):
    env.start()
    env.desire([q(4500), q(4000, DOWN)])
    result = env.proxy.shutdown().get(timeout=TIMEOUT)
    assert result["open_orders_after_shutdown"] == 0
    assert result["stats"]["orders_posted"] == 2 and result["stats"]["open_orders"] == 0
    assert env.client.count("cancel_all") == 1
    env.desire([q(4400)])
    assert env.client.count("post_orders") == 1


def _unknown_post(env: Env, *, placed: bool) -> str:
    env.client.post_errors = [OutcomeUnknown("read timed out")]
    env.client.place_on_error = placed
    stats = env.desire([q(4500)])
    assert stats["unknown_outcome"] == 1
    return str(env.log.ops("post")[0]["orders"][0]["id"])


def test_shutdown_settles_an_unknown_post_that_rested_and_was_canceled(env):
    env.start()
    oid = _unknown_post(env, placed=True)
    result = env.proxy.shutdown().get(timeout=TIMEOUT)
    stats = result["stats"]
    assert result["open_orders_after_shutdown"] == 0
    # The cancel-all reply names it: that settles it, no look-up needed.
    assert env.client.orders[oid]["status"] == "CANCELED"
    assert stats["unknown_outcome"] == 0 and stats["unknown_resolved"] == 1


def test_shutdown_cancels_an_unknown_post_that_lands_after_the_cancel_all(env):
    env.start()
    oid = _unknown_post(env, placed=False)
    late_env = env.client.posted_bodies[0][0]
    real_cancel_all = env.client.cancel_all

    def cancel_all_then_land() -> dict[str, Any]:
        reply = real_cancel_all()
        with env.client._lock:  # the POST the venue was still processing lands now
            _, doc = env.client._place(late_env)
            env.client.orders[oid] = env.client.open[oid] = doc
        return reply

    env.client.cancel_all = cancel_all_then_land  # type: ignore[method-assign]
    result = env.proxy.shutdown().get(timeout=TIMEOUT)
    assert env.client.open == {}
    assert ("cancel_orders", [oid]) in env.client.calls
    assert result["open_orders_after_shutdown"] == 0
    assert result["stats"]["unknown_outcome"] == 0


def test_shutdown_concludes_not_placed_once_the_resolve_window_has_passed(env):
    class Ticking(Clock):
        def __call__(self) -> float:
            self.t += 1.0
            return self.t

    env.clock = Ticking()
    env.start(params=OrderParams(resolve_timeout_s=0.5))
    oid = _unknown_post(env, placed=False)
    result = env.proxy.shutdown().get(timeout=TIMEOUT)
    assert ("get_order", oid) in env.client.calls
    assert result["stats"]["unknown_outcome"] == 0 and result["stats"]["unknown_resolved"] == 1


def test_shutdown_reports_an_outcome_it_could_not_settle(env):
    env.start(params=OrderParams(resolve_timeout_s=0.5))
    oid = _unknown_post(env, placed=False)

    def failing_lookup(order_id: str) -> None:
        env.client.calls.append(("get_order", order_id))
        raise ServerError("Internal Server Error", status=500)

    env.client.get_order = failing_lookup  # type: ignore[method-assign]
    result = env.proxy.shutdown().get(timeout=TIMEOUT)  # bounded: 0.5 s window + 1 s
    assert result["open_orders_after_shutdown"] == 0
    assert env.client.count("get_order") >= 1
    assert result["stats"]["unknown_outcome"] == 1 and result["stats"]["unknown_resolved"] == 0
    assert env.client.calls[-1][0] == "open_orders"
    assert oid  # the order is reported, never re-sent
    assert env.client.count("post_orders") == 1


def test_on_failure_cancels_all(env):
    env.start()
    env.desire([q(4500)])
    canceled = threading.Event()
    original = env.client.cancel_all

    def cancel_all() -> dict[str, Any]:
        result = original()
        canceled.set()
        return result

    def broken(market: str | None = None) -> list[dict[str, Any]]:
        raise RuntimeError("bug in a handler")

    env.client.cancel_all = cancel_all
    env.client.open_orders = broken
    env.ref.tell(FeedStatus(feed="user", connected=True, reason="resync", ts_recv_ns=1))
    assert canceled.wait(TIMEOUT)
    assert env.ref.actor_stopped.wait(TIMEOUT)
    assert env.client.open == {}


def test_metrics_are_in_the_table_and_tick_to_order_is_measured(env):
    env.start()
    env.desire([q(4500)], cause_recv_ns=1)
    env.housekeeping()
    names = {t[0] for t in env.metrics.timings} | {k[0] for k in env.metrics.counts} | {
        k[0] for k in env.metrics.gauges}
    assert names <= set(BY_NAME)
    for name in ("orders.diff_ms", "orders.sign_ms", "orders.order_submit_latency_ms",
                 "orders.tick_to_order_ms", "orders.batch_size", "orders.heartbeat_ms"):
        assert name in names
    assert env.metrics.count("orders.posted") == 1


def test_timers_drive_heartbeats_and_stop_with_the_actor(env):
    env.start(params=OrderParams(heartbeat_interval_s=1.0), timers=True)
    sent = threading.Event()
    original = env.client.heartbeat

    def heartbeat(hid: str) -> str:
        result = original(hid)
        if env.client.count("heartbeat") >= 2:
            sent.set()
        return result

    env.client.heartbeat = heartbeat
    assert sent.wait(TIMEOUT)  # the first after start-up, the second from the timer
    env.ref.stop(timeout=TIMEOUT)
    assert not [t for t in threading.enumerate() if t.name.startswith("Timer-") and
                t.is_alive() and t.name in ("Timer-heartbeat", "Timer-orders")]


def test_connect_failure_is_retried_after_backoff(env):
    env.start()
    env.client.post_errors = [NotSent("connection refused")]
    stats = env.desire([q(4500)])
    assert stats["open_orders"] == 0 and stats["rejects"] == {"server": 1}
    env.clock.t += 1.0
    stats = env.housekeeping()
    assert env.client.count("post_orders") == 2 and stats["open_orders"] == 1


def test_notional_limit_counts_what_the_positions_cost_and_replays(env):
    """$10 of notional: 10 Up bought at 0.49 leave $5.10 for open BUYs, so a 20-share bid at
    0.45 ($9.00) is trimmed to 11.33 shares; the recorded risk inputs replay to the same."""
    env.start(limits=RiskLimits(max_open_orders_per_market=100, max_position_shares=10_000,
                                max_notional_usd=10))
    env.tell(TradeEvent(
        trade_id=TradeId("t-cost"), status=TradeStatus.CONFIRMED, condition_id=CID,
        token_id=UP, side=Side.SELL, price_pips=4900, size_micro=10_000_000,
        taker_order_id=OrderHash("0x0"), trader_side="MAKER", owner="other",
        maker_fills=(MakerFill(order_id=OrderHash("0x" + "99" * 32), owner="self",
                               token_id=UP, side=Side.BUY, price_pips=4900,
                               matched_size_micro=10_000_000),),
        ts_event_ms=1, ts_recv_ns=1))
    env.desire([q(4500, size=20_000_000)])
    (body,) = env.client.posted_bodies
    assert body[0]["order"]["makerAmount"] == "5098500"  # 11.33 shares at 0.45
    (rec,) = env.log.ops("risk")
    assert rec["position_cost_micro"] == 4_900_000
    assert check_record(rec, OrderParams(), RiskLimits(
        max_open_orders_per_market=100, max_position_shares=10_000, max_notional_usd=10)) is None
