"""The dry run's venue gateway: the paper exchange behind ``venue.gateway.Gateway``.

The OrderManager cannot tell it from the CLOB: it signs (checks amounts as the CLOB gateway
does, without a key: the order id is a local hash), posts, cancels and cancels all with the
same typed outcomes, and the fills come back as the user channel's order and trade events. It
also takes the market channel's messages (``on_market``), which the paper exchange fills our
orders from, and ``advance`` applies what its latency has made due. The reference prices
(``on_reference``) settle each up/down window when it ends, as the venue would
(``trading.paper_settle``): the gateway then hands back a ``MarketResolved`` of its own
(``from_reference``) for the State, which the venue's channel may never send once the market
has left the traded set.

Thread ownership: the OrderManager's thread (or a backtest's one thread). ``wall_ms`` is the
clock the paper exchange's latency runs on: the wall clock in a dry run, the virtual clock in a
backtest.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any

from messages import (
    BookChange,
    BookSnapshot,
    DesiredQuote,
    LastTrade,
    Market,
    MarketResolved,
    OrderHash,
    PriceUpdate,
    RejectReason,
    RemoteOrder,
    TickSizeChanged,
    TokenId,
    TradeEvent,
)
from trading.paper_exchange import PaperEvent, PaperExchange, PaperOrder
from trading.paper_settle import ReferenceSettler
from venue.gateway import (
    CancelReply,
    MarketInfo,
    PostOutcome,
    PostReply,
    PostVerdict,
    SignedOrder,
    SignRefusal,
    check_quote,
)
from venue.refusals import Refusal

MarketMessage = BookSnapshot | BookChange | LastTrade | TickSizeChanged | MarketResolved
PAPER_MESSAGES = (BookSnapshot, BookChange, LastTrade, TickSizeChanged, MarketResolved)


class PaperGateway:
    """A ``Gateway`` over one ``PaperExchange`` (see the module docstring)."""

    def __init__(self, exchange: PaperExchange, *, post_only: bool,
                 wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self.exchange = exchange
        self._post_only = post_only
        self._wall_ms = wall_ms
        self._n = 0
        self.settler = ReferenceSettler()

    # -- the market channel --------------------------------------------------------------------

    def set_markets(self, markets: Sequence[Market]) -> None:
        for m in markets:
            self.exchange.set_market_from(m)
        self.settler.set_markets(markets)

    def on_market(self, msg: MarketMessage) -> list[PaperEvent]:
        """A market-channel message: the fills (and cancels) it caused, as user events."""
        now = self._wall_ms()
        ex = self.exchange
        if isinstance(msg, BookSnapshot | BookChange):
            return ex.on_book(msg, now)
        if isinstance(msg, LastTrade):
            return ex.on_trade(msg, now)
        if isinstance(msg, TickSizeChanged):
            return ex.on_tick(msg, now)
        if self.settler.is_settled(msg.condition_id):
            return []  # settled already: from the reference, or a repeat of the venue's
        self.settler.resolved(msg.condition_id)
        return list(ex.on_resolved(msg, now).events)

    def on_reference(self, msg: PriceUpdate) -> tuple[list[PaperEvent], list[MarketResolved]]:
        """A reference price: the windows it settles (``trading.paper_settle``), each as the
        events of its resolution (its resting orders canceled) and a ``MarketResolved`` for
        the State, stamped with the price's times."""
        events: list[PaperEvent] = []
        resolutions: list[MarketResolved] = []
        settled = self.settler.on_price(msg)
        if not settled:
            return events, resolutions
        now = self._wall_ms()
        for done in settled:
            events += self.exchange.resolve(done.condition_id, done.winning_token_id,
                                            now).events
            resolutions.append(MarketResolved(
                condition_id=done.condition_id, winning_token_id=done.winning_token_id,
                winning_outcome=done.winning_outcome, ts_event_ms=msg.ts_event_ms,
                ts_recv_ns=msg.ts_recv_ns, from_reference=True))
        return events, resolutions

    def summary(self) -> dict[str, Any]:
        """The paper account for the status and the run summary (USD; micro-units inside)."""
        a = self.exchange.account()
        return {"fills": a.fills, "cash_usd": a.cash_micro / 1e6, "fees_usd": a.fees_micro / 1e6,
                "payouts_usd": a.payout_micro / 1e6,
                "maker_volume_shares": a.maker_volume_micro / 1e6,
                "taker_volume_shares": a.taker_volume_micro / 1e6,
                "rebate_estimate_usd": a.rebate_estimate_micro / 1e6,
                "open_orders": len(self.exchange.open_orders()),
                "ignored_inputs": self.exchange.ignored,
                "settled_from_reference": self.settler.from_reference,
                "unsettled_windows": self.settler.given_up}

    def advance(self) -> list[PaperEvent]:
        """What the latency has made due by now (arrivals, cancels, confirmations)."""
        return self.exchange.advance(self._wall_ms())

    def finish(self) -> list[PaperEvent]:
        """The run is over: everything still in flight lands now (the cancels of the shutdown,
        arrivals, confirmations), as the venue would carry them out, so nothing is left
        resting in the paper book or counted as open."""
        ex = self.exchange
        return ex.advance(self._wall_ms() + max(ex.latency_ms, ex.confirm_ms))

    # -- the Gateway ---------------------------------------------------------------------------

    def sign(self, quote: DesiredQuote, market: MarketInfo,
             tick_pips: int) -> SignedOrder | SignRefusal:
        checked = check_quote(quote, market, tick_pips)
        if isinstance(checked, SignRefusal):
            return checked
        quote = checked[0]
        size = quote.size_micro
        self._n += 1
        # A local id shaped like the venue's (32 bytes of hex), unique per order.
        digest = hashlib.sha256(f"paper:{self._n}:{quote.token_id}:{quote.side.value}:"
                                f"{quote.price_pips}:{size}".encode()).hexdigest()
        return SignedOrder(order_id=OrderHash("0x" + digest), quote=quote, body=b"")

    def post(self, orders: Sequence[SignedOrder]) -> PostReply:
        now_ns = time.time_ns()
        results = self.exchange.post([
            PaperOrder(order_id=o.order_id, condition_id=o.quote.condition_id,
                       token_id=o.quote.token_id, side=o.quote.side,
                       price_pips=o.quote.price_pips, size_micro=o.quote.size_micro,
                       post_only=self._post_only) for o in orders], self._wall_ms())
        outcomes = tuple(
            PostOutcome(order_id=r.order_id, verdict=PostVerdict.ACCEPTED,
                        status=r.status or "live") if r.accepted else
            PostOutcome(order_id=r.order_id, verdict=PostVerdict.REJECTED,
                        reason=r.reason or RejectReason.OTHER, message=r.message)
            for r in results)
        return PostReply(outcomes=outcomes, sent_ns=now_ns, recv_ns=time.time_ns())

    def begin_cancel(self, ids: Sequence[OrderHash]) -> object | Refusal:
        return tuple(ids)

    def finish_cancel(self, pending: object) -> CancelReply | Refusal:
        assert isinstance(pending, tuple)
        canceled, not_canceled = self.exchange.cancel(list(pending), self._wall_ms())
        return CancelReply(canceled=tuple(canceled), not_canceled=dict(not_canceled))

    def cancel_all(self) -> CancelReply | Refusal:
        return CancelReply(canceled=tuple(self.exchange.cancel_all(self._wall_ms())))

    def heartbeat(self) -> Refusal | None:
        return None  # nothing rests at a venue: there is no dead-man switch to keep

    def tick_size(self, token_id: TokenId) -> int | Refusal:
        tick = self.exchange.tick_pips(token_id)
        if tick is None:
            return Refusal(reason=RejectReason.INVALID, message=f"unknown token {token_id}")
        return tick

    def open_orders(self) -> list[RemoteOrder]:
        return self.exchange.open_orders(listed=True)

    def look_up(self, order_id: OrderHash) -> RemoteOrder | None:
        return next((o for o in self.open_orders() if o.order_id == order_id), None)

    def our_trades(self) -> list[TradeEvent]:
        return []  # the paper exchange's events reach the OrderManager as they happen
