"""Builders for quoting, diff and risk tests: keyword overrides over dicts of defaults.

The default world: one btc up/down market, window 12:00:00–12:15:00 (ms below), ``now`` five
minutes into it, tick 0.01, min size 5, book Up 0.49/0.51 and Down 0.49/0.51 fresh and synced,
flat, strike = reference = 100 000 USD, all feeds up.
"""

from __future__ import annotations

from typing import Any

from messages import (
    ConditionId,
    DesiredQuote,
    Market,
    MarketView,
    OrderHash,
    QuoteSnapshot,
    RefView,
    Side,
    TokenId,
)
from tests.builders import make_market
from trading.diff import LiveOrder
from trading.params import BandsParams, OrderParams, QuoteParams, RefWeights, RiskLimits

START_MS = 1_767_268_800_000
END_MS = START_MS + 15 * 60_000
NOW_MS = START_MS + 5 * 60_000
NOW_NS = NOW_MS * 1_000_000
CID = ConditionId("0x" + "ab" * 32)
CID2 = ConditionId("0x" + "cd" * 32)
UP = TokenId("1111")
DOWN = TokenId("2222")
UP2 = TokenId("3333")
DOWN2 = TokenId("4444")
PRICE_E8 = 100_000 * 100_000_000

# This world's window, over ``tests.builders.make_market``'s defaults.
MARKET_WINDOW: dict[str, Any] = dict(
    condition_id=CID, slug="btc-updown-15m-1767268800", token_ids=(UP, DOWN), start_ms=START_MS,
    end_ms=END_MS,
)

VIEW_DEFAULTS: dict[str, Any] = dict(
    tick_pips=100, up_bid_pips=4900, up_ask_pips=5100, down_bid_pips=4900, down_ask_pips=5100,
    book_recv_ns=NOW_NS - 1_000_000_000, book_synced=True, position_up_micro=0,
    position_down_micro=0, strike_e8=PRICE_E8,
)

REF_DEFAULTS: dict[str, Any] = dict(
    asset="btc", binance_e8=PRICE_E8, binance_recv_ns=NOW_NS - 100_000_000,
    chainlink_e8=PRICE_E8, chainlink_recv_ns=NOW_NS - 100_000_000,
    twap_e8=PRICE_E8, twap_recv_ns=NOW_NS - 100_000_000, sigma_per_sqrt_s=0.0002,
)

SNAP_DEFAULTS: dict[str, Any] = dict(
    seq=1, now_ms=NOW_MS, cause_recv_ns=NOW_NS, market_feed_up=True, user_feed_up=True,
    price_feed_up=True, kill_switch=False,
)


def make_view(market: Market | None = None, **over: Any) -> MarketView:
    """A view; ``market`` defaults to this world's market, ``market_<field>`` overrides it."""
    m_over = {k[len("market_"):]: over.pop(k) for k in list(over) if k.startswith("market_")}
    if market is None:
        market = make_market(**{**MARKET_WINDOW, **m_over})
    return MarketView(**{**VIEW_DEFAULTS, "market": market, **over})


def make_ref(**over: Any) -> RefView:
    return RefView(**{**REF_DEFAULTS, **over})


def make_snapshot(markets: tuple[MarketView, ...] | None = None,
                  refs: tuple[RefView, ...] | None = None, **over: Any) -> QuoteSnapshot:
    return QuoteSnapshot(**{**SNAP_DEFAULTS,
                            "markets": (make_view(),) if markets is None else markets,
                            "refs": (make_ref(),) if refs is None else refs, **over})


def make_quote_params(**over: Any) -> QuoteParams:
    """QuoteParams; ``bands_<field>`` and ``weights_<field>`` override the nested sections."""
    bands = {k[len("bands_"):]: over.pop(k) for k in list(over) if k.startswith("bands_")}
    weights = {k[len("weights_"):]: over.pop(k) for k in list(over) if k.startswith("weights_")}
    if bands:
        over["bands"] = BandsParams(**bands)
    if weights:
        over["ref_weights"] = RefWeights(**weights)
    return QuoteParams(**over)


def make_order_params(**over: Any) -> OrderParams:
    return OrderParams(**over)


def make_limits(**over: Any) -> RiskLimits:
    return RiskLimits(**over)


QUOTE_DEFAULTS: dict[str, Any] = dict(
    condition_id=CID, token_id=UP, side=Side.BUY, price_pips=4800, size_micro=10_000_000,
)


def make_quote(**over: Any) -> DesiredQuote:
    return DesiredQuote(**{**QUOTE_DEFAULTS, **over})


def make_live(order_id: str = "0x01", **over: Any) -> LiveOrder:
    fields = {**QUOTE_DEFAULTS, "placed_ms": NOW_MS - 1000, **over}
    return LiveOrder(order_id=OrderHash(order_id), **fields)
