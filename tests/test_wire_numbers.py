"""venue.numbers: decimal strings to integer pips, micro-units and 1e-8 units."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from venue.numbers import (
    e18_to_e8,
    parse_e8,
    parse_e8_num,
    parse_int,
    parse_micro,
    parse_micro_num,
    parse_pips,
    parse_pips_num,
)

PLAIN = re.compile(r"[0-9]*\.?[0-9]*")


@pytest.mark.parametrize(("text", "pips"), [
    (".48", 4800), ("0.5", 5000), ("1", 10000), ("0", 0), ("0.001", 10), ("0.0001", 1),
    ("0.456", 4560), ("1.", 10000), ("0.12340000", 1234), ("00.50", 5000), (".9999", 9999),
])
def test_parse_pips(text: str, pips: int) -> None:
    assert parse_pips(text) == pips
    assert parse_pips(text) == pips  # second call is served by the memo


@pytest.mark.parametrize(("text", "micro"), [
    ("219.217767", 219217767), ("30", 30_000_000), ("0", 0), ("0.000001", 1), (".5", 500_000),
    ("10.0000000", 10_000_000), ("1.", 1_000_000),
])
def test_parse_micro(text: str, micro: int) -> None:
    assert parse_micro(text) == micro


@pytest.mark.parametrize(("text", "e8"), [
    ("64126.00000000", 6_412_600_000_000), ("64126", 6_412_600_000_000), ("0.00000001", 1),
    ("1.123456789", 112_345_678), ("1.999999999999", 199_999_999), ("67234.5", 6_723_450_000_000),
])
def test_parse_e8_truncates_beyond_8_decimals(text: str, e8: int) -> None:
    assert parse_e8(text) == e8


BAD = ["", " ", ".", "..", "1..2", "1.2.3", "+1", "-1", "-0.5", "1e3", "1E-2", "0x10", "1_000",
       " 1", "1 ", "1\n", "\t.5", "nan", "inf", "abc", "0.5a", "١", "²", "１", "0,5", "1/2"]


@pytest.mark.parametrize("text", BAD)
def test_parsers_reject_non_decimals(text: str) -> None:
    for parse in (parse_pips, parse_micro, parse_e8):
        with pytest.raises(ValueError):
            parse(text)


@pytest.mark.parametrize(("parse", "text"), [
    (parse_pips, "0.12345"), (parse_pips, "0.00001"), (parse_micro, "1.0000001"),
])
def test_too_many_significant_decimals(parse: object, text: str) -> None:
    with pytest.raises(ValueError, match="decimals"):
        parse(text)  # type: ignore[operator]


def test_parse_int_and_e18() -> None:
    assert parse_int("1757908892351") == 1757908892351
    assert e18_to_e8("67234500000000000000000") == 6_723_450_000_000
    assert e18_to_e8("1") == 0  # truncated toward zero
    for bad in ("", "-1", "1.0", " 1", "1e3"):
        with pytest.raises(ValueError):
            parse_int(bad)
        with pytest.raises(ValueError):
            e18_to_e8(bad)


@pytest.mark.parametrize(("value", "pips"), [(0.01, 100), (0.001, 10), (1, 10000), ("0.01", 100),
                                             (0.07, 700), (0.29, 2900)])
def test_pips_from_json_numbers_via_repr(value: object, pips: int) -> None:
    # 0.29 * 10000 is 2899.9999999999995 as a float: repr() avoids that.
    assert parse_pips_num(value) == pips


def test_num_helpers() -> None:
    assert parse_e8_num(67234.50) == 6_723_450_000_000
    assert parse_e8_num(64126) == 6_412_600_000_000
    assert parse_micro_num(5) == 5_000_000
    assert parse_micro_num(0.1) == 100_000
    bad_values: tuple[object, ...] = (True, None, [], {}, -1.0, 1e-05, 1e16, float("nan"),
                                      float("inf"))
    for bad in bad_values:
        with pytest.raises(ValueError):
            parse_e8_num(bad)
        with pytest.raises(ValueError):
            parse_pips_num(bad)


decimal_strings = st.builds(
    lambda whole, dot, frac: whole + dot + frac,
    st.text("0123456789", max_size=12),
    st.sampled_from(["", "."]),
    st.text("0123456789", max_size=12),
).filter(lambda s: any(c.isdigit() for c in s))


def _expected(text: str, scale: int) -> int | None:
    """The exact value in 10**-scale units per Decimal, or None if not representable."""
    scaled = Decimal(text).scaleb(scale)
    return int(scaled) if scaled == scaled.to_integral_value() else None


@given(decimal_strings)
def test_pips_and_micro_round_trip_against_decimal(text: str) -> None:
    for parse, scale in ((parse_pips, 4), (parse_micro, 6)):
        expected = _expected(text, scale)
        if expected is None:
            with pytest.raises(ValueError):
                parse(text)
        else:
            assert parse(text) == expected


@given(decimal_strings)
def test_e8_truncates_like_decimal(text: str) -> None:
    assert parse_e8(text) == int(Decimal(text).scaleb(8))  # int() truncates toward zero


@given(st.text(max_size=16))
def test_arbitrary_text_is_a_plain_decimal_or_value_error(text: str) -> None:
    plain = bool(PLAIN.fullmatch(text)) and any(c in "0123456789" for c in text)
    for parse, scale in ((parse_pips, 4), (parse_micro, 6)):
        try:
            value = parse(text)
        except ValueError:
            assert not plain or _expected(text, scale) is None
        else:
            assert plain
            assert value == _expected(text, scale)


@given(st.floats(min_value=0, max_value=1e15, allow_nan=False))
def test_e8_from_float_uses_repr(value: float) -> None:
    text = repr(value)
    if "e" in text:
        with pytest.raises(ValueError):
            parse_e8_num(value)
    else:
        assert parse_e8_num(value) == int(Decimal(text).scaleb(8))
