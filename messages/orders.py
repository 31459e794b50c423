"""Order commands and the events the OrderManager emits about its orders."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from messages.ids import ConditionId, OrderHash, Side, TokenId


class RejectReason(StrEnum):
    """Why the venue (or our own risk check) refused an order."""

    POST_ONLY_CROSS = "post_only_cross"
    TICK = "tick"
    MIN_SIZE = "min_size"
    BALANCE = "balance"
    DUPLICATE = "duplicate"
    RATE_LIMITED = "rate_limited"
    TOO_EARLY = "too_early"
    POST_ONLY_MODE = "post_only_mode"
    TRADING_DISABLED = "trading_disabled"
    AUTH = "auth"
    INVALID = "invalid"
    SERVER = "server"
    TIMEOUT = "timeout"
    RISK = "risk"
    OTHER = "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelAll:
    """Cancel every order of our credentials at the venue (and stop quoting if ``halt``)."""

    reason: str
    halt: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPlaced:
    """The venue accepted an order (``status``: live, matched, delayed, unmatched)."""

    order_id: OrderHash
    condition_id: ConditionId
    token_id: TokenId
    side: Side
    price_pips: int
    size_micro: int
    status: str
    ts_recv_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected:
    """An order was refused, by the venue or by a risk limit (``reason`` RISK)."""

    order_id: OrderHash
    condition_id: ConditionId
    token_id: TokenId
    reason: RejectReason
    message: str
    ts_recv_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCanceled:
    """An order is gone from the book (our cancel, the venue's, or market resolution)."""

    order_id: OrderHash
    condition_id: ConditionId
    reason: str
    ts_recv_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled:
    """Part or all of one of our orders matched (provisional until CONFIRMED)."""

    order_id: OrderHash
    trade_id: str
    condition_id: ConditionId
    token_id: TokenId
    side: Side
    price_pips: int
    size_micro: int
    status: str
    ts_recv_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteOrder:
    """An order as ``GET /data/order(s)`` reports it (``status`` upper-case: LIVE, MATCHED,
    CANCELED, ...)."""

    order_id: OrderHash
    condition_id: ConditionId
    token_id: TokenId
    side: Side
    price_pips: int
    original_size_micro: int
    size_matched_micro: int
    status: str
