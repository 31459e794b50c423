"""One quoting pass: a ``QuoteSnapshot`` in, the complete ``DesiredQuotes`` target out.

Per market, in snapshot order: pick the strategy by ``market.strategy``, apply the gate
(``trading.gating``; a gated market gets a decision with the reason and no quotes, so the order
manager cancels all its orders), else run the strategy. Deterministic: the same snapshot and
parameters give an identical result, which is what makes replay reproduce every decision.
"""

from __future__ import annotations

from messages.errors import ConfigError
from messages.quotes import DesiredQuote, DesiredQuotes, GateReason, MarketDecision, QuoteSnapshot
from trading.gating import BANDS, STRATEGIES, UPDOWN, gate
from trading.params import QuoteParams, RiskLimits
from trading.strategy_bands import quote_bands
from trading.strategy_updown import quote_updown


def build_desired(snap: QuoteSnapshot, params: QuoteParams, limits: RiskLimits) -> DesiredQuotes:
    """Every market's decision and all quotes (Up before Down, markets in snapshot order).

    Raises:
        ConfigError: a market names a strategy that does not exist (discovery takes it from
            validated config, so this is a bug upstream, not a market condition).
    """
    refs = {r.asset: r for r in snap.refs}
    quotes: list[DesiredQuote] = []
    decisions: list[MarketDecision] = []
    for view in snap.markets:
        market = view.market
        if market.strategy not in STRATEGIES:
            raise ConfigError([f"market {market.alias or market.slug}.strategy: "
                               f"expected one of {', '.join(STRATEGIES)}, "
                               f"got {market.strategy!r}"])
        ref = refs.get(market.asset) if market.asset else None
        reason = gate(view, ref, snap, params)
        if reason is not GateReason.NONE:
            decisions.append(MarketDecision(condition_id=market.condition_id, gate=reason))
            continue
        if market.strategy == UPDOWN and ref is not None:
            decision, qs = quote_updown(view, ref, snap.now_ms, params, limits)
        elif market.strategy == BANDS:
            decision, qs = quote_bands(view, params, limits)
        else:  # unreachable: the gate stops an updown market without a reference view
            decision, qs = MarketDecision(condition_id=market.condition_id,
                                          gate=GateReason.REF_STALE), ()
        decisions.append(decision)
        quotes.extend(qs)
    return DesiredQuotes(seq=snap.seq, now_ms=snap.now_ms, cause_recv_ns=snap.cause_recv_ns,
                         quotes=tuple(quotes), decisions=tuple(decisions))
