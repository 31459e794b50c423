"""Rolling up/down windows: slugs, deterministic ids and the per-market state of the venue.

A window of N seconds opens at a multiple of N (Unix seconds); its slug is
``{asset}-updown-{label}-{start}``. Ids (condition id, two 77-digit token ids) derive from the
seed and the slug, so a restarted simulator lists the same markets. Owned by the event loop.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sim.book import Book

LABELS = {300: "5m", 900: "15m", 14400: "4h"}
ASSET_NAMES = {"btc": "Bitcoin", "eth": "Ethereum", "sol": "Solana", "xrp": "XRP",
               "doge": "Dogecoin", "bnb": "BNB", "hype": "Hyperliquid"}


def label(window_s: int) -> str:
    return LABELS.get(window_s, f"{window_s}s")


def event_slug(asset: str, window_s: int, start_s: int) -> str:
    return f"{asset}-updown-{label(window_s)}-{start_s}"


def series_slug(asset: str, window_s: int) -> str:
    return f"{asset}-up-or-down-{label(window_s)}"


def window_start(now_s: float, window_s: int) -> int:
    return int(now_s) // window_s * window_s


def _digest(seed: int, *parts: str) -> bytes:
    return hashlib.sha256("|".join((f"polymm-sim:{seed}", *parts)).encode()).digest()


def token_id(seed: int, slug: str, outcome: str) -> str:
    """A realistic 76-77 digit decimal token id (a uint256 below 2**255)."""
    value = int.from_bytes(_digest(seed, slug, outcome), "big") >> 1
    value |= 1 << 250  # keep it long: >= 76 digits
    return str(value)


def condition_id(seed: int, slug: str) -> str:
    return "0x" + _digest(seed, slug, "condition").hex()


def numeric_id(seed: int, *parts: str) -> str:
    return str(1_000_000 + int.from_bytes(_digest(seed, *parts)[:4], "big") % 8_999_999)


@dataclass(slots=True)
class MarketState:
    """One listed window: identity, tick, book, lifecycle. Times are Unix seconds."""

    asset: str
    window_s: int
    start_s: int
    slug: str
    condition_id: str
    token_ids: tuple[str, str]
    market_id: str
    event_id: str
    tick_pips: int = 100
    min_size_micro: int = 5_000_000
    version: str = "v1"
    neg_risk: bool = False
    accepting: bool = True
    closed: bool = False
    price_to_beat_e8: int | None = None
    final_price_e8: int | None = None
    winner: int | None = None
    last_trade_pips: int | None = None
    book: Book = field(default_factory=Book)
    last_top: tuple[tuple[int | None, int | None], ...] = ((None, None), (None, None))

    @property
    def end_s(self) -> int:
        return self.start_s + self.window_s

    def token_index(self, token: str) -> int:
        return 0 if token == self.token_ids[0] else 1

    def is_open(self, now_s: float) -> bool:
        return self.start_s <= now_s < self.end_s


def make_market(seed: int, asset: str, window_s: int, start_s: int) -> MarketState:
    slug = event_slug(asset, window_s, start_s)
    return MarketState(
        asset=asset, window_s=window_s, start_s=start_s, slug=slug,
        condition_id=condition_id(seed, slug),
        token_ids=(token_id(seed, slug, "Up"), token_id(seed, slug, "Down")),
        market_id=numeric_id(seed, slug, "market"), event_id=numeric_id(seed, slug, "event"))
