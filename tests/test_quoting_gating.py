"""trading.gating: every reason, and the order in which they are checked."""

from __future__ import annotations

from typing import Any

import pytest

from messages import GateReason
from tests.builders_quoting import (
    END_MS,
    NOW_MS,
    NOW_NS,
    START_MS,
    make_quote_params,
    make_ref,
    make_snapshot,
    make_view,
)
from trading.gating import gate

STALE_REF = dict(binance_recv_ns=NOW_NS - 6_000_000_000, chainlink_recv_ns=0,
                 twap_recv_ns=NOW_NS - 6_000_000_000)


def _gate(snap: dict[str, Any] | None = None, view: dict[str, Any] | None = None,
          ref: dict[str, Any] | None = None, no_ref: bool = False,
          params: dict[str, Any] | None = None) -> GateReason:
    # Feeds are fresh relative to the snapshot's clock unless the case says otherwise.
    now_ns = (snap or {}).get("now_ms", NOW_MS) * 1_000_000
    v = make_view(**{"book_recv_ns": now_ns - 1_000_000_000, **(view or {})})
    fresh = {f"{k}_recv_ns": now_ns for k in ("binance", "chainlink", "twap")}
    r = None if no_ref else make_ref(**{**fresh, **(ref or {})})
    s = make_snapshot(markets=(v,), **(snap or {}))
    return gate(v, r, s, make_quote_params(**(params or {})))


# One row per reason: the smallest change from the default (quoting) world that triggers it.
CASES: list[tuple[str, dict[str, Any], GateReason]] = [
    ("default", {}, GateReason.NONE),
    ("kill", {"snap": {"kill_switch": True}}, GateReason.KILL_SWITCH),
    ("user down", {"snap": {"user_feed_up": False}}, GateReason.USER_FEED_DOWN),
    ("market down", {"snap": {"market_feed_up": False}}, GateReason.MARKET_FEED_DOWN),
    ("tick none", {"view": {"tick_pips": None}}, GateReason.TICK_UNKNOWN),
    ("tick zero", {"view": {"tick_pips": 0}}, GateReason.TICK_UNKNOWN),
    ("not accepting", {"view": {"market_accepting_orders": False}}, GateReason.NOT_ACCEPTING),
    ("before open, strike unknown",
     {"view": {"strike_e8": None}, "snap": {"now_ms": START_MS - 1}}, GateReason.NOT_STARTED),
    ("before open, strike known", {"snap": {"now_ms": START_MS - 60_000}}, GateReason.NONE),
    ("bands before open",
     {"view": {"market_strategy": "bands"}, "snap": {"now_ms": START_MS - 1}},
     GateReason.NOT_STARTED),
    ("strike unknown", {"view": {"strike_e8": None}}, GateReason.STRIKE_UNKNOWN),
    ("strike zero", {"view": {"strike_e8": 0}}, GateReason.STRIKE_UNKNOWN),
    ("bands needs no strike", {"view": {"market_strategy": "bands", "strike_e8": None},
                               "no_ref": True}, GateReason.NONE),
    ("44 s left", {"snap": {"now_ms": END_MS - 44_999}}, GateReason.NEAR_CLOSE),
    ("45 s left", {"snap": {"now_ms": END_MS - 45_000}}, GateReason.NONE),
    ("closed", {"snap": {"now_ms": END_MS + 1}}, GateReason.NEAR_CLOSE),
    ("custom cut-off", {"snap": {"now_ms": END_MS - 100_000},
                        "params": {"min_seconds_to_close": 120}}, GateReason.NEAR_CLOSE),
    ("no end known", {"view": {"market_end_ms": 0}}, GateReason.NONE),
    ("book not synced", {"view": {"book_synced": False}}, GateReason.BOOK_RESYNC),
    ("book never seen", {"view": {"book_synced": False, "book_recv_ns": 0}},
     GateReason.BOOK_RESYNC),
    ("book stale", {"view": {"book_recv_ns": NOW_NS - 60_001_000_000}}, GateReason.BOOK_STALE),
    ("book at the limit", {"view": {"book_recv_ns": NOW_NS - 60_000_000_000}}, GateReason.NONE),
    ("book stale, custom", {"view": {"book_recv_ns": NOW_NS - 2_000_000_000},
                            "params": {"book_stale_ms": 1000}}, GateReason.BOOK_STALE),
    ("ref stale", {"ref": STALE_REF}, GateReason.REF_STALE),
    ("ref one stream fresh", {"ref": {**STALE_REF, "twap_recv_ns": NOW_NS}}, GateReason.NONE),
    ("no ref view", {"no_ref": True}, GateReason.REF_STALE),
    ("price feed down", {"snap": {"price_feed_up": False}}, GateReason.REF_STALE),
    ("bands ignores ref", {"view": {"market_strategy": "bands"}, "ref": STALE_REF,
                           "snap": {"price_feed_up": False}}, GateReason.NONE),
    ("bands near close", {"view": {"market_strategy": "bands"},
                          "snap": {"now_ms": END_MS - 1000}}, GateReason.NEAR_CLOSE),
]


@pytest.mark.parametrize(("name", "kw", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_reason(name: str, kw: dict[str, Any], expected: GateReason) -> None:
    assert _gate(**kw) is expected


def test_reasons_are_checked_in_the_documented_order() -> None:
    # Everything wrong at once; fixing the reported problem reveals the next in line.
    snap: dict[str, Any] = {"kill_switch": True, "user_feed_up": False, "market_feed_up": False,
                            "price_feed_up": False, "now_ms": START_MS - 1}
    view: dict[str, Any] = {"tick_pips": None, "market_accepting_orders": False,
                            "strike_e8": None, "book_synced": False, "book_recv_ns": 0,
                            "market_end_ms": START_MS + 30_000}
    fixes: list[tuple[GateReason, str, str, Any]] = [
        (GateReason.KILL_SWITCH, "snap", "kill_switch", False),
        (GateReason.USER_FEED_DOWN, "snap", "user_feed_up", True),
        (GateReason.MARKET_FEED_DOWN, "snap", "market_feed_up", True),
        (GateReason.TICK_UNKNOWN, "view", "tick_pips", 100),
        (GateReason.NOT_ACCEPTING, "view", "market_accepting_orders", True),
        (GateReason.NOT_STARTED, "snap", "now_ms", NOW_MS),
        (GateReason.STRIKE_UNKNOWN, "view", "strike_e8", 10**13),
        (GateReason.NEAR_CLOSE, "view", "market_end_ms", END_MS),
        (GateReason.BOOK_RESYNC, "view", "book_synced", True),
        (GateReason.BOOK_STALE, "view", "book_recv_ns", NOW_NS),
        (GateReason.REF_STALE, "snap", "price_feed_up", True),
    ]
    seen = []
    for reason, where, key, value in fixes:
        got = _gate(snap=snap, view=view)
        seen.append(got)
        assert got is reason, f"expected {reason}, got {got} (so far {seen})"
        (snap if where == "snap" else view)[key] = value
    assert _gate(snap=snap, view=view) is GateReason.NONE
