"""User-channel events: our own orders and trades."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from messages.ids import ConditionId, OrderHash, Side, TokenId, TradeId


class OrderEventType(StrEnum):
    PLACEMENT = "PLACEMENT"
    UPDATE = "UPDATE"
    CANCELLATION = "CANCELLATION"


class TradeStatus(StrEnum):
    """Trade lifecycle: MATCHED → MINED → CONFIRMED, or RETRYING → FAILED (match undone)."""

    MATCHED = "MATCHED"
    MINED = "MINED"
    CONFIRMED = "CONFIRMED"
    RETRYING = "RETRYING"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEvent:
    """An ``order`` event for one of our orders.

    ``status`` is the venue's string (LIVE, MATCHED, DELAYED, UNMATCHED, CANCELED).
    """

    order_id: OrderHash
    condition_id: ConditionId
    token_id: TokenId
    side: Side
    type: OrderEventType
    status: str
    price_pips: int
    original_size_micro: int
    size_matched_micro: int
    owner: str
    ts_event_ms: int
    ts_recv_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MakerFill:
    """One resting order hit by a taker (an entry of ``maker_orders``)."""

    order_id: OrderHash
    owner: str
    token_id: TokenId
    side: Side
    price_pips: int
    matched_size_micro: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeEvent:
    """A ``trade`` event. Top-level token/side/price/size describe the taker's order.

    When we are the maker (``trader_side == "MAKER"``) our fills are the ``maker_fills`` whose
    ``owner`` is our API key; when we are the taker, the top level is our fill.
    The same ``trade_id`` arrives once per status change.
    """

    trade_id: TradeId
    status: TradeStatus
    condition_id: ConditionId
    token_id: TokenId
    side: Side
    price_pips: int
    size_micro: int
    taker_order_id: OrderHash
    trader_side: str
    owner: str
    maker_fills: tuple[MakerFill, ...]
    ts_event_ms: int
    ts_recv_ns: int
