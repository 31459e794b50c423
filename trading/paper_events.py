"""The paper exchange's user-channel events, shaped as ``venue.wire_user`` decodes the live
ones, so the order tracker and ``trading.positions.Positions`` cannot tell them apart.

* ``OrderEvent``: PLACEMENT (status LIVE) when an order rests, UPDATE with the new
  ``size_matched`` on each fill (LIVE, or MATCHED once filled), CANCELLATION (CANCELED).
* ``TradeEvent``: for our maker fills, the top level describes the taker (``trader_side``
  MAKER) and our fills are ``maker_fills`` with our ``owner``; for a taking order the top level
  is our fill (``trader_side`` TAKER, ``owner`` ours). MATCHED first, CONFIRMED later.

Trade ids are UUID strings numbered from 1, and times are the caller's ``now_ms`` (receive
times are the same instant in ns): deterministic. Owned by the paper exchange's caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

from messages.ids import ConditionId, OrderHash, Side, TokenId, TradeId
from messages.user import MakerFill, OrderEvent, OrderEventType, TradeEvent, TradeStatus
from trading.paper_orders import RestingOrder

NS_PER_MS = 1_000_000

PaperEvent = OrderEvent | TradeEvent


class PaperEvents:
    """Builds the events of one owner, numbering its trades."""

    __slots__ = ("owner", "trades")

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.trades = 0

    def order(self, o: RestingOrder, type_: OrderEventType, status: str,
              now_ms: int) -> OrderEvent:
        return OrderEvent(order_id=o.id, condition_id=o.condition_id, token_id=o.token_id,
                          side=o.side, type=type_, status=status, price_pips=o.price_pips,
                          original_size_micro=o.size_micro, size_matched_micro=o.matched_micro,
                          owner=self.owner, ts_event_ms=now_ms, ts_recv_ns=now_ms * NS_PER_MS)

    def fill_update(self, o: RestingOrder, now_ms: int) -> OrderEvent:
        status = "MATCHED" if o.remaining_micro <= 0 else "LIVE"
        return self.order(o, OrderEventType.UPDATE, status, now_ms)

    def maker_trade(self, condition_id: ConditionId, fills: Sequence[tuple[RestingOrder, int]],
                    *, token_id: TokenId, taker_side: Side, price_pips: int,
                    now_ms: int) -> TradeEvent:
        """A taker (on ``token_id``, ``taker_side``, ``price_pips``) met our resting orders."""
        makers = tuple(MakerFill(order_id=o.id, owner=self.owner, token_id=o.token_id,
                                 side=o.side, price_pips=o.price_pips, matched_size_micro=size)
                       for o, size in fills)
        trade_id, n = self._next()
        return TradeEvent(trade_id=trade_id, status=TradeStatus.MATCHED,
                          condition_id=condition_id, token_id=token_id, side=taker_side,
                          price_pips=price_pips, size_micro=sum(size for _, size in fills),
                          taker_order_id=OrderHash(f"0x{n:064x}"), trader_side="MAKER",
                          owner=self.owner, maker_fills=makers, ts_event_ms=now_ms,
                          ts_recv_ns=now_ms * NS_PER_MS)

    def taker_trade(self, o: RestingOrder, price_pips: int, size_micro: int,
                    now_ms: int) -> TradeEvent:
        """Our order took ``size_micro`` at ``price_pips`` (its own token's price)."""
        trade_id, _ = self._next()
        return TradeEvent(trade_id=trade_id, status=TradeStatus.MATCHED,
                          condition_id=o.condition_id, token_id=o.token_id, side=o.side,
                          price_pips=price_pips, size_micro=size_micro, taker_order_id=o.id,
                          trader_side="TAKER", owner=self.owner, maker_fills=(),
                          ts_event_ms=now_ms, ts_recv_ns=now_ms * NS_PER_MS)

    def _next(self) -> tuple[TradeId, int]:
        self.trades += 1
        return TradeId(str(uuid.UUID(int=self.trades))), self.trades


def confirmed(ev: TradeEvent, ts_ms: int) -> TradeEvent:
    """The same trade, CONFIRMED at ``ts_ms``."""
    return replace(ev, status=TradeStatus.CONFIRMED, ts_event_ms=ts_ms,
                   ts_recv_ns=ts_ms * NS_PER_MS)
