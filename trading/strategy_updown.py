"""The ``updown`` strategy: two post-only BUYs around the model's fair value (design §5).

fair = P(Up) from the blended reference S, the strike K, the seconds to close τ and the
reference volatility σ (floored by ``vol_floor_per_sqrt_s``). With inventory
``I = position_up - position_down`` in shares:

* BUY Up   at ``fair      - half_spread - skew·I``
* BUY Down at ``(1 - fair) - half_spread + skew·I``

so a book long Up bids less for Up and more for Down. Fair and skew are turned into whole pips
once; everything after that is integer arithmetic (``trading.pricing`` rounds onto the tick,
caps, keeps off the ask and sizes). Pure code, called only for a market that passed the gate.
"""

from __future__ import annotations

import math

from messages.ids import MICRO_PER_UNIT, PIPS_PER_UNIT, Side
from messages.quotes import DesiredQuote, GateReason, MarketDecision, MarketView, RefView
from trading.params import QuoteParams, RiskLimits
from trading.pricing import blend_ref, buy_price, order_size, prob_up


def fair_up_pips(view: MarketView, ref: RefView, now_ms: int, params: QuoteParams) -> int | None:
    """The model's P(Up) in whole pips, or None without a strike or a fresh reference."""
    strike = view.strike_e8
    s_e8 = blend_ref(ref, now_ms, params.ref_weights, params.ref_stale_ms)
    if strike is None or strike <= 0 or s_e8 is None:
        return None
    sigma = ref.sigma_per_sqrt_s
    if not math.isfinite(sigma) or sigma < params.vol_floor_per_sqrt_s:
        sigma = params.vol_floor_per_sqrt_s
    tau_s = (view.market.end_ms - now_ms) / 1000.0
    return round(prob_up(s_e8, strike, sigma, tau_s) * PIPS_PER_UNIT)


def quote_updown(view: MarketView, ref: RefView, now_ms: int, params: QuoteParams,
                 limits: RiskLimits) -> tuple[MarketDecision, tuple[DesiredQuote, ...]]:
    """The decision and the (up to two) quotes for one gated-open up/down market."""
    market = view.market
    tick = view.tick_pips
    fair = fair_up_pips(view, ref, now_ms, params)
    if fair is None:
        # The gate checks both first; kept so a direct caller cannot quote without a model.
        reason = GateReason.STRIKE_UNKNOWN if not view.strike_e8 else GateReason.REF_STALE
        return MarketDecision(condition_id=market.condition_id, gate=reason), ()
    if tick is None or tick <= 0:
        return MarketDecision(condition_id=market.condition_id, gate=GateReason.TICK_UNKNOWN), ()
    half = params.half_spread_pips
    inventory_micro = view.position_up_micro - view.position_down_micro
    skew = round(params.skew_pips_per_share * inventory_micro / MICRO_PER_UNIT)
    base = params.size_shares * MICRO_PER_UNIT
    quotes: list[DesiredQuote] = []
    legs = (
        (market.token_ids[0], fair - half - skew, view.up_ask_pips, view.position_up_micro),
        (market.token_ids[1], PIPS_PER_UNIT - fair - half + skew, view.down_ask_pips,
         view.position_down_micro),
    )
    for token_id, target, ask, position in legs:
        price = buy_price(target, tick, ask)
        size = order_size(base, position, limits.max_position_shares, params.taper,
                          market.min_size_micro)
        if price is not None and size > 0:
            quotes.append(DesiredQuote(condition_id=market.condition_id, token_id=token_id,
                                       side=Side.BUY, price_pips=price, size_micro=size))
    decision = MarketDecision(condition_id=market.condition_id, gate=GateReason.NONE,
                              tick_pips=tick, fair_up_pips=fair, half_spread_pips=half)
    return decision, tuple(quotes)
