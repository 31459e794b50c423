"""Limit-order amounts (§6.3): the exact rule, the integer twin, and py-clob-client-v2 where
its float arithmetic happens to be exact."""

from __future__ import annotations

import random
from decimal import ROUND_FLOOR, Decimal

import pytest
from py_clob_client_v2.order_builder.builder import ROUNDING_CONFIG, OrderBuilder
from py_clob_client_v2.order_builder.helpers import round_down, round_normal

from messages.ids import Side
from venue.orders import check_min_order_size, limit_order_amounts, limit_order_amounts_int

TICKS = {"0.1": 1000, "0.01": 100, "0.005": 50, "0.0025": 25, "0.001": 10, "0.0001": 1}
PRICE_DECIMALS = {"0.1": 1, "0.01": 2, "0.005": 3, "0.0025": 4, "0.001": 3, "0.0001": 4}


@pytest.mark.parametrize(("side", "price", "size", "tick", "expected"), [
    # The §6.3 examples.
    ("BUY", "0.52", "10", "0.01", (5_200_000, 10_000_000)),
    ("SELL", "0.52", "10", "0.01", (10_000_000, 5_200_000)),
    ("BUY", "0.123", "7.777", "0.001", (955_710, 7_770_000)),
    ("SELL", "0.987", "13.333", "0.001", (13_330_000, 13_156_710)),
    # Exact flooring where the SDK's floats lose a hundredth (floor(0.29 * 100) == 28).
    ("BUY", "0.5", "0.29", "0.01", (145_000, 290_000)),
    ("SELL", "0.5", "0.29", "0.01", (290_000, 145_000)),
    ("BUY", "0.57", "1.13", "0.01", (644_100, 1_130_000)),
    # Edges of the price range and the finest ticks.
    ("BUY", "0.01", "5", "0.01", (50_000, 5_000_000)),
    ("SELL", "0.99", "5", "0.01", (5_000_000, 4_950_000)),
    ("BUY", "0.0025", "100.009", "0.0025", (250_000, 100_000_000)),
    ("BUY", "0.9999", "0.01", "0.0001", (9_999, 10_000)),
    ("BUY", "0.5000", "3.00", "0.1", (1_500_000, 3_000_000)),
])
def test_exact_rule(side: str, price: str, size: str, tick: str,
                    expected: tuple[int, int]) -> None:
    assert limit_order_amounts(side, price, size, tick) == expected
    pips, tick_pips = int(Decimal(price) * 10_000), TICKS[tick]
    size_micro = int((Decimal(size) * 1_000_000).to_integral_value(rounding=ROUND_FLOOR))
    assert limit_order_amounts_int(Side(side), pips, size_micro, tick_pips) == expected


def test_sdk_truncates_0_29_but_we_do_not() -> None:
    # Documents the SDK behaviour this module deliberately does not copy.
    _, sdk_maker, sdk_taker = OrderBuilder(None).get_order_amounts(
        "BUY", 0.29, 0.5, ROUNDING_CONFIG["0.01"])
    assert (sdk_maker, sdk_taker) == (140_000, 280_000)
    assert limit_order_amounts("BUY", "0.5", "0.29", "0.01") == (145_000, 290_000)


@pytest.mark.parametrize(("args", "rule"), [
    (("BUY", "0.525", "10", "0.01"), "not a multiple of the tick"),
    (("BUY", "0.0", "10", "0.01"), "outside"),
    (("BUY", "1", "10", "0.01"), "outside"),
    (("BUY", "1.005", "10", "0.005"), "outside"),
    (("SELL", "0.9999", "10", "0.0025"), "not a multiple"),
    (("BUY", "0.0025", "10", "0.005"), "not a multiple"),
    (("BUY", "0.5", "10", "0.02"), "unknown tick"),
    (("BUY", "0.5", "10", "abc"), "tick size"),
    (("BUY", "0.5", "0.009", "0.01"), "rounds down to 0"),
    (("BUY", "0.5", "0", "0.01"), "rounds down to 0"),
    (("BUY", "0.5", "-1", "0.01"), "size"),
    (("BUY", "0.5", "NaN", "0.01"), "size"),
    (("BUY", "0.5", "1e40", "0.01"), "size"),
    (("BUY", "x", "1", "0.01"), "price"),
    (("buy", "0.5", "1", "0.01"), "side"),
])
def test_invalid_inputs_name_the_rule(args: tuple[str, str, str, str], rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        limit_order_amounts(*args)


@pytest.mark.parametrize(("args", "rule"), [
    ((Side.BUY, 5250, 10_000_000, 100), "not a multiple"),
    ((Side.BUY, 0, 10_000_000, 100), "outside"),
    ((Side.SELL, 10_000, 10_000_000, 100), "outside"),
    ((Side.BUY, 5000, 10_000_000, 200), "unknown tick"),
    ((Side.BUY, 5000, 9_999, 100), "rounds down to 0"),
    ((Side.BUY, 5000, -10_000, 100), "rounds down to 0"),
    (("HOLD", 5000, 10_000_000, 100), "side"),
])
def test_int_invalid_inputs(args: tuple[Side, int, int, int], rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        limit_order_amounts_int(*args)


def test_min_order_size() -> None:
    assert limit_order_amounts("BUY", "0.5", "5.009", "0.01", min_size="5") == (
        2_500_000, 5_000_000)
    with pytest.raises(ValueError, match="below the market minimum"):
        limit_order_amounts("BUY", "0.5", "4.999", "0.01", min_size="5")
    with pytest.raises(ValueError, match="below the market minimum"):
        limit_order_amounts_int(Side.SELL, 5000, 4_999_999, 100, min_size_micro=5_000_000)
    assert limit_order_amounts_int(Side.SELL, 5000, 5_009_999, 100,
                                   min_size_micro=5_000_000) == (5_000_000, 2_500_000)
    check_min_order_size(5_000_000, 5_000_000)
    with pytest.raises(ValueError, match="below the market minimum"):
        check_min_order_size(4_990_000, 5_000_000)


def _random_input(rng: random.Random) -> tuple[str, str, str, str, int, int]:
    """(side, price, size, tick) as strings plus (price_pips, size_micro)."""
    tick = rng.choice(list(TICKS))
    tick_pips = TICKS[tick]
    price_pips = tick_pips * rng.randint(1, 10_000 // tick_pips - 1)
    size_micro = rng.choice((rng.randint(1, 10**6), rng.randint(10**4, 10**9),
                             rng.randint(1, 10**5) * 10**4))
    price = f"{Decimal(price_pips).scaleb(-4):.{PRICE_DECIMALS[tick]}f}"
    size = str(Decimal(size_micro).scaleb(-6))
    return rng.choice(("BUY", "SELL")), price, size, tick, price_pips, size_micro


def test_int_variant_agrees_with_decimal_variant() -> None:
    rng = random.Random(99)
    for _ in range(5_000):
        side, price, size, tick, price_pips, size_micro = _random_input(rng)
        if size_micro < 10_000:
            with pytest.raises(ValueError):
                limit_order_amounts(side, price, size, tick)
            with pytest.raises(ValueError):
                limit_order_amounts_int(Side(side), price_pips, size_micro, TICKS[tick])
            continue
        assert limit_order_amounts_int(Side(side), price_pips, size_micro, TICKS[tick]) == (
            limit_order_amounts(side, price, size, tick))


def test_matches_sdk_where_its_floats_are_exact() -> None:
    """Compare with ``OrderBuilder.get_order_amounts`` on cases its float arithmetic gets right.

    A case counts as float-exact when the SDK's own intermediate values, printed the way it
    reads them (``str(float)``), equal the exact decimals: the floored shares
    ``round_down(size, 2)`` and the notional ``shares * round_normal(price)``. On those cases
    the SDK implements §6.3 faithfully and must agree with us to the unit. The others are where
    its floats truncate (0.29 → 0.28 shares); the exact rule is tested on its own above.
    """
    rng = random.Random(2026)
    builder = OrderBuilder(None)
    compared = 0
    total = 2_000
    for _ in range(total):
        side, price, size, tick, _, size_micro = _random_input(rng)
        if size_micro < 10_000:
            continue
        config = ROUNDING_CONFIG[tick]
        sdk_shares = round_down(float(size), config.size)
        sdk_notional = sdk_shares * round_normal(float(price), config.price)
        shares = Decimal(size).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
        if Decimal(str(sdk_shares)) != shares or (
                Decimal(str(sdk_notional)) != shares * Decimal(price)):
            continue
        _, maker, taker = builder.get_order_amounts(side, float(size), float(price), config)
        assert (maker, taker) == limit_order_amounts(side, price, size, tick), (
            side, price, size, tick)
        compared += 1
    assert compared > total // 2
