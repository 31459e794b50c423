"""trading.quoting.build_desired: strategy choice, gating, ordering, determinism."""

from __future__ import annotations

import pytest

from messages import GateReason, MarketView
from messages.errors import ConfigError
from tests.builders_quoting import (
    CID,
    CID2,
    DOWN,
    DOWN2,
    NOW_NS,
    UP,
    UP2,
    make_limits,
    make_quote_params,
    make_ref,
    make_snapshot,
    make_view,
)
from trading.quoting import build_desired


def _two_markets() -> tuple[MarketView, MarketView]:
    updown = make_view()
    bands = make_view(market_condition_id=CID2, market_token_ids=(UP2, DOWN2),
                      market_strategy="bands", market_asset="", market_slug="some-question",
                      strike_e8=None)
    return updown, bands


def test_each_market_gets_its_strategy() -> None:
    snap = make_snapshot(markets=_two_markets())
    out = build_desired(snap, make_quote_params(), make_limits())
    assert (out.seq, out.now_ms, out.cause_recv_ns) == (snap.seq, snap.now_ms, NOW_NS)
    assert [(d.condition_id, d.gate, d.fair_up_pips, d.half_spread_pips)
            for d in out.decisions] == [(CID, GateReason.NONE, 5000, 150),
                                        (CID2, GateReason.NONE, 5000, 200)]
    assert [(q.token_id, q.price_pips) for q in out.quotes] == [
        (UP, 4800), (DOWN, 4800), (UP2, 4800), (DOWN2, 4800)]


def test_gated_market_has_a_decision_and_no_quotes() -> None:
    _, bands = _two_markets()
    snap = make_snapshot(markets=(make_view(strike_e8=None), bands))
    out = build_desired(snap, make_quote_params(), make_limits())
    assert [d.gate for d in out.decisions] == [GateReason.STRIKE_UNKNOWN, GateReason.NONE]
    assert out.decisions[0].fair_up_pips is None
    assert {q.condition_id for q in out.quotes} == {CID2}


def test_kill_switch_gates_every_market() -> None:
    snap = make_snapshot(markets=_two_markets(), kill_switch=True)
    out = build_desired(snap, make_quote_params(), make_limits())
    assert out.quotes == ()
    assert [d.gate for d in out.decisions] == [GateReason.KILL_SWITCH] * 2


def test_reference_is_looked_up_by_asset() -> None:
    eth = make_view(market_asset="eth")
    snap = make_snapshot(markets=(eth,), refs=(make_ref(),))
    out = build_desired(snap, make_quote_params(), make_limits())
    assert out.decisions[0].gate is GateReason.REF_STALE
    snap = make_snapshot(markets=(eth,), refs=(make_ref(), make_ref(asset="eth")))
    assert build_desired(snap, make_quote_params(), make_limits()).decisions[0].gate \
        is GateReason.NONE


def test_updown_without_asset_is_ref_stale() -> None:
    snap = make_snapshot(markets=(make_view(market_asset=""),))
    out = build_desired(snap, make_quote_params(), make_limits())
    assert out.decisions[0].gate is GateReason.REF_STALE and out.quotes == ()


def test_same_snapshot_same_output() -> None:
    snap = make_snapshot(markets=_two_markets())
    params, limits = make_quote_params(), make_limits()
    assert build_desired(snap, params, limits) == build_desired(snap, params, limits)


def test_unknown_strategy_is_a_config_error() -> None:
    snap = make_snapshot(markets=(make_view(market_strategy="grid"),))
    with pytest.raises(ConfigError, match=r"btc-15m\.strategy"):
        build_desired(snap, make_quote_params(), make_limits())
