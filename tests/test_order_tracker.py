"""The pure order tracker: posts, unknown outcomes, cancels, feed events, reconciliation."""

from __future__ import annotations

from typing import Any

import pytest

from messages import (
    ConditionId,
    DesiredQuote,
    MakerFill,
    OrderEvent,
    OrderEventType,
    OrderHash,
    Side,
    TokenId,
    TradeEvent,
    TradeId,
    TradeStatus,
)
from trading.diff import LiveOrder
from trading.order_records import OPEN
from trading.order_tracker import OrderState, OrderTracker, RemoteOrder

CID = ConditionId("0x" + "ab" * 32)
UP = TokenId("1001")
H1 = OrderHash("0x" + "01" * 32)
H2 = OrderHash("0x" + "02" * 32)
STRAY = OrderHash("0x" + "99" * 32)
TIMEOUT_MS = 10_000


def quote(**over: Any) -> DesiredQuote:
    base: dict[str, Any] = dict(condition_id=CID, token_id=UP, side=Side.BUY, price_pips=4500,
                                size_micro=10_000_000)
    return DesiredQuote(**{**base, **over})


def order_event(order_id: str = H1, **over: Any) -> OrderEvent:
    base: dict[str, Any] = dict(order_id=OrderHash(order_id), condition_id=CID, token_id=UP,
                                side=Side.BUY, type=OrderEventType.PLACEMENT, status="LIVE",
                                price_pips=4500, original_size_micro=10_000_000,
                                size_matched_micro=0, owner="self", ts_event_ms=1, ts_recv_ns=1)
    return OrderEvent(**{**base, **over})


def maker_trade(order_id: str = H1, size: int = 4_000_000, status: TradeStatus =
                TradeStatus.MATCHED, trade_id: str = "t1", owner: str = "self") -> TradeEvent:
    return TradeEvent(
        trade_id=TradeId(trade_id), status=status, condition_id=CID, token_id=UP,
        side=Side.SELL, price_pips=4500, size_micro=size, taker_order_id=OrderHash("0xtaker"),
        trader_side="MAKER", owner="other",
        maker_fills=(MakerFill(order_id=OrderHash(order_id), owner=owner, token_id=UP,
                               side=Side.BUY, price_pips=4500, matched_size_micro=size),),
        ts_event_ms=1, ts_recv_ns=1)


def remote(order_id: str = H1, status: str = "LIVE", matched: int = 0) -> RemoteOrder:
    return RemoteOrder(order_id=OrderHash(order_id), condition_id=CID, token_id=UP,
                       side=Side.BUY, price_pips=4500, original_size_micro=10_000_000,
                       size_matched_micro=matched, status=status)


def tracker_with(state: str) -> OrderTracker:
    """A tracker holding H1 in a given state, reached through the public API at t=0."""
    t = OrderTracker(owner="self", resolve_timeout_ms=TIMEOUT_MS, check_interval_ms=1000)
    assert t.add_pending(H1, quote(), 0)
    if state == "unknown":
        t.post_unknown(H1, 0)
    elif state in ("live", "cancel_pending"):
        t.post_accepted(H1, "live", 0)
        if state == "cancel_pending":
            t.cancel_sent([H1], 0)
    return t


def state_of(t: OrderTracker, oid: str = H1) -> str:
    o = t.get(oid)
    return o.state.value if o else "gone"


def test_pending_counts_in_flight_and_open_size():
    t = tracker_with("pending")
    assert [q.price_pips for q in t.in_flight_posts()] == [4500]
    assert t.live_orders() == []
    assert t.open_size_micro(UP) == (10_000_000, 0)
    assert t.open_orders_per_market() == {CID: 1}


def test_same_hash_is_never_tracked_twice():
    t = tracker_with("live")
    assert not t.add_pending(H1, quote(), 1)
    assert t.duplicates_prevented == 1


@pytest.mark.parametrize(("status", "expected"), [("live", "live"), ("delayed", "live"),
                                                  ("unmatched", "live"), ("matched", "gone")])
def test_post_accepted(status, expected):
    t = tracker_with("pending")
    tr = t.post_accepted(H1, status, 5)
    assert tr is not None and tr.old is OrderState.PENDING_POST
    assert state_of(t) == expected


def test_post_rejected_is_final_but_duplicate_means_look_it_up():
    t = tracker_with("pending")
    t.post_rejected(H1, "crosses book", duplicate=False, now_ms=1)
    assert state_of(t) == "gone" and t.is_finished(H1)
    t2 = tracker_with("pending")
    t2.post_rejected(H1, "Duplicated", duplicate=True, now_ms=1)
    assert state_of(t2) == "unknown"
    assert t2.duplicates_reported == 1
    assert t2.due_checks(1) == [H1]


# Timeout → UNKNOWN → resolved: (how, at ms, expected state, counts as resolved)
RESOLUTIONS = [
    ("event_placement", 500, "live", True),
    ("event_cancellation", 500, "gone", True),
    ("lookup_live", 1000, "live", True),
    ("lookup_matched", 1000, "gone", True),
    ("lookup_none_early", 1000, "unknown", False),
    ("lookup_none_at_timeout", TIMEOUT_MS, "gone", True),
    ("reconcile_open", 500, "live", True),
    ("reconcile_absent", 500, "unknown", False),
    ("fill", 500, "partial", True),
]


@pytest.mark.parametrize(("how", "at", "expected", "resolved"), RESOLUTIONS)
def test_unknown_resolution(how, at, expected, resolved):
    t = tracker_with("unknown")
    assert t.in_flight_posts(), "an UNKNOWN order counts as in flight: nothing re-posted"
    if how == "event_placement":
        t.on_order_event(order_event(), at)
    elif how == "event_cancellation":
        t.on_order_event(order_event(type=OrderEventType.CANCELLATION, status="CANCELED"), at)
    elif how == "lookup_live":
        t.resolve(H1, remote(), at)
    elif how == "lookup_matched":
        t.resolve(H1, remote(status="MATCHED", matched=10_000_000), at)
    elif how.startswith("lookup_none"):
        t.resolve(H1, None, at)
    elif how == "reconcile_open":
        assert t.reconcile([remote()], at).strays == ()
    elif how == "reconcile_absent":
        t.reconcile([], at)
    elif how == "fill":
        t.on_trade_event(maker_trade(), at)
    assert state_of(t) == expected
    assert t.unknown_resolved == (1 if resolved else 0)


def test_unknown_lookup_schedule():
    t = tracker_with("unknown")
    assert t.due_checks(999) == []
    assert t.due_checks(1000) == [H1]
    t.resolve(H1, None, 1000)  # not found yet: look again later, do not conclude
    assert t.due_checks(1500) == []
    assert t.due_checks(2000) == [H1]
    t.check_failed(H1, 2000)
    assert t.due_checks(2500) == []


def test_not_placed_order_that_shows_up_later_is_a_stray():
    t = tracker_with("unknown")
    t.resolve(H1, None, TIMEOUT_MS)
    tr, stray = t.on_order_event(order_event(), TIMEOUT_MS + 1)
    assert tr is None and stray


def test_cancel_flow_confirmed_by_reply():
    t = tracker_with("live")
    t.cancel_sent([H1], 10)
    assert t.pending_cancels() == {H1}
    assert [o.order_id for o in t.live_orders()] == [H1]  # still resting until confirmed
    trs = t.cancel_reply([H1], {}, 20)
    assert [tr.new for tr in trs] == [OrderState.CANCELED]
    assert state_of(t) == "gone"


@pytest.mark.parametrize(("why", "expected"), [
    ("order can't be found - already canceled or matched", "gone"),
    ("market is paused", "live"),
])
def test_not_canceled_reasons(why, expected):
    t = tracker_with("cancel_pending")
    t.cancel_reply([], {H1: why}, 5)
    assert state_of(t) == expected


def test_cancel_refused_reverts_and_timed_out_cancel_is_looked_up():
    t = tracker_with("cancel_pending")
    t.cancel_failed([H1])
    assert state_of(t) == "live"
    t.cancel_sent([H1], 100)
    assert t.due_checks(100 + TIMEOUT_MS - 1) == []
    assert t.due_checks(100 + TIMEOUT_MS) == [H1]
    t.resolve(H1, remote(), 100 + TIMEOUT_MS)  # still live at the venue: cancel again
    assert state_of(t) == "live"


def test_order_event_does_not_undo_a_pending_cancel():
    t = tracker_with("cancel_pending")
    t.on_order_event(order_event(type=OrderEventType.UPDATE, size_matched_micro=2_000_000), 5)
    o = t.get(H1)
    assert o is not None and o.state is OrderState.CANCEL_PENDING and o.matched_micro == 2_000_000


def test_partial_fills_then_filled_and_positions():
    t = tracker_with("live")
    change, _ = t.on_trade_event(maker_trade(size=4_000_000), 1)
    assert [f.size_micro for f in change.added] == [4_000_000]
    assert state_of(t) == "partial"
    assert t.live_orders()[0].size_micro == 6_000_000  # the diff sees what remains
    again, _ = t.on_trade_event(maker_trade(size=4_000_000, status=TradeStatus.MINED), 2)
    assert again.added == () and t.fills == 1  # a later status of the same trade: no new fill
    t.on_trade_event(maker_trade(size=6_000_000, trade_id="t2"), 3)
    assert state_of(t) == "gone" and t.fills == 2
    assert t.positions() == {UP: 10_000_000}


def fresh_views(t: OrderTracker) -> list[LiveOrder]:
    """What ``live_orders`` must return: views built now from the tracker's records."""
    return [LiveOrder(order_id=o.order_id, condition_id=o.condition_id, token_id=o.token_id,
                      side=o.side, price_pips=o.price_pips, size_micro=o.remaining_micro,
                      placed_ms=o.placed_ms)
            for o in t.orders() if o.state in OPEN and o.remaining_micro > 0]


def test_live_orders_follow_every_change_of_a_kept_view():
    # live_orders keeps one view per order between calls: each must still show what the
    # diff needs now (remaining size, acknowledgement time), and a finished order's view
    # must go with it, or a long run would keep one per order it ever placed.
    t = tracker_with("live")
    first = t.live_orders()
    assert first == fresh_views(t) and first[0] is t.live_orders()[0]  # kept, not rebuilt
    steps = [
        lambda: t.on_order_event(order_event(type=OrderEventType.UPDATE), 1),  # placed_ms 0 → 1
        lambda: t.on_trade_event(maker_trade(size=4_000_000), 1),  # a partial fill
        lambda: t.cancel_sent([H1], 2),  # canceling: still resting
        lambda: t.cancel_failed([H1]),
        lambda: t.add_pending(H2, quote(price_pips=4400), 3),
        lambda: t.post_accepted(H2, "live", 7),  # acknowledged: placed_ms set
        lambda: t.on_order_event(order_event(H2, price_pips=4400, size_matched_micro=1_000_000,
                                             type=OrderEventType.UPDATE), 8),
        lambda: t.on_trade_event(maker_trade(size=6_000_000, trade_id="t2"), 9),  # H1 filled
        lambda: t.cancel_sent([H2], 10),
        lambda: t.cancel_reply([H2], {}, 11),
    ]
    seen = []
    for step in steps:
        step()
        assert t.live_orders() == fresh_views(t)
        seen.append([(o.order_id, o.size_micro, o.placed_ms) for o in t.live_orders()])
    assert seen[0] == [(H1, 10_000_000, 1)] and seen[1] == [(H1, 6_000_000, 1)]
    assert seen[5][1] == (H2, 10_000_000, 7)  # they moved
    assert seen[-1] == [] and not t._views  # both finished: no view left behind


def test_failed_trade_reverses_position_and_others_fills_ignored():
    t = tracker_with("live")
    t.on_trade_event(maker_trade(size=4_000_000), 1)
    t.on_trade_event(maker_trade(size=3_000_000, trade_id="t9", owner="other"), 1)
    change, _ = t.on_trade_event(maker_trade(size=4_000_000, status=TradeStatus.FAILED), 2)
    assert [f.size_micro for f in change.undone] == [4_000_000] and change.added == ()
    assert t.positions() == {UP: 0}


def test_order_update_sets_matched_and_fill():
    t = tracker_with("live")
    t.on_order_event(order_event(type=OrderEventType.UPDATE, size_matched_micro=10_000_000,
                                 status="MATCHED"), 1)
    assert state_of(t) == "gone"


def test_reconcile_finds_strays_and_gone_orders():
    t = tracker_with("live")
    assert t.add_pending(H2, quote(price_pips=4400), 0)  # in flight: absent there, kept
    res = t.reconcile([remote(STRAY)], 50)
    assert res.strays == (STRAY,)
    assert [tr.new for tr in res.transitions] == [OrderState.CANCELED]  # H1 is gone
    assert state_of(t, H2) == "pending_post"
    assert t.unknown_orders == 1
    t.reconcile([remote(STRAY)], 60)
    assert t.unknown_orders == 1  # the same stray is counted once
    _, stray = t.on_order_event(order_event(STRAY), 61)
    assert stray and t.unknown_orders == 1


def test_reconcile_restores_a_cancel_that_did_not_happen():
    t = tracker_with("cancel_pending")
    t.reconcile([remote(matched=1_000_000)], 5)
    o = t.get(H1)
    assert o is not None and o.state is OrderState.PARTIAL and o.remaining_micro == 9_000_000


def test_late_events_for_finished_orders_are_not_strays():
    t = tracker_with("live")
    t.cancel_reply([H1], {}, 1)
    tr, stray = t.on_order_event(order_event(type=OrderEventType.CANCELLATION,
                                             status="CANCELED"), 2)
    assert tr is None and not stray
    assert t.unknown_orders == 0


def test_counts():
    t = tracker_with("unknown")
    c = t.counts()
    assert c["unknown"] == 1 and c["live"] == 0


def test_moved_is_replace_over_every_field():
    import dataclasses

    from trading.order_records import OrderState, TrackedOrder, moved

    ints = [f.name for f in dataclasses.fields(TrackedOrder)
            if f.type in ("int", int) and f.name not in ("price_pips", "size_micro")]
    base = TrackedOrder(order_id="0x" + "1" * 64, condition_id="0x" + "2" * 64, token_id="7",
                        side=Side.SELL, price_pips=4100, size_micro=9_000_000,
                        state=OrderState.LIVE, sent_ms=11, matched_micro=12, placed_ms=13,
                        cancel_ms=14, unknown_ms=15, next_check_ms=16)
    for state in OrderState:
        assert moved(base, state, {}) == dataclasses.replace(base, state=state)
        for i, name in enumerate(ints):
            changes = {name: 1000 + i}
            assert moved(base, state, changes) == dataclasses.replace(base, state=state,
                                                                      **changes), name
    assert len(ints) == 6, ints  # a new field: copy it in ``moved`` too
