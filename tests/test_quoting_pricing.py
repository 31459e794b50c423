"""trading.pricing: the fair-value model, the reference blend and the price grid."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.builders_quoting import NOW_MS, NOW_NS, PRICE_E8, make_ref
from trading.params import RefWeights
from trading.pricing import blend_ref, buy_price, floor_to_tick, order_size, prob_up

K = PRICE_E8
prices = st.integers(min_value=1_000_000, max_value=10**15)
sigmas = st.floats(min_value=1e-6, max_value=0.01)
taus = st.floats(min_value=0.001, max_value=86_400.0)


@given(s=prices, k=prices, sigma=sigmas, tau=taus)
def test_prob_up_is_symmetric(s: int, k: int, sigma: float, tau: float) -> None:
    if s != k:
        assert prob_up(s, k, sigma, tau) == pytest.approx(1.0 - prob_up(k, s, sigma, tau),
                                                          abs=1e-12)


@given(k=prices, sigma=sigmas, tau=taus)
def test_prob_up_at_the_money_is_half(k: int, sigma: float, tau: float) -> None:
    assert prob_up(k, k, sigma, tau) == 0.5


def test_prob_up_increases_with_s() -> None:
    values = [prob_up(K + d * 10**8, K, 0.0002, 300.0) for d in range(-1000, 1001, 50)]
    assert all(a < b for a, b in itertools.pairwise(values))
    assert values[0] < 0.05 and values[-1] > 0.95


@pytest.mark.parametrize("s", [K + 50 * 10**8, K + 10**8])
def test_prob_up_decreases_in_tau_when_above_strike(s: int) -> None:
    values = [prob_up(s, K, 0.0002, tau) for tau in (1.0, 10.0, 60.0, 300.0, 900.0, 3600.0)]
    assert all(a > b for a, b in itertools.pairwise(values))
    assert all(v > 0.5 for v in values)


@pytest.mark.parametrize(("s", "tau", "sigma", "expected"), [
    (K + 1, 0.0, 0.0002, 1.0),
    (K, 0.0, 0.0002, 1.0),  # a tie resolves Up
    (K - 1, 0.0, 0.0002, 0.0),
    (K + 1, 300.0, 0.0, 1.0),
    (K - 1, 300.0, 0.0, 0.0),
    (K - 1, -5.0, 0.0002, 0.0),
    (0, 300.0, 0.0002, 0.0),
])
def test_prob_up_degenerate_limits(s: int, tau: float, sigma: float, expected: float) -> None:
    assert prob_up(s, K, sigma, tau) == expected


def test_prob_up_tends_to_the_limit_as_tau_shrinks() -> None:
    assert prob_up(K + 10 * 10**8, K, 0.0002, 1e-6) == pytest.approx(1.0)
    assert prob_up(K - 10 * 10**8, K, 0.0002, 1e-6) == pytest.approx(0.0)


def test_prob_up_matches_normal_cdf() -> None:
    s = round(K * math.exp(0.0002 * math.sqrt(100.0)))  # one σ√τ above the strike
    assert prob_up(s, K, 0.0002, 100.0) == pytest.approx(0.841344746, abs=1e-6)


W_EQUAL = RefWeights(binance=0.5, chainlink=0.0, twap=0.5)
OLD = NOW_NS - 10_000 * 1_000_000


@pytest.mark.parametrize(("ref_over", "weights", "expected"), [
    ({"binance_e8": 100, "twap_e8": 200}, W_EQUAL, 150),
    ({"binance_e8": 100, "twap_e8": 200, "twap_recv_ns": OLD}, W_EQUAL, 100),
    ({"binance_e8": 100, "twap_e8": 200, "binance_recv_ns": 0}, W_EQUAL, 200),
    ({"binance_e8": 100, "twap_e8": 200, "binance_recv_ns": OLD, "twap_recv_ns": OLD},
     W_EQUAL, None),
    ({"binance_e8": 100, "chainlink_e8": 400, "twap_e8": 200, "twap_recv_ns": OLD,
      "binance_recv_ns": OLD}, W_EQUAL, None),  # only a zero-weight stream is fresh
    ({"binance_e8": 100, "chainlink_e8": 400, "twap_e8": 200},
     RefWeights(binance=0.25, chainlink=0.25, twap=0.5), 225),
    ({"binance_e8": 0, "twap_e8": 200}, W_EQUAL, 200),  # no value yet
])
def test_blend_ref(ref_over: dict[str, int], weights: RefWeights, expected: int | None) -> None:
    assert blend_ref(make_ref(**ref_over), NOW_MS, weights, 5000) == expected


def test_blend_ref_staleness_boundary() -> None:
    ref = make_ref(binance_recv_ns=NOW_NS - 5000 * 1_000_000, twap_recv_ns=0, binance_e8=7)
    assert blend_ref(ref, NOW_MS, W_EQUAL, 5000) == 7
    assert blend_ref(ref, NOW_MS + 1, W_EQUAL, 5000) is None


@pytest.mark.parametrize(("price", "tick", "expected"), [
    (5199, 100, 5100), (5200, 100, 5200), (5199, 10, 5190), (5199, 1, 5199), (-50, 100, -100),
])
def test_floor_to_tick(price: int, tick: int, expected: int) -> None:
    assert floor_to_tick(price, tick) == expected


@pytest.mark.parametrize(("target", "tick", "ask", "expected"), [
    (4849, 100, 5100, 4800),      # rounds down (away from fair for a BUY)
    (4849, 10, 5100, 4840),       # finer tick keeps more of the target
    (4849, 100, 4800, 4700),      # at the ask: one tick below it
    (4849, 100, 4700, 4600),      # through the ask
    (4849, 100, 4850, 4800),      # off-grid ask (old 0.001 grid): largest grid price below
    (4849, 10, 4850, 4840),
    (9999, 100, None, 9900),      # capped at 1 - tick
    (12000, 10, None, 9990),
    (150, 100, None, 100),        # just above the bottom
    (99, 100, None, None),        # below tick: dropped, not raised
    (-300, 100, None, None),
    (99, 10, None, 90),           # the same target fits a finer tick
    (500, 100, 100, None),        # the ask is at the minimum price: nothing below it
    (500, 10, 100, 90),
])
def test_buy_price(target: int, tick: int, ask: int | None, expected: int | None) -> None:
    assert buy_price(target, tick, ask) == expected


@pytest.mark.parametrize(("position", "taper", "expected"), [
    (0, True, 10_000_000),
    (-5_000_000, True, 10_000_000),
    (25_000_000, True, 7_500_000),     # a quarter of the way to the limit
    (33_333_333, True, 6_660_000),     # rounded down to 0.01 share
    (50_000_000, True, 5_000_000),     # exactly the min size
    (50_000_001, True, 0),             # just below the min size
    (100_000_000, True, 0),
    (150_000_000, True, 0),
    (90_000_000, False, 10_000_000),   # no taper
])
def test_order_size(position: int, taper: bool, expected: int) -> None:
    assert order_size(10_000_000, position, 100, taper, 5_000_000) == expected
