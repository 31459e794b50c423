"""trading.diff: tolerances, cancels, waiting on unconfirmed cancels, in-flight posts, batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import pytest

from messages import DesiredQuote, OrderHash, Side
from tests.builders_quoting import (
    CID,
    CID2,
    DOWN,
    UP,
    UP2,
    make_limits,
    make_live,
    make_order_params,
    make_quote,
)
from trading.diff import DiffResult, LiveOrder, batches, crosses, diff_orders
from trading.order_replay import check_record, diff_record

TICKS = {UP: 100, DOWN: 100, UP2: 10}


def _diff(desired: Sequence[DesiredQuote], live: Sequence[LiveOrder] = (),
          pending: Sequence[str] = (), in_flight: Sequence[DesiredQuote] = (),
          managed: Sequence[str] = (CID,), behind: bool = False, **params: Any) -> DiffResult:
    return diff_orders(desired, live, [OrderHash(p) for p in pending], in_flight,
                       make_order_params(**params), managed, TICKS,  # type: ignore[arg-type]
                       post_behind_cancels=behind)


# (name, live overrides, order params, kept?) against desired Up BUY 10 @ 0.48.
TOLERANCE: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    ("identical", {}, {}, True),
    ("one tick lower", {"price_pips": 4700}, {}, True),
    ("one tick higher", {"price_pips": 4900}, {}, True),
    ("two ticks off", {"price_pips": 4600}, {}, False),
    ("two ticks, reprice_ticks=2", {"price_pips": 4600}, {"reprice_ticks": 2}, True),
    ("any move, reprice_ticks=0", {"price_pips": 4790}, {"reprice_ticks": 0}, False),
    ("size -20%", {"size_micro": 8_000_000}, {}, True),
    ("size +20%", {"size_micro": 12_000_000}, {}, True),
    ("size -20.01%", {"size_micro": 7_990_000}, {}, False),
    ("mostly filled", {"size_micro": 2_000_000}, {}, False),
    ("size -50%, resize_frac=0.5", {"size_micro": 5_000_000}, {"resize_frac": 0.5}, True),
    ("other side", {"side": Side.SELL}, {}, False),
    ("other token", {"token_id": DOWN}, {}, False),
]


@pytest.mark.parametrize(("name", "live", "params", "kept"), TOLERANCE,
                         ids=[t[0] for t in TOLERANCE])
def test_tolerance(name: str, live: dict[str, Any], params: dict[str, Any], kept: bool) -> None:
    want = make_quote()
    result = _diff([want], [make_live("0xaa", **live)], **params)
    if kept:
        assert result == DiffResult(cancels=(), posts=(), kept=1)
    else:
        assert result == DiffResult(cancels=(OrderHash("0xaa"),), posts=(want,))


def test_tolerance_uses_the_tokens_live_tick() -> None:
    # UP2's tick is 0.001: 0.01 away is ten ticks, so the order is repriced.
    want = make_quote(token_id=UP2, condition_id=CID2, price_pips=4800)
    live = make_live("0xaa", token_id=UP2, condition_id=CID2, price_pips=4900)
    assert _diff([want], [live], managed=(CID2,)).posts == (want,)
    assert _diff([want], [make_live("0xbb", token_id=UP2, condition_id=CID2, price_pips=4790)],
                 managed=(CID2,)).kept == 1


def test_unknown_tick_requires_an_exact_price() -> None:
    want = make_quote(token_id="9999")
    assert _diff([want], [make_live("0xaa", token_id="9999", price_pips=4810)]).posts == (want,)
    assert _diff([want], [make_live("0xaa", token_id="9999")]).kept == 1


def test_undesired_orders_of_managed_markets_are_canceled() -> None:
    result = _diff([], [make_live("0x02"), make_live("0x01", token_id=DOWN)])
    assert result == DiffResult(cancels=(OrderHash("0x01"), OrderHash("0x02")), posts=())


def test_orders_of_unmanaged_markets_are_canceled() -> None:
    # The market expired: its quote is no longer desired and it is not managed any more.
    stale = make_live("0x0c", condition_id=CID2, token_id=UP2)
    want = make_quote()
    result = _diff([want], [make_live("0x0a"), stale])
    assert result == DiffResult(cancels=(OrderHash("0x0c"),), posts=(), kept=1)
    # Even one that happens to match a desired quote exactly.
    assert _diff([make_quote(condition_id=CID2, token_id=UP2)], [stale]).cancels == (
        OrderHash("0x0c"),)


def test_duplicates_on_one_level_keep_the_closest() -> None:
    want = make_quote()
    live = [make_live("0x01", price_pips=4700), make_live("0x02"),
            make_live("0x03", price_pips=4900)]
    result = _diff([want], live)
    assert result == DiffResult(cancels=(OrderHash("0x01"), OrderHash("0x03")), posts=(),
                                kept=1)


def test_equal_candidates_keep_the_oldest() -> None:
    live = [make_live("0x01", placed_ms=2000), make_live("0x02", placed_ms=1000)]
    assert _diff([make_quote()], live).cancels == (OrderHash("0x01"),)


def test_reprice_cancels_and_posts() -> None:
    want = make_quote(price_pips=4500)
    result = _diff([want], [make_live("0x01")])
    assert result == DiffResult(cancels=(OrderHash("0x01"),), posts=(want,))


def test_no_post_while_a_cancel_on_the_level_is_unconfirmed() -> None:
    want = make_quote(price_pips=4500)
    live = [make_live("0x01"), make_live("0x02", token_id=DOWN)]
    result = _diff([want, make_quote(token_id=DOWN, price_pips=4000)], live,
                   pending=["0x01"])
    # 0x01 is not canceled twice; the Up post waits; the Down level is free: cancel/replace.
    assert result == DiffResult(cancels=(OrderHash("0x02"),),
                                posts=(make_quote(token_id=DOWN, price_pips=4000),), waiting=1)


def test_pending_cancel_does_not_satisfy_a_desired_quote() -> None:
    result = _diff([make_quote()], [make_live("0x01")], pending=["0x01"])
    assert result == DiffResult(cancels=(), posts=(), waiting=1)
    # Once the cancel is confirmed (the order left ``live``), the quote is posted.
    assert _diff([make_quote()], []).posts == (make_quote(),)


def test_post_behind_cancels_posts_the_replacement_at_once() -> None:
    want = make_quote(price_pips=4500)
    live = [make_live("0x01"), make_live("0x02", token_id=DOWN)]
    result = _diff([want, make_quote(token_id=DOWN, price_pips=4000)], live,
                   pending=["0x01"], behind=True)
    # 0x01 is still not canceled twice nor counted as resting, but its level is posted.
    assert result == DiffResult(cancels=(OrderHash("0x02"),),
                                posts=(want, make_quote(token_id=DOWN, price_pips=4000)))


# (name, canceling order, post, crosses?): Up and Down are the two outcomes of CID.
CROSSES: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    ("same token, BUY below our SELL", {"side": Side.SELL, "price_pips": 5200},
     {"price_pips": 5100}, False),
    ("same token, BUY at our SELL", {"side": Side.SELL, "price_pips": 5200},
     {"price_pips": 5200}, True),
    ("same token, SELL at or below our BUY", {"price_pips": 5000},
     {"side": Side.SELL, "price_pips": 5000}, True),
    ("same token, same side", {"price_pips": 5000}, {"price_pips": 6000}, False),
    ("other outcome, BUYs adding to 1.00", {"token_id": DOWN, "price_pips": 4800},
     {"price_pips": 5200}, True),
    ("other outcome, BUYs adding to 0.99", {"token_id": DOWN, "price_pips": 4800},
     {"price_pips": 5100}, False),
    ("other outcome, SELLs adding to 1.00", {"token_id": DOWN, "side": Side.SELL,
                                             "price_pips": 4800},
     {"side": Side.SELL, "price_pips": 5200}, True),
    ("other outcome, SELLs adding to 1.01", {"token_id": DOWN, "side": Side.SELL,
                                             "price_pips": 4800},
     {"side": Side.SELL, "price_pips": 5300}, False),
    ("other outcome, opposite sides", {"token_id": DOWN, "price_pips": 9000},
     {"side": Side.SELL, "price_pips": 1000}, False),
    ("another market", {"condition_id": CID2, "side": Side.SELL, "price_pips": 100},
     {"price_pips": 9000}, False),
]


@pytest.mark.parametrize(("name", "order", "post", "expected"), CROSSES,
                         ids=[c[0] for c in CROSSES])
def test_crosses(name: str, order: dict[str, Any], post: dict[str, Any],
                 expected: bool) -> None:
    assert crosses(make_quote(**post), make_live("0x01", **order)) is expected


def test_post_behind_cancels_holds_a_post_that_could_trade_with_a_canceling_order() -> None:
    # The market jumped: our Up SELL at 0.52 is canceling and the new Up BUY is at 0.53.
    old_ask = make_live("0x01", side=Side.SELL, price_pips=5200)
    bid = make_quote(price_pips=5300)
    ask = make_quote(side=Side.SELL, price_pips=5500)
    result = _diff([bid, ask], [old_ask], pending=["0x01"], behind=True)
    assert result == DiffResult(cancels=(), posts=(ask,), waiting=1)
    # Once the cancel is confirmed, the bid goes too.
    assert _diff([bid, ask], [], behind=True).posts == (bid, ask)


def test_post_behind_is_recorded_and_replayed() -> None:
    args = ([make_quote(price_pips=4500)], [make_live("0x01")], {OrderHash("0x01")}, [],
            [CID], TICKS)
    params = make_order_params()
    for behind in (False, True):
        result = diff_orders(args[0], args[1], args[2], args[3], params, args[4], args[5],
                             post_behind_cancels=behind)
        rec = orjson.loads(orjson.dumps(diff_record(7, *args, result, post_behind=behind)))
        assert ("post_behind" in rec) is behind
        assert len(result.posts) == int(behind)
        assert check_record(rec, params, make_limits()) is None
        rec["post_behind"] = not behind  # replayed with the other rule, the outputs differ
        assert check_record(rec, params, make_limits()) is not None


def test_no_duplicate_post_for_an_in_flight_post() -> None:
    want = make_quote()
    assert _diff([want], in_flight=[want]) == DiffResult(cancels=(), posts=())
    # Within tolerance counts too; beyond it does not.
    assert _diff([want], in_flight=[make_quote(price_pips=4700)]).posts == ()
    assert _diff([want], in_flight=[make_quote(price_pips=4500)]).posts == (want,)


def test_one_in_flight_post_satisfies_one_quote() -> None:
    a, b = make_quote(price_pips=4800), make_quote(price_pips=4700)
    assert _diff([a, b], in_flight=[a]).posts == (b,)


def test_live_order_used_once() -> None:
    a, b = make_quote(price_pips=4800), make_quote(price_pips=4700)
    result = _diff([a, b], [make_live("0x01", price_pips=4800)])
    assert result == DiffResult(cancels=(), posts=(b,), kept=1)


def test_output_is_sorted_and_independent_of_input_order() -> None:
    desired = [make_quote(token_id=DOWN, price_pips=4100), make_quote(price_pips=4200),
               make_quote(condition_id=CID2, token_id=UP2, price_pips=3000)]
    live = [make_live(f"0x{i:02x}", price_pips=1000 + 100 * i) for i in (5, 3, 9, 1)]
    a = _diff(desired, live, managed=(CID, CID2))
    b = _diff(desired[::-1], live[::-1], managed=(CID2, CID))
    assert a == b
    assert list(a.cancels) == sorted(a.cancels)
    assert [q.token_id for q in a.posts] == [UP, DOWN, UP2]  # by (condition, token, ...)


@pytest.mark.parametrize(("n", "size", "lengths"), [
    (0, 15, []), (1, 15, [1]), (15, 15, [15]), (16, 15, [15, 1]), (31, 15, [15, 15, 1]),
    (5, 2, [2, 2, 1]),
])
def test_batches(n: int, size: int, lengths: list[int]) -> None:
    items = list(range(n))
    chunks = batches(items, size)
    assert [len(c) for c in chunks] == lengths
    assert [x for c in chunks for x in c] == items


def test_batches_default_is_the_venue_limit() -> None:
    assert [len(c) for c in batches(list(range(40)))] == [15, 15, 10]
    with pytest.raises(ValueError):
        batches([1], 0)


def test_a_full_refresh_is_cancels_then_posts_in_batches() -> None:
    # 20 stale orders, 20 new levels: all cancels (<= 15 per call) come before any post.
    live = [make_live(f"0x{i:02x}", price_pips=100 * (i + 1)) for i in range(20)]
    desired = [make_quote(token_id=f"{9000 + i}", price_pips=5000) for i in range(20)]
    result = _diff(desired, live)
    calls = [("cancel", b) for b in batches(result.cancels)] + [
        ("post", b) for b in batches(result.posts)]
    assert [(kind, len(b)) for kind, b in calls] == [
        ("cancel", 15), ("cancel", 5), ("post", 15), ("post", 5)]
