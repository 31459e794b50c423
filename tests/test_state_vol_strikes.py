"""EWMA volatility, reference prices per asset, and strikes from the TWAP stream."""

from __future__ import annotations

import math

import pytest

from messages import PriceSource
from tests.builders import START_MS
from trading.strikes import Strikes
from trading.volatility import EwmaVol, RefPrices

P = 100_000 * 10**8  # 100k USD in 1e-8


def feed(vol: EwmaVol, moves: list[tuple[float, int]], t0: int = 0) -> None:
    """Feed relative moves (factor, dt_ms) starting at price P."""
    price, ts = P, t0
    vol.update(price, ts)
    for factor, dt in moves:
        price = round(price * factor)
        ts += dt
        vol.update(price, ts)


def test_floor_before_and_after_samples():
    vol = EwmaVol(60.0, 1e-4)
    assert vol.sigma_per_sqrt_s() == 1e-4
    feed(vol, [(1.0, 1000)] * 5)          # no moves: the estimate is 0, the floor holds
    assert vol.samples == 5
    assert vol.variance_per_s() == 0.0
    assert vol.sigma_per_sqrt_s() == 1e-4


def test_single_return_is_r2_over_dt():
    vol = EwmaVol(60.0, 0.0)
    feed(vol, [(1.001, 2000)])
    r = math.log(round(P * 1.001) / P)
    assert vol.variance_per_s() == pytest.approx(r * r / 2.0)


@pytest.mark.parametrize("small, big", [(1.0001, 1.0005), (1.0005, 1.002), (0.9999, 0.999)])
def test_monotone_in_move_size(small, big):
    a, b = EwmaVol(60.0, 0.0), EwmaVol(60.0, 0.0)
    feed(a, [(small, 1000), (1 / small, 1000)] * 10)
    feed(b, [(big, 1000), (1 / big, 1000)] * 10)
    assert b.sigma_per_sqrt_s() > a.sigma_per_sqrt_s()


def test_decays_by_half_life_in_time():
    vol = EwmaVol(10.0, 0.0)
    feed(vol, [(1.01, 1000)])
    v0 = vol.variance_per_s()
    # One flat step of exactly one half-life halves the estimate, whatever the tick count.
    vol.update(vol._last_e8, vol._last_ts_ms + 10_000)
    assert vol.variance_per_s() == pytest.approx(v0 / 2)
    many = EwmaVol(10.0, 0.0)
    feed(many, [(1.01, 1000)] + [(1.0, 100)] * 100)
    assert many.variance_per_s() == pytest.approx(v0 / 2)


@pytest.mark.parametrize("price, ts", [(0, 5000), (-1, 5000), (P, 1000), (P, 999)])
def test_ignores_bad_prices_and_non_increasing_time(price, ts):
    vol = EwmaVol(60.0, 0.0)
    feed(vol, [(1.01, 1000)], t0=0)
    before = (vol.variance_per_s(), vol.samples)
    vol.update(price, ts)
    assert (vol.variance_per_s(), vol.samples) == before


def test_rebase_skips_the_jump_between_series():
    vol = EwmaVol(60.0, 0.0)
    feed(vol, [(1.0, 1000)])
    vol.rebase()
    vol.update(P * 2, 3000)   # a different series: not a return
    assert vol.variance_per_s() == 0.0
    vol.update(P * 2, 4000)
    assert vol.samples == 2


def test_bad_parameters_rejected():
    with pytest.raises(ValueError):
        EwmaVol(0.0, 1e-4)
    with pytest.raises(ValueError):
        EwmaVol(60.0, -1.0)


def test_ref_prices_vol_follows_the_best_stream():
    ref = RefPrices("btc", EwmaVol(60.0, 0.0))
    assert ref.apply(PriceSource.TWAP, P, 0, 1)
    assert ref.apply(PriceSource.TWAP, P * 2, 1000, 2)        # a big TWAP move counts...
    twap_var = ref.vol.variance_per_s()
    assert twap_var > 0
    assert ref.apply(PriceSource.BINANCE, P * 3, 2000, 3)      # ...until Binance shows up:
    assert ref.vol.variance_per_s() == twap_var                # the switch is not a return
    ref.apply(PriceSource.TWAP, P * 5, 3000, 4)                # TWAP no longer feeds vol
    assert ref.vol.variance_per_s() == twap_var
    view = ref.build_view()
    assert (view.binance_e8, view.twap_e8, view.chainlink_e8) == (P * 3, P * 5, 0)
    assert (view.binance_recv_ns, view.twap_recv_ns, view.chainlink_recv_ns) == (3, 4, 0)
    assert ref.build_view() is view                            # cached while unchanged
    assert not ref.apply(PriceSource.OTHER, P, 4000, 5)
    assert not ref.apply(PriceSource.BINANCE, 0, 4000, 5)


def test_ref_prices_older_tick_does_not_replace_latest():
    ref = RefPrices("btc", EwmaVol(60.0, 0.0))
    ref.apply(PriceSource.CHAINLINK, P, 5000, 1)
    assert not ref.apply(PriceSource.CHAINLINK, P + 1, 4000, 2)
    assert ref.build_view().chainlink_e8 == P


# -- strikes ---------------------------------------------------------------------------------

S = START_MS


@pytest.mark.parametrize("points, ptb, strike", [
    ([], None, None),                                         # unknown
    ([], 123, 123),                                           # Gamma priceToBeat fallback
    ([(S - 2000, 10), (S - 1000, 11)], None, None),           # before open: not confirmed yet
    ([(S - 2000, 10), (S - 1000, 11)], 123, 123),             # ...so the fallback stands in
    ([(S - 1000, 11), (S, 12)], None, 12),                    # a point at the open: at once
    ([(S - 1000, 11), (S + 1000, 13)], None, 11),             # confirmed by a later point
    ([(S - 1000, 11), (S + 1000, 13)], 123, 11),              # TWAP wins over the fallback
    ([(S + 1000, 13), (S - 1000, 11)], None, 11),             # snapshot history out of order
    ([(S - 60_000, 9), (S + 1000, 13)], None, None),          # a hole at the open: not trusted
    ([(S + 1000, 13)], None, None),                           # nothing at or before the open
    ([(S - 1000, 0), (S + 1000, 13)], None, None),            # non-positive price ignored
])
def test_strike(points, ptb, strike):
    strikes = Strikes()
    for ts, price in points:
        strikes.add("btc", ts, price)
    assert strikes.strike("btc", S, ptb) == strike


def test_strike_per_asset_and_no_asset():
    strikes = Strikes()
    strikes.add("eth", S, 5)
    assert strikes.strike("btc", S, None) is None
    assert strikes.strike("eth", S, None) == 5
    assert strikes.strike("", S, 7) == 7


def test_history_is_bounded_but_keeps_the_point_before_the_horizon():
    strikes = Strikes(history_ms=10_000)
    for i in range(100):
        strikes.add("btc", S + i * 1000, 100 + i)
    assert len(strikes) <= 12
    assert strikes.latest_ts_ms("btc") == S + 99_000
    assert strikes.strike("btc", S + 89_500, None) == 189
    # too old to insert now
    assert not strikes.add("btc", S, 1)


def test_repeat_point_is_not_a_change():
    strikes = Strikes()
    assert strikes.add("btc", S, 5)
    assert strikes.add("btc", S + 1, 6)
    assert not strikes.add("btc", S, 5)
    assert strikes.add("btc", S, 7)          # a corrected point replaces the old one
    assert strikes.strike("btc", S, None) == 7
