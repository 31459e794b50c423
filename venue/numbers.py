"""Decimal strings from the wire straight to integers: pips, micro-units, 1e-8 units.

No float and no ``Decimal`` on the hot path: a string is split at its point, the digits on both
sides go through ``int()`` together and are scaled by a power of ten. Only unsigned
plain decimals are accepted (``"0.5"``, ``".48"``, ``"30"``, ``"1."``); signs, exponents,
whitespace, underscores, non-ASCII digits and empty strings raise ``ValueError`` (``int()``
alone would accept several of those).

The venue sends most numbers as strings. Where it sends a JSON number (RTDS ``value``, a tick
size ``0.01``), the ``*_num`` helpers convert the float through ``repr()`` — the shortest
string that round-trips to the same float, i.e. the decimal the sender most likely wrote — and
then the string parser, so ``0.01`` gives exactly 100 pips, not 99. A float whose ``repr`` uses
an exponent (``1e-05``, ``1e+16``) is rejected. Booleans are rejected although they are ints.

Pure and thread-safe: the price memo is a dict filled from any thread (dict operations are
atomic under the GIL; a racing insert stores the same value twice).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "PIPS_MEMO",
    "e18_to_e8",
    "parse_e8",
    "parse_e8_num",
    "parse_int",
    "parse_micro",
    "parse_micro_num",
    "parse_pips",
    "parse_pips_num",
]

_POW10: Final[tuple[int, ...]] = tuple(10**k for k in range(9))
PIPS_MEMO_MAX: Final = 65_536
PIPS_MEMO: Final[dict[str, int]] = {}
"""Price string → pips for every price :func:`parse_pips` has accepted (bounded; filled by it).

Prices come from a small set (every tick multiple in [0, 1], a few spellings each), so the
memo turns the common case into one dict lookup. Hot loops may read it directly
(``PIPS_MEMO.get(s)``) and call :func:`parse_pips` on a miss; nothing else may write it.
Sizes are not memoised here: their set is unbounded.
"""


def _scaled(s: str, scale: int, what: str) -> int:
    """Parse an unsigned decimal string into an integer count of ``10**-scale`` units.

    Raises ``ValueError`` if the string is not a plain unsigned decimal or has a non-zero digit
    beyond ``scale`` decimals.
    """
    whole, _, frac = s.partition(".")
    n = len(frac)
    if n > scale:
        if frac[scale:].strip("0"):
            raise ValueError(f"{what}: more than {scale} decimals in {s!r}")
        frac = frac[:scale]
        n = scale
    digits = whole + frac
    if not (digits.isdigit() and digits.isascii()):
        raise ValueError(f"{what}: not an unsigned decimal: {s!r}")
    return int(digits) * _POW10[scale - n]


def parse_pips(s: str) -> int:
    """A price string to integer pips (1e-4): ``".48"`` → 4800, ``"1"`` → 10000.

    More than 4 decimals are allowed only if the extra ones are zeros. Raises ``ValueError``.
    """
    v = PIPS_MEMO.get(s)
    if v is None:
        v = _scaled(s, 4, "price")
        if len(PIPS_MEMO) < PIPS_MEMO_MAX:
            PIPS_MEMO[s] = v
    return v


def parse_micro(s: str) -> int:
    """A size or amount string to integer micro-units (1e-6): ``"219.217767"`` → 219217767.

    More than 6 decimals are allowed only if the extra ones are zeros. Raises ``ValueError``.
    """
    whole, _, frac = s.partition(".")
    n = len(frac)
    if n <= 6:
        digits = whole + frac
        if digits.isdigit() and digits.isascii():
            return int(digits) * _POW10[6 - n]
    return _scaled(s, 6, "size")  # trailing zeros beyond 6 decimals, or an error


def parse_e8(s: str) -> int:
    """A reference price string to integer 1e-8 units: ``"64126.00000000"`` → 6412600000000.

    Unlike pips and micro-units, decimals beyond the 8th are **truncated toward zero**
    (``"1.123456789"`` → 112345678): feeds send more precision than the 1e-8 grid keeps, and
    that loss is far below anything the pricing model resolves. Raises ``ValueError`` on
    anything that is not a plain unsigned decimal.
    """
    whole, _, frac = s.partition(".")
    n = len(frac)
    if n > 8:
        if not (frac.isdigit() and frac.isascii()):
            raise ValueError(f"reference price: not an unsigned decimal: {s!r}")
        frac = frac[:8]
        n = 8
    digits = whole + frac
    if not (digits.isdigit() and digits.isascii()):
        raise ValueError(f"reference price: not an unsigned decimal: {s!r}")
    return int(digits) * _POW10[8 - n]


def parse_int(s: str) -> int:
    """An unsigned integer string (``"1757908892351"``) to ``int``. Raises ``ValueError``."""
    if not (s.isdigit() and s.isascii()):
        raise ValueError(f"not an unsigned integer: {s!r}")
    return int(s)


def e18_to_e8(s: str) -> int:
    """An E18 fixed-point integer string (RTDS TWAP ``full_accuracy_value``) to 1e-8 units,
    truncated toward zero. Raises ``ValueError``."""
    return parse_int(s) // 10_000_000_000


def _num_str(x: object, what: str) -> str:
    """The decimal spelling of a JSON number (int or float, not bool), via ``repr``."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise ValueError(f"{what}: not a number: {x!r}")
    return repr(x)


def parse_pips_num(x: object) -> int:
    """A price given as a JSON number or a string to pips (float via ``repr``)."""
    return parse_pips(x if isinstance(x, str) else _num_str(x, "price"))


def parse_micro_num(x: object) -> int:
    """A size given as a JSON number or a string to micro-units (float via ``repr``)."""
    return parse_micro(x if isinstance(x, str) else _num_str(x, "size"))


def parse_e8_num(x: object) -> int:
    """A reference price given as a JSON number or a string to 1e-8 units (float via ``repr``)."""
    return parse_e8(x if isinstance(x, str) else _num_str(x, "reference price"))
