"""Wire formatting of the simulated venue: integers in, the venue's decimal strings out.

Prices are integer pips (1e-4), sizes micro-units (1e-6), reference prices 1e-8 USD.
"""

from __future__ import annotations

from datetime import UTC, datetime

PIPS = 10_000
MICRO = 1_000_000


def _trim(whole: int, frac: int, width: int) -> str:
    text = f"{whole}.{frac:0{width}d}".rstrip("0").rstrip(".")
    return text


_PIPS_CACHE: dict[int, str] = {}
_MICRO_CACHE: dict[int, str] = {}
_CACHE_MAX = 50_000


def pips_str(pips: int) -> str:
    """``4800`` → ``"0.48"``, ``0`` → ``"0"``, ``10000`` → ``"1"``."""
    text = _PIPS_CACHE.get(pips)
    if text is None:
        text = _trim(pips // PIPS, pips % PIPS, 4)
        if len(_PIPS_CACHE) < _CACHE_MAX:
            _PIPS_CACHE[pips] = text
    return text


def micro_str(micro: int) -> str:
    """``12_500_000`` → ``"12.5"``."""
    text = _MICRO_CACHE.get(micro)
    if text is None:
        text = _trim(micro // MICRO, micro % MICRO, 6)
        if len(_MICRO_CACHE) < _CACHE_MAX:
            _MICRO_CACHE[micro] = text
    return text


def e8_str(e8: int) -> str:
    """A reference price with all 8 decimals: ``6412600000000`` → ``"64126.00000000"``."""
    return f"{e8 // 100_000_000}.{e8 % 100_000_000:08d}"


def ratio_str(num: int, den: int, places: int = 6) -> str:
    """A price that is not on the grid, as the venue would print it (rounded to ``places``)."""
    scaled = (num * 10**places * 2 + den) // (2 * den)
    return _trim(scaled // 10**places, scaled % 10**places, places)


def iso_z(ts_s: float) -> str:
    """Unix seconds → ``2026-05-28T20:00:00Z`` (Gamma's date format)."""
    return datetime.fromtimestamp(ts_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_decimal_micro(text: str, scale: int = MICRO) -> int:
    """An exact decimal string → integer units of ``1/scale``. Raises ValueError if inexact."""
    text = text.strip()
    neg = text.startswith("-")
    if neg:
        text = text[1:]
    whole, _, frac = text.partition(".")
    places = len(str(scale)) - 1
    if len(frac) > places:
        if frac[places:].strip("0"):
            raise ValueError(f"too many decimals: {text}")
        frac = frac[:places]
    value = int(whole or "0") * scale + int((frac or "0").ljust(places, "0"))
    return -value if neg else value
