"""When a market gets no quotes at all (design §5, "Gating").

The checks run in one fixed order and the first that fails names the reason, so a decision
always reports the most fundamental problem (a dead user feed before a stale book):

1. ``KILL_SWITCH``      the snapshot's kill switch is on.
2. ``USER_FEED_DOWN``   the user feed is disconnected (fills would go unseen).
3. ``MARKET_FEED_DOWN`` the market feed is disconnected.
4. ``TICK_UNKNOWN``     no live tick for the market.
5. ``NOT_ACCEPTING``    the venue does not accept orders on the market.
6. ``NOT_STARTED``      ``now < start_ms`` and, for ``updown``, the strike is unknown. Up/down
                        books trade long before the window opens, so an up/down market whose
                        strike is already known quotes early; ``bands`` markets wait for the
                        start. ``start_ms <= 0`` means no known start.
7. ``STRIKE_UNKNOWN``   ``updown`` only: no (positive) strike.
8. ``NEAR_CLOSE``       fewer than ``min_seconds_to_close`` seconds to ``end_ms``
                        (``end_ms <= 0`` means no known end).
9. ``BOOK_RESYNC``      the book is not synced (no snapshot yet for both tokens, or a resync
                        is pending); then ``BOOK_STALE``: the last book event is older than
                        ``book_stale_ms``.
10. ``REF_STALE``       ``updown`` only: the price feed is down, there is no reference view for
                        the asset, or no weighted stream is fresher than ``ref_stale_ms``.

Pure code: time is the snapshot's ``now_ms``.
"""

from __future__ import annotations

from messages.quotes import GateReason, MarketView, QuoteSnapshot, RefView
from trading.params import QuoteParams
from trading.pricing import blend_ref

UPDOWN = "updown"
BANDS = "bands"
STRATEGIES = (UPDOWN, BANDS)

_NS_PER_MS = 1_000_000


def gate(view: MarketView, ref: RefView | None, snap: QuoteSnapshot,
         params: QuoteParams) -> GateReason:
    """The first reason (in the module's documented order) not to quote ``view``, or NONE."""
    market = view.market
    now_ms = snap.now_ms
    updown = market.strategy == UPDOWN
    strike_known = view.strike_e8 is not None and view.strike_e8 > 0
    if snap.kill_switch:
        return GateReason.KILL_SWITCH
    if not snap.user_feed_up:
        return GateReason.USER_FEED_DOWN
    if not snap.market_feed_up:
        return GateReason.MARKET_FEED_DOWN
    if view.tick_pips is None or view.tick_pips <= 0:
        return GateReason.TICK_UNKNOWN
    if not market.accepting_orders:
        return GateReason.NOT_ACCEPTING
    if market.start_ms > 0 and now_ms < market.start_ms and (not updown or not strike_known):
        return GateReason.NOT_STARTED
    if updown and not strike_known:
        return GateReason.STRIKE_UNKNOWN
    if market.end_ms > 0 and market.end_ms - now_ms < params.min_seconds_to_close * 1000:
        return GateReason.NEAR_CLOSE
    if not view.book_synced:
        return GateReason.BOOK_RESYNC
    if now_ms * _NS_PER_MS - view.book_recv_ns > params.book_stale_ms * _NS_PER_MS:
        return GateReason.BOOK_STALE
    if updown and (not snap.price_feed_up or ref is None
                   or blend_ref(ref, now_ms, params.ref_weights, params.ref_stale_ms) is None):
        return GateReason.REF_STALE
    return GateReason.NONE
