"""The paper exchange: our orders rest in a local book and fill from the public tape.

In ``dry_run`` the bot reads Polymarket's public data and its orders come here instead of to
the venue; a gateway wraps this pure engine. ``post`` refuses what the venue refuses, with its
reasons and texts (``trading.paper_rules``), post-only crosses included.

**Latency, without timers.** An accepted order reaches the book ``latency_ms`` after ``post``,
a cancel lands ``latency_ms`` after ``cancel``. Both reply at once (what the gateway returns);
what they start happens when a later call (``advance``, ``on_book``, ``on_trade``, ``on_tick``,
``resolve``) first applies everything due by its ``now_ms``, in the order asked, and only then
reads its message. An order queues and fills only from its arrival; one whose cancel is in
flight can still fill. On arrival an order is checked again (post-only cross, closed market,
tick); one that fails is canceled (CANCELLATION) and counted in ``refused_on_arrival``. With
``latency_ms=0``, ``advance(now_ms)`` right after ``post`` or ``cancel`` collects what is due
at once. (``post`` and ``cancel`` have no events to return, so they apply nothing due: call
``advance`` first for balance checks that see every landed cancel.)

**Fills** come from prints on either token, after the public size that stood ahead of us at
our price on arrival (the queue, ``trading.paper_book``), and from a book showing liquidity
strictly through our price; at our price, makers paying no fee. A non-post-only order that
crosses on arrival takes at each level's price and pays the taker fee (``trading.fees``).
The rules: ``trading.paper_matching``. **Events** are the user channel's
(``trading.paper_events``), CONFIRMED ``confirm_ms`` after MATCHED. **Resolution** cancels the
market's resting orders and settles its positions at 1 pUSD a winning share, 0 a losing one.
Bad input (unknown tokens, markets or cancel ids, stale books, a print reported on both
tokens) never raises: it is counted in ``ignored_by``.

Pure: no threads, no clock, no randomness; integers only. Owned by one thread, the caller's.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from messages.ids import PIPS_PER_UNIT, ConditionId, OrderHash, Side, TokenId
from messages.market import BookChange, BookSnapshot, LastTrade, MarketResolved, TickSizeChanged
from messages.markets import Market
from messages.orders import RemoteOrder
from messages.user import OrderEventType, TradeEvent
from trading import paper_rules as rules
from trading.fees import NO_FEES, FeeSchedule
from trading.paper_book import MarketTape, flip, to_up
from trading.paper_events import PaperEvent, PaperEvents, confirmed
from trading.paper_ledger import (
    PaperAccount,
    PaperLedger,
    Settlement,
    notional_micro,
    winner_from_reference,
)
from trading.paper_matching import Fill, cross_fills, print_fills, take_levels
from trading.paper_orders import DONE, LIVE, PaperOrder, PaperPostResult, RestingOrder

__all__ = ["PaperEvent", "PaperExchange", "PaperOrder", "PaperPostResult", "Settlement",
           "winner_from_reference"]


@dataclass(slots=True)
class _Market:
    condition_id: ConditionId
    tape: MarketTape
    tick_pips: int
    min_size_micro: int
    resolved: bool = False


class PaperExchange:
    """Our orders in a local book, filled conservatively from the public tape.

    Args:
        owner: the ``owner`` our events carry (what the tracker and ``Positions`` call us).
        latency_ms: delay from ``post``/``cancel`` to its effect in the book.
        confirm_ms: delay from a trade's MATCHED to its CONFIRMED.
        echo_window_ms: how far apart (venue time) a print and its book echo may be.
        starting_cash_micro: pUSD for the BUY balance check; None: no BUY balance check.
        check_sell_balance: refuse a SELL beyond the position not already offered.
    """

    def __init__(self, *, owner: str, latency_ms: int = 0, confirm_ms: int = 0,
                 echo_window_ms: int = 1000, starting_cash_micro: int | None = None,
                 check_sell_balance: bool = True) -> None:
        self.owner = owner
        self.latency_ms = max(latency_ms, 0)
        self.confirm_ms = max(confirm_ms, 0)
        self.echo_window_ms = max(echo_window_ms, 0)
        self.starting_cash_micro = starting_cash_micro
        self.check_sell_balance = check_sell_balance
        self.ledger = PaperLedger()
        self.ignored_by: dict[str, int] = {}
        self.refused_on_arrival: dict[str, int] = {}
        self._events = PaperEvents(owner)
        self._markets: dict[ConditionId, _Market] = {}
        self._by_token: dict[TokenId, _Market] = {}
        self._orders: dict[OrderHash, RestingOrder] = {}  # in flight and resting
        self._known: set[OrderHash] = set()  # every accepted id, for Duplicated
        self._due: list[tuple[int, int, str, OrderHash | TradeEvent]] = []
        self._seq = 0

    # -- markets -------------------------------------------------------------------------------

    def set_market(self, *, condition_id: ConditionId, token_ids: tuple[TokenId, TokenId],
                   tick_pips: int, min_size_micro: int, fees: FeeSchedule = NO_FEES) -> None:
        """Add a market, or update its tick, minimum size and fees (its book stays)."""
        m = self._markets.get(condition_id)
        if m is None:
            m = _Market(condition_id, MarketTape(token_ids, self.echo_window_ms), tick_pips,
                        min_size_micro)
            self._markets[condition_id] = m
            for t in token_ids:
                self._by_token[t] = m
        m.tick_pips, m.min_size_micro = tick_pips, min_size_micro
        self.ledger.set_schedule(condition_id, fees)

    def set_market_from(self, market: Market) -> None:
        """``set_market`` from discovery's ``Market`` (its Gamma tick, size and fees)."""
        self.set_market(condition_id=market.condition_id, token_ids=market.token_ids,
                        tick_pips=market.tick_pips, min_size_micro=market.min_size_micro,
                        fees=FeeSchedule.of_market(market))

    # -- orders --------------------------------------------------------------------------------

    def post(self, orders: Sequence[PaperOrder], now_ms: int) -> list[PaperPostResult]:
        """Check each order as the venue would; an accepted one arrives at
        ``now_ms + latency_ms``."""
        out: list[PaperPostResult] = []
        for po in orders:
            key = OrderHash(po.order_id.lower())
            refusal = self._refusal(po, key)
            if refusal is not None:
                out.append(PaperPostResult(order_id=key, accepted=False, reason=refusal[0],
                                           message=refusal[1]))
                continue
            index = 0 if po.token_id == self._by_token[po.token_id].tape.token_ids[0] else 1
            self._seq += 1
            self._orders[key] = RestingOrder(
                id=key, condition_id=po.condition_id, token_id=po.token_id, index=index,
                side=po.side, price_pips=po.price_pips, size_micro=po.size_micro,
                post_only=po.post_only, key=to_up(index, po.side, po.price_pips), seq=self._seq)
            self._known.add(key)
            self._schedule(now_ms + self.latency_ms, "arrive", key)
            out.append(PaperPostResult(order_id=key, accepted=True, status="live"))
        return out

    def _refusal(self, po: PaperOrder, key: OrderHash) -> rules.Refusal | None:
        m = self._by_token.get(po.token_id)
        if m is None or m.condition_id != po.condition_id:
            return rules.invalid()
        if m.resolved:
            return rules.not_ready()
        if key in self._known:
            return rules.duplicated(po.order_id)
        refusal = self._book_refusal(m, po.order_id, po.token_id, po.side, po.price_pips,
                                     po.size_micro, post_only=po.post_only)
        if refusal is not None:
            return refusal
        same_side = [o for o in self._orders.values() if o.side is po.side]
        shares = cash = None
        if self.check_sell_balance:
            shares = self.ledger.position_micro(po.token_id) - sum(
                o.remaining_micro for o in same_side if o.token_id == po.token_id)
        if self.starting_cash_micro is not None:
            cash = self.starting_cash_micro + self.ledger.account().cash_micro - sum(
                notional_micro(o.price_pips, o.remaining_micro) for o in same_side)
        return rules.check_balance(po.side, po.price_pips, po.size_micro,
                                   sell_free_micro=shares, cash_free_micro=cash)

    def _book_refusal(self, m: _Market, order_id: str, token_id: TokenId, side: Side,
                      price_pips: int, size_micro: int, *, post_only: bool
                      ) -> rules.Refusal | None:
        index = 0 if token_id == m.tape.token_ids[0] else 1
        return rules.check_amounts(order_id, price_pips, size_micro, tick_pips=m.tick_pips,
                                   min_size_micro=m.min_size_micro) or (
            rules.post_only_cross() if post_only
            and m.tape.crosses(*to_up(index, side, price_pips)) else None)

    def cancel(self, ids: Sequence[str], now_ms: int
               ) -> tuple[list[OrderHash], dict[OrderHash, str]]:
        """Cancel our open orders (effective at ``now_ms + latency_ms``); ids that are not
        open get the venue's "can't be found" reason. Duplicates count once."""
        canceled: list[OrderHash] = []
        not_canceled: dict[OrderHash, str] = {}
        for oid in dict.fromkeys(OrderHash(i.lower()) for i in ids):
            o = self._orders.get(oid)
            if o is None:
                not_canceled[oid] = rules.NOT_CANCELED
                self._ignore("cancel_unknown")
                continue
            if not o.cancel_sent:
                o.cancel_sent = True
                self._schedule(now_ms + self.latency_ms, "cancel", oid)
            canceled.append(oid)
        return canceled, not_canceled

    def cancel_all(self, now_ms: int) -> list[OrderHash]:
        """Cancel every open or in-flight order of ours."""
        return self.cancel(sorted(self._orders), now_ms)[0]

    def open_orders(self, *, listed: bool = False) -> list[RemoteOrder]:
        """Our orders resting in the book (arrived, not yet canceled). ``listed``: as
        ``GET /data/orders`` shows them, without the ones whose cancel has been answered
        (the venue stops listing those at once; here the cancel lands after the latency, and a
        fill can still beat it)."""
        return [RemoteOrder(order_id=k, condition_id=o.condition_id, token_id=o.token_id,
                            side=o.side, price_pips=o.price_pips,
                            original_size_micro=o.size_micro,
                            size_matched_micro=o.matched_micro, status="LIVE")
                for k, o in sorted(self._orders.items())
                if o.state == LIVE and not (listed and o.cancel_sent)]

    # -- time and the tape ---------------------------------------------------------------------

    def advance(self, now_ms: int) -> list[PaperEvent]:
        """Apply every arrival, cancel and confirmation due at or before ``now_ms``."""
        out: list[PaperEvent] = []
        while self._due and self._due[0][0] <= now_ms:
            due_ms, _, kind, item = heapq.heappop(self._due)
            if isinstance(item, TradeEvent):
                out.append(confirmed(item, due_ms))
                continue
            o = self._orders.get(item)
            if o is None:
                continue
            m = self._markets[o.condition_id]
            out += self._arrive(m, o, due_ms) if kind == "arrive" else self._canceled(m, o, due_ms)
        return out

    def on_book(self, msg: BookSnapshot | BookChange, now_ms: int) -> list[PaperEvent]:
        """A book message of the market channel; our orders it crosses fill."""
        out = self.advance(now_ms)
        snap = msg if isinstance(msg, BookSnapshot) else None
        m = (self._by_token.get(snap.token_id) if snap is not None
             else self._markets.get(msg.condition_id))
        if m is None:
            self._ignore("unknown_token" if snap is not None else "unknown_market")
            return out
        for why in m.tape.apply(msg):
            self._ignore(why)
        if snap is not None:
            m.tick_pips = snap.tick_pips or m.tick_pips
            m.min_size_micro = snap.min_size_micro or m.min_size_micro
        for o, size in cross_fills(m.tape, self._live(m)):
            # The counterparty we never saw: a taker on our token's other side, at our price.
            out += self._maker_fills(m, [(o, size)], o.token_id, flip(o.side), o.price_pips,
                                     now_ms)
        return out

    def on_tick(self, msg: TickSizeChanged, now_ms: int) -> list[PaperEvent]:
        """The venue's tick changed: later orders are checked against the new one."""
        out = self.advance(now_ms)
        m = self._by_token.get(msg.token_id)
        if m is None:
            self._ignore("unknown_token")
        elif msg.new_tick_pips > 0:
            m.tick_pips = msg.new_tick_pips
        return out

    def on_trade(self, msg: LastTrade, now_ms: int) -> list[PaperEvent]:
        """A print on the market channel: fill what it reached (``trading.paper_matching``)."""
        out = self.advance(now_ms)
        m = self._by_token.get(msg.token_id)
        if m is None:
            self._ignore("unknown_token")
            return out
        if msg.size_micro <= 0 or not 0 < msg.price_pips < PIPS_PER_UNIT:
            self._ignore("bad_trade")
            return out
        index = m.tape.index(msg.token_id) or 0
        taker_side, q = to_up(index, msg.side, msg.price_pips)
        if m.tape.echoed_print(index, msg.ts_event_ms, q, msg.size_micro):
            self._ignore("echoed_print")
            return out
        budget = m.tape.on_print((flip(taker_side), q), msg.size_micro, msg.ts_event_ms)
        fills = print_fills(m.tape, self._live(m), taker_side, q, budget)
        if fills:
            out += self._maker_fills(m, fills, msg.token_id, msg.side, msg.price_pips, now_ms)
        return out

    def resolve(self, condition_id: ConditionId, winning_token_id: TokenId,
                now_ms: int) -> Settlement:
        """The market resolved: cancel its resting orders, settle its positions at 1 or 0.
        Orders still in flight are refused when they arrive."""
        out = self.advance(now_ms)
        m = self._markets.get(condition_id)
        if m is None or m.resolved or winning_token_id not in m.tape.token_ids:
            self._ignore("bad_resolution")
            return Settlement(condition_id=condition_id, winning_token_id=winning_token_id,
                              payout_micro=0, settled_micro=(), events=tuple(out))
        m.resolved = True
        for o in self._live(m):
            out += self._canceled(m, o, now_ms)
        payout, settled = self.ledger.settle(condition_id, m.tape.token_ids, winning_token_id)
        return Settlement(condition_id=condition_id, winning_token_id=winning_token_id,
                          payout_micro=payout, settled_micro=tuple(settled.items()),
                          events=tuple(out))

    def on_resolved(self, msg: MarketResolved, now_ms: int) -> Settlement:
        return self.resolve(msg.condition_id, msg.winning_token_id, now_ms)

    # -- queries -------------------------------------------------------------------------------

    @property
    def ignored(self) -> int:
        """How many inputs were ignored as bad (``ignored_by`` says why)."""
        return sum(self.ignored_by.values())

    def position_micro(self, token_id: TokenId) -> int:
        return self.ledger.position_micro(token_id)

    def positions_micro(self) -> dict[TokenId, int]:
        return self.ledger.positions_micro()

    def account(self, condition_id: ConditionId | None = None) -> PaperAccount:
        """Cash, fees, payouts, volumes and the rebate estimate, of one market or all."""
        return self.ledger.account(condition_id)

    def pnl_micro(self, marks_pips: dict[TokenId, int] | None = None) -> tuple[int, int]:
        """``(pnl, unmarked)``: cash with fees and resolutions, plus open positions marked."""
        return self.ledger.pnl_micro(marks_pips or {})

    def tick_pips(self, token_id: TokenId) -> int | None:
        """The tick orders on ``token_id`` are checked against (None: unknown market)."""
        m = self._by_token.get(token_id)
        return None if m is None else m.tick_pips

    def matched_micro(self, order_id: str) -> int | None:
        """What an order in flight or resting has matched (None once it is done)."""
        o = self._orders.get(OrderHash(order_id.lower()))
        return None if o is None else o.matched_micro

    # -- internals -----------------------------------------------------------------------------

    def _ignore(self, why: str) -> None:
        self.ignored_by[why] = self.ignored_by.get(why, 0) + 1

    def _schedule(self, due_ms: int, kind: str, item: OrderHash | TradeEvent) -> None:
        self._seq += 1
        heapq.heappush(self._due, (due_ms, self._seq, kind, item))

    def _live(self, m: _Market) -> list[RestingOrder]:
        return [o for o in self._orders.values()
                if o.state == LIVE and o.condition_id == m.condition_id]

    def _arrive(self, m: _Market, o: RestingOrder, now_ms: int) -> list[PaperEvent]:
        refusal = rules.not_ready() if m.resolved else self._book_refusal(
            m, o.id, o.token_id, o.side, o.price_pips, o.size_micro, post_only=o.post_only)
        if refusal is not None:
            reason = refusal[0].value
            self.refused_on_arrival[reason] = self.refused_on_arrival.get(reason, 0) + 1
            return self._canceled(m, o, now_ms)
        o.state, o.live_ms = LIVE, now_ms
        out: list[PaperEvent] = []
        if not o.post_only and m.tape.crosses(*o.key):
            for price, size in take_levels(m.tape, o):
                o.matched_micro += size
                self.ledger.fill(condition_id=m.condition_id, token_id=o.token_id,
                                 side=o.side, price_pips=price, size_micro=size, maker=False)
                out += self._trade(self._events.taker_trade(o, price, size, now_ms))
        if o.remaining_micro > 0:
            m.tape.join(o.id, o.key)
            out.append(self._events.order(o, OrderEventType.PLACEMENT, "LIVE", now_ms))
        else:
            self._finish(m, o)
        return out

    def _canceled(self, m: _Market, o: RestingOrder, now_ms: int) -> list[PaperEvent]:
        self._finish(m, o)
        return [self._events.order(o, OrderEventType.CANCELLATION, "CANCELED", now_ms)]

    def _finish(self, m: _Market, o: RestingOrder) -> None:
        o.state = DONE
        self._orders.pop(o.id, None)
        m.tape.leave(o.id, o.key)

    def _maker_fills(self, m: _Market, fills: list[Fill], token_id: TokenId, taker_side: Side,
                     taker_price: int, now_ms: int) -> list[PaperEvent]:
        out: list[PaperEvent] = []
        for o, size in fills:
            o.matched_micro += size
            self.ledger.fill(condition_id=m.condition_id, token_id=o.token_id, side=o.side,
                             price_pips=o.price_pips, size_micro=size, maker=True)
            out.append(self._events.fill_update(o, now_ms))
            if o.remaining_micro <= 0:
                self._finish(m, o)
        return out + self._trade(self._events.maker_trade(
            m.condition_id, fills, token_id=token_id, taker_side=taker_side,
            price_pips=taker_price, now_ms=now_ms))

    def _trade(self, ev: TradeEvent) -> list[PaperEvent]:
        if self.confirm_ms == 0:
            return [ev, confirmed(ev, ev.ts_event_ms)]
        self._schedule(ev.ts_event_ms + self.confirm_ms, "confirm", ev)
        return [ev]
