"""The ``bands`` strategy: for markets without a reference price, BUY both outcomes below mid.

BUY Up at ``mid_up - half_spread`` and BUY Down at ``mid_down - half_spread`` (``params.bands``),
each mid taken from that token's own book; a token without both a bid and an ask has no mid and
gets no quote. Rounding, capping, the no-cross rule and sizing are the same as ``updown``'s
(``trading.pricing``). Pure code, called only for a market that passed the gate.
"""

from __future__ import annotations

from messages.ids import MICRO_PER_UNIT, PIPS_PER_UNIT, Side
from messages.quotes import DesiredQuote, GateReason, MarketDecision, MarketView
from trading.params import QuoteParams, RiskLimits
from trading.pricing import buy_price, order_size


def mid2(bid_pips: int | None, ask_pips: int | None) -> int | None:
    """Twice the mid in pips (exact; the mid itself can be a half pip), None without one."""
    if bid_pips is None or ask_pips is None or bid_pips <= 0 or ask_pips >= PIPS_PER_UNIT:
        return None
    return bid_pips + ask_pips


def quote_bands(view: MarketView, params: QuoteParams,
                limits: RiskLimits) -> tuple[MarketDecision, tuple[DesiredQuote, ...]]:
    """The decision and the (up to two) quotes for one gated-open bands market.

    The decision's ``fair_up_pips`` is the Up mid rounded down (None without an Up mid).
    """
    market = view.market
    tick = view.tick_pips
    if tick is None or tick <= 0:
        return MarketDecision(condition_id=market.condition_id, gate=GateReason.TICK_UNKNOWN), ()
    bands = params.bands
    half = bands.half_spread_pips
    base = bands.size_shares * MICRO_PER_UNIT
    quotes: list[DesiredQuote] = []
    legs = (
        (market.token_ids[0], mid2(view.up_bid_pips, view.up_ask_pips), view.up_ask_pips,
         view.position_up_micro),
        (market.token_ids[1], mid2(view.down_bid_pips, view.down_ask_pips), view.down_ask_pips,
         view.position_down_micro),
    )
    for token_id, m2, ask, position in legs:
        if m2 is None:
            continue
        # floor((m2/2 - half) / tick) * tick, in integers: the half pip rounds down with it.
        target = (m2 - 2 * half) // 2
        price = buy_price(target, tick, ask)
        size = order_size(base, position, limits.max_position_shares, params.taper,
                          market.min_size_micro)
        if price is not None and size > 0:
            quotes.append(DesiredQuote(condition_id=market.condition_id, token_id=token_id,
                                       side=Side.BUY, price_pips=price, size_micro=size))
    up_mid2 = legs[0][1]
    decision = MarketDecision(condition_id=market.condition_id, gate=GateReason.NONE,
                              tick_pips=tick,
                              fair_up_pips=None if up_mid2 is None else up_mid2 // 2,
                              half_spread_pips=half)
    return decision, tuple(quotes)
