"""The OrderManager's pipelined replace (``order_manager.pipeline_replace``).

A re-price writes its cancels, posts the replacements before reading the cancels' reply, and
reads the reply afterwards. The fake client acts on a cancel when it is written
(``begin_cancel_orders``) and hands the reply over at ``finish_cancel_orders``, so the call
order in ``client.calls`` is the order on the wire.
"""

from __future__ import annotations

from messages import DesiredQuote, OrderCanceled, OrderRejected, Side
from messages.errors import NotSent, OutcomeUnknown
from tests.om_env import CID, DOWN, UP, Env, q
from tests.om_env import env as env  # the fixture
from trading.order_replay import check_record
from trading.params import OrderParams, RiskLimits

WIRE = ("cancel_orders", "post_orders", "finish_cancel_orders")


def ask(price: int) -> DesiredQuote:
    return DesiredQuote(condition_id=CID, token_id=UP, side=Side.SELL, price_pips=price,
                        size_micro=10_000_000)


def _reprice(env: Env) -> dict:
    env.desire([q(4500), q(5000, DOWN)])
    env.client.calls.clear()
    return env.desire([q(4000), q(5000, DOWN)])  # Up re-priced beyond tolerance


ON = OrderParams(pipeline_replace=True)


def test_replacement_is_posted_before_the_cancel_reply_is_read(env: Env) -> None:
    env.start(params=ON)
    stats = _reprice(env)
    assert env.calls(*WIRE) == ["cancel_orders", "post_orders", "finish_cancel_orders"]
    assert stats["orders_canceled"] == 1 and stats["open_orders"] == 2
    assert len(env.sink.of(OrderCanceled)) == 1
    # One diff decided both the cancel and the replacement; its record says which rule it
    # used and replays to the same calls.
    rec = env.log.ops("pass")[-1]
    assert rec["post_behind"] is True and len(rec["cancels"]) == 1 and len(rec["posts"]) == 1
    assert check_record(rec, ON, RiskLimits()) is None
    assert env.metrics.count("orders.replace_waits") == 0


def test_off_the_replacement_waits_for_the_cancel_reply(env: Env) -> None:
    env.start()  # the default
    stats = _reprice(env)
    # The reply is read before the replacement is posted.
    assert env.calls(*WIRE) == ["cancel_orders", "finish_cancel_orders", "post_orders"]
    assert stats["orders_canceled"] == 1 and stats["open_orders"] == 2


def test_risk_counts_the_canceling_order_and_the_trimmed_post_waits(env: Env) -> None:
    # Room for two orders: Up + Down rest; the Up replacement fits only once the old Up is gone.
    env.start(params=ON, limits=RiskLimits(max_open_orders_per_market=2, max_position_shares=10_000,
                                max_notional_usd=100_000))
    stats = _reprice(env)
    assert env.calls(*WIRE) == ["cancel_orders", "finish_cancel_orders", "post_orders"]
    assert stats["open_orders"] == 2
    assert env.metrics.count("orders.replace_waits") == 1
    assert not env.sink.of(OrderRejected)  # waited, not refused
    risk = env.log.ops("risk")
    assert risk[-2]["dropped"] and risk[-1]["accepted"] and not risk[-1]["dropped"]


def test_a_post_that_could_trade_with_a_canceling_order_waits(env: Env) -> None:
    env.start(params=ON)
    env.desire([q(4500), ask(5200)])
    env.client.calls.clear()
    stats = env.desire([q(5300), ask(5600)])  # the new bid is above our canceling ask
    # Both old orders are canceled in one request; the new ask goes at once, the bid after.
    assert env.calls(*WIRE) == ["cancel_orders", "post_orders", "finish_cancel_orders",
                                "post_orders"]
    assert [len(b) for b in env.client.posted_bodies[-2:]] == [1, 1]
    assert env.client.posted_bodies[-2][0]["order"]["side"] == "SELL"
    assert stats["open_orders"] == 2 and stats["orders_canceled"] == 2


def test_cancel_without_a_reply_leaves_the_order_canceling(env: Env) -> None:
    env.start(params=ON)
    env.desire([q(4500)])
    env.client.cancel_errors.append(OutcomeUnknown("DELETE /orders: timed out"))
    stats = env.desire([q(4000)])
    # The replacement went out; the old order is neither live nor forgotten.
    assert env.calls(*WIRE)[-3:] == ["cancel_orders", "post_orders", "finish_cancel_orders"]
    assert stats["open_orders"] == 2
    assert not env.sink.of(OrderCanceled)


def test_cancel_refused_before_sending_falls_back_to_a_normal_pass(env: Env) -> None:
    env.start(params=ON)
    env.desire([q(4500)])
    env.client.calls.clear()
    env.client.cancel_errors.append(NotSent("DELETE /orders: not sent: refused"))
    stats = env.desire([q(4000)])
    # Nothing in flight: the old order still rests (a refusal), the new one is posted as
    # without pipelining; the next pass cancels the old one.
    assert env.calls(*WIRE) == ["cancel_orders", "post_orders"]
    assert stats["open_orders"] == 2
