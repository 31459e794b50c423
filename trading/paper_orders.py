"""Orders at the paper exchange: what the bot posts, what the venue answers, and our order as
the paper book holds it.

Pure data. A ``RestingOrder`` is mutable and belongs to the paper exchange's caller's thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from messages.ids import ConditionId, OrderHash, Side, TokenId
from messages.orders import RejectReason
from trading.paper_book import LevelKey

PENDING, LIVE, DONE = "pending", "live", "done"
"""A resting order's states: in flight to the book, in the book, gone (filled or canceled)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PaperOrder:
    """An order as the bot posts it (nothing about it is assumed valid)."""

    order_id: OrderHash
    condition_id: ConditionId
    token_id: TokenId
    side: Side
    price_pips: int
    size_micro: int
    post_only: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class PaperPostResult:
    """The reply to one posted order: accepted (``status`` "live") or refused with the venue's
    ``reason`` and ``message``."""

    order_id: OrderHash
    accepted: bool
    status: str = ""
    reason: RejectReason | None = None
    message: str = ""


@dataclass(slots=True, kw_only=True)
class RestingOrder:
    """One of our orders at the paper venue. ``key`` is its level in Up terms; ``state`` is
    PENDING (in flight), LIVE (in the book) or DONE."""

    id: OrderHash  # lower case, as the venue answers
    condition_id: ConditionId
    token_id: TokenId
    index: int
    side: Side
    price_pips: int
    size_micro: int
    post_only: bool
    key: LevelKey
    seq: int
    state: str = PENDING
    matched_micro: int = 0
    live_ms: int = 0
    cancel_sent: bool = False

    @property
    def remaining_micro(self) -> int:
        return self.size_micro - self.matched_micro
