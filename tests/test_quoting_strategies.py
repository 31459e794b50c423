"""trading.strategy_updown and trading.strategy_bands: prices, rounding, skew, taper, no-cross."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages import GateReason, MarketView, Side
from tests.builders_quoting import (
    DOWN,
    END_MS,
    NOW_MS,
    PRICE_E8,
    UP,
    make_limits,
    make_quote_params,
    make_ref,
    make_view,
)
from trading.params import QuoteParams, RiskLimits
from trading.pricing import floor_to_tick, prob_up
from trading.strategy_bands import quote_bands
from trading.strategy_updown import fair_up_pips, quote_updown

USD = 100_000_000  # 1 USD in e8
TAU_S = (END_MS - NOW_MS) / 1000


def _updown(view: MarketView, params: QuoteParams | None = None,
            limits: RiskLimits | None = None,
            ref: dict[str, Any] | None = None) -> tuple[Any, dict[str, tuple[int, int]]]:
    decision, quotes = quote_updown(view, make_ref(**(ref or {})), NOW_MS,
                                    params or make_quote_params(), limits or make_limits())
    assert all(q.side is Side.BUY and q.condition_id == view.market.condition_id for q in quotes)
    names = {UP: "up", DOWN: "down"}
    return decision, {names[q.token_id]: (q.price_pips, q.size_micro) for q in quotes}


def _ref_at(s_e8: int) -> dict[str, int]:
    return {"binance_e8": s_e8, "chainlink_e8": s_e8, "twap_e8": s_e8}


def test_at_the_money_quotes_both_sides_symmetrically() -> None:
    decision, q = _updown(make_view())
    assert decision.gate is GateReason.NONE
    assert (decision.fair_up_pips, decision.half_spread_pips) == (5000, 150)
    assert q == {"up": (4800, 10_000_000), "down": (4800, 10_000_000)}


@pytest.mark.parametrize(("tick", "up", "down"), [
    (100, 4800, 4800), (10, 4850, 4850), (1, 4850, 4850), (100, 4800, 4800),
])
def test_tick_changes_regrid_the_quotes(tick: int, up: int, down: int) -> None:
    # 0.01 -> 0.001 -> 0.0001 -> 0.01: each tick gives prices on its own grid.
    _, q = _updown(make_view(tick_pips=tick))
    assert (q["up"][0], q["down"][0]) == (up, down)


@pytest.mark.parametrize("tick", [100, 10, 100])
def test_off_grid_fair_rounds_away_from_fair(tick: int) -> None:
    view = make_view(tick_pips=tick, up_ask_pips=None, down_ask_pips=None)
    decision, q = _updown(view, ref=_ref_at(PRICE_E8 + 37 * USD))
    fair = decision.fair_up_pips
    assert fair is not None and 5000 < fair < 9000
    assert q["up"][0] == floor_to_tick(fair - 150, tick)
    assert q["down"][0] == floor_to_tick(10_000 - fair - 150, tick)
    assert q["up"][0] < fair and q["down"][0] < 10_000 - fair
    assert q["up"][0] % tick == 0 and q["down"][0] % tick == 0


@pytest.mark.parametrize(("tick", "s_e8", "expected"), [
    # Near 1: fair = 1, Up at 1 - half rounded down; the Down target is negative, so no Down
    # quote rather than a BUY at the tick, above its target.
    (100, PRICE_E8 + 5000 * USD, {"up": 9800}),
    (10, PRICE_E8 + 5000 * USD, {"up": 9850}),
    # Near 0: the mirror image.
    (100, PRICE_E8 - 5000 * USD, {"down": 9800}),
    (10, PRICE_E8 - 5000 * USD, {"down": 9850}),
])
def test_extremes(tick: int, s_e8: int, expected: dict[str, int]) -> None:
    view = make_view(tick_pips=tick, up_ask_pips=None, down_ask_pips=None)
    _, q = _updown(view, ref=_ref_at(s_e8))
    assert {k: p for k, (p, _) in q.items()} == expected


@pytest.mark.parametrize("tick", [100, 10, 1])
def test_near_one_drops_the_down_leg_below_tick(tick: int) -> None:
    # fair ~ 0.99: the Down target (1 - fair - half) is below any tick, the Up leg rounds down.
    view = make_view(tick_pips=tick, up_ask_pips=None, down_ask_pips=None)
    s = PRICE_E8 + 1300 * USD
    fair = round(prob_up(s, PRICE_E8, 0.0002, TAU_S) * 10_000)
    assert 9850 < fair < 10_000
    decision, q = _updown(view, ref=_ref_at(s))
    assert decision.fair_up_pips == fair
    assert q["up"][0] == floor_to_tick(fair - 150, tick)
    assert "down" not in q


def test_up_is_capped_at_one_minus_tick() -> None:
    # Very short Up (long Down) with fair ~1: the skew pushes the Up target above 1 - tick.
    view = make_view(up_ask_pips=None, down_ask_pips=None, position_down_micro=40_000_000)
    params = make_quote_params(skew_pips_per_share=10.0)
    _, q = _updown(view, params, ref=_ref_at(PRICE_E8 + 5000 * USD))
    assert q["up"][0] == 9900
    view10 = make_view(tick_pips=10, up_ask_pips=None, down_ask_pips=None,
                       position_down_micro=40_000_000)
    _, q = _updown(view10, params, ref=_ref_at(PRICE_E8 + 5000 * USD))
    assert q["up"][0] == 9990


@pytest.mark.parametrize(("book", "tick", "up", "down"), [
    ({"up_ask_pips": 4800}, 100, 4700, 4800),   # at the ask -> one tick below
    ({"up_ask_pips": 4500}, 100, 4400, 4800),   # through the ask
    ({"up_ask_pips": 4800}, 10, 4790, 4850),
    ({"down_ask_pips": 4300}, 10, 4850, 4290),
    ({"up_ask_pips": 4855, "down_ask_pips": 4851}, 10, 4850, 4850),  # off-grid asks above
    ({"up_ask_pips": 4855}, 100, 4800, 4800),
    ({"up_ask_pips": 4850}, 10, 4840, 4850),
])
def test_never_crosses_the_book(book: dict[str, Any], tick: int, up: int, down: int) -> None:
    _, q = _updown(make_view(tick_pips=tick, **book))
    assert (q["up"][0], q["down"][0]) == (up, down)


def test_ask_at_minimum_price_drops_the_leg() -> None:
    _, q = _updown(make_view(up_ask_pips=100))
    assert "up" not in q and q["down"][0] == 4800


@pytest.mark.parametrize(("pos_up", "pos_down", "tick", "up", "down"), [
    (0, 0, 10, 4850, 4850),
    (10_000_000, 0, 10, 4830, 4870),    # long Up: Up lower, Down higher (2 pips/share)
    (0, 10_000_000, 10, 4870, 4830),    # long Down: the opposite
    (25_000_000, 5_000_000, 10, 4810, 4890),   # net +20 shares
    (7_250_000, 0, 1, 4836, 4864),      # 14.5 pips rounds to 14 (half to even)
    (7_250_000, 0, 10, 4830, 4860),     # then each leg rounds down onto the tick
])
def test_skew_direction(pos_up: int, pos_down: int, tick: int, up: int, down: int) -> None:
    view = make_view(tick_pips=tick, position_up_micro=pos_up, position_down_micro=pos_down,
                     up_ask_pips=None, down_ask_pips=None)
    _, q = _updown(view)
    assert (q["up"][0], q["down"][0]) == (up, down)


@pytest.mark.parametrize(("pos_up", "taper", "up_size", "down_size"), [
    (0, True, 10_000_000, 10_000_000),
    (25_000_000, True, 7_500_000, 10_000_000),
    (50_000_000, True, 5_000_000, 10_000_000),
    (60_000_000, True, None, 10_000_000),    # 4 shares < min size 5: Up dropped
    (100_000_000, True, None, 10_000_000),
    (60_000_000, False, 10_000_000, 10_000_000),
])
def test_taper(pos_up: int, taper: bool, up_size: int | None, down_size: int) -> None:
    view = make_view(position_up_micro=pos_up, up_ask_pips=None, down_ask_pips=None)
    _, q = _updown(view, make_quote_params(taper=taper, skew_pips_per_share=0.0),
                   make_limits(max_position_shares=100))
    assert q.get("up", (0, None))[1] == up_size
    assert q["down"][1] == down_size


def test_size_rounds_down_to_two_decimals() -> None:
    view = make_view(position_up_micro=33_333_333, up_ask_pips=None)
    _, q = _updown(view, make_quote_params(skew_pips_per_share=0.0))
    assert q["up"][1] == 6_660_000


@pytest.mark.parametrize(("sigma", "floor", "used"), [
    (0.0002, 0.0001, 0.0002), (0.00001, 0.0001, 0.0001), (float("nan"), 0.0001, 0.0001),
    (0.0, 0.0, 0.0),
])
def test_volatility_floor(sigma: float, floor: float, used: float) -> None:
    s = PRICE_E8 + 20 * USD
    ref = make_ref(sigma_per_sqrt_s=sigma, **_ref_at(s))
    fair = fair_up_pips(make_view(), ref, NOW_MS, make_quote_params(vol_floor_per_sqrt_s=floor))
    assert fair == round(prob_up(s, PRICE_E8, used, TAU_S) * 10_000)


def test_no_model_without_strike_or_reference() -> None:
    stale = make_ref(binance_recv_ns=0, chainlink_recv_ns=0, twap_recv_ns=0)
    d, q = quote_updown(make_view(), stale, NOW_MS, make_quote_params(), make_limits())
    assert (d.gate, q) == (GateReason.REF_STALE, ())
    d, q = quote_updown(make_view(strike_e8=None), make_ref(), NOW_MS, make_quote_params(),
                        make_limits())
    assert (d.gate, q) == (GateReason.STRIKE_UNKNOWN, ())


@given(
    s_usd=st.integers(min_value=90_000, max_value=110_000),
    tick=st.sampled_from([100, 10, 1]),
    up_ask=st.one_of(st.none(), st.integers(min_value=1, max_value=9999)),
    down_ask=st.one_of(st.none(), st.integers(min_value=1, max_value=9999)),
    pos_up=st.integers(min_value=0, max_value=150_000_000),
    pos_down=st.integers(min_value=0, max_value=150_000_000),
    half=st.integers(min_value=1, max_value=500),
)
def test_quotes_are_always_valid(s_usd: int, tick: int, up_ask: int | None,
                                 down_ask: int | None, pos_up: int, pos_down: int,
                                 half: int) -> None:
    view = make_view(tick_pips=tick, up_ask_pips=up_ask, down_ask_pips=down_ask,
                     position_up_micro=pos_up, position_down_micro=pos_down)
    _, q = _updown(view, make_quote_params(half_spread_pips=half), ref=_ref_at(s_usd * USD))
    for name, ask in (("up", up_ask), ("down", down_ask)):
        if name in q:
            price, size = q[name]
            assert tick <= price <= 10_000 - tick and price % tick == 0
            assert ask is None or price < ask
            assert size >= 5_000_000 and size % 10_000 == 0
    if "up" in q and "down" in q:
        assert q["up"][0] + q["down"][0] < 10_000  # our two BUYs never match each other


# --- bands -----------------------------------------------------------------------------------

def _bands(**over: Any) -> tuple[Any, dict[str, tuple[int, int]]]:
    params = make_quote_params(**{k: over.pop(k) for k in list(over) if k.startswith("bands_")})
    decision, quotes = quote_bands(make_view(market_strategy="bands", market_asset="", **over),
                                   params, make_limits())
    names = {UP: "up", DOWN: "down"}
    return decision, {names[q.token_id]: (q.price_pips, q.size_micro) for q in quotes}


@pytest.mark.parametrize(("over", "expected"), [
    ({}, {"up": 4800, "down": 4800}),
    ({"down_bid_pips": 4000, "down_ask_pips": 4300}, {"up": 4800, "down": 3900}),
    ({"tick_pips": 10, "down_bid_pips": 4000, "down_ask_pips": 4300},
     {"up": 4800, "down": 3950}),
    ({"tick_pips": 1, "up_bid_pips": 4901}, {"up": 4800, "down": 4800}),  # 4800.5 rounds down
    ({"up_bid_pips": None}, {"down": 4800}),                              # no mid, no quote
    ({"down_ask_pips": None, "down_bid_pips": None}, {"up": 4800}),
    ({"bands_half_spread_pips": 50, "tick_pips": 10}, {"up": 4950, "down": 4950}),
    ({"up_bid_pips": 100, "up_ask_pips": 300}, {"down": 4800}),           # 0.02 - 0.02: dropped
    ({"up_bid_pips": 9700, "up_ask_pips": 9990, "tick_pips": 10},
     {"up": 9640, "down": 4800}),
    ({"up_bid_pips": 5600, "up_ask_pips": 5000}, {"up": 4900, "down": 4800}),  # crossed book
])
def test_bands_prices(over: dict[str, Any], expected: dict[str, int]) -> None:
    _, q = _bands(**over)
    assert {k: p for k, (p, _) in q.items()} == expected


def test_bands_decision_and_sizes() -> None:
    decision, q = _bands(bands_size_shares=7, bands_half_spread_pips=300)
    assert (decision.gate, decision.fair_up_pips, decision.half_spread_pips) == (
        GateReason.NONE, 5000, 300)
    assert q == {"up": (4700, 7_000_000), "down": (4700, 7_000_000)}
    decision, _ = _bands(up_ask_pips=None)
    assert decision.fair_up_pips is None
