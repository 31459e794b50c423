"""Reference prices from PolyBolt (or legacy RTDS)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PriceSource(StrEnum):
    """Which stream a reference price came from."""

    BINANCE = "binance"
    """The exchange price (PolyBolt ``price.crypto`` or RTDS ``crypto_prices``)."""
    CHAINLINK = "chainlink"
    """The Chainlink spot price (RTDS ``crypto_prices_chainlink``)."""
    TWAP = "twap"
    """The Chainlink 60 s TWAP that up/down markets resolve on (``price.crypto.twap``)."""
    OTHER = "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceUpdate:
    """One reference price for one asset.

    ``asset`` is the lower-case base asset (``btc``), whatever the feed calls the symbol.
    ``price_e8`` is the price in 1e-8 USD, parsed from the decimal string (never a float).
    A snapshot frame yields one update per historical point, each with ``snapshot=True``.
    """

    asset: str
    source: PriceSource
    price_e8: int
    ts_event_ms: int
    ts_recv_ns: int
    provider: str = ""
    window_seconds: int = 0
    seq: int = 0
    snapshot: bool = False
