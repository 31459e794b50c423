"""An order's life as the tracker records it, and what the venue's word makes of it.

The states of the life cycle drawn in ``trading.order_tracker`` and the sets the diff and the
risk check read (``OPEN``, ``IN_FLIGHT``, ``TERMINAL``); the immutable records (``TrackedOrder``,
``Transition``); what reconciling against the venue's open orders found (``ReconcileResult``;
the venue's view of one order is ``messages.RemoteOrder``); and the pure rules that map a venue
status, a matched size or a cancel refusal onto a record (``venue_move``, ``gone_at_venue``).

Thread ownership: nothing here has state; every record is immutable. The OrderTracker that
holds them belongs to the OrderManager's thread. Pure code: no threads, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from messages.ids import ConditionId, OrderHash, Side, TokenId


class OrderState(StrEnum):
    PENDING_POST = "pending_post"
    LIVE = "live"
    PARTIAL = "partial"
    CANCEL_PENDING = "cancel_pending"
    UNKNOWN = "unknown"
    CANCELED = "canceled"
    FILLED = "filled"
    REJECTED = "rejected"
    NOT_PLACED = "not_placed"


OPEN = frozenset({OrderState.LIVE, OrderState.PARTIAL, OrderState.CANCEL_PENDING})
IN_FLIGHT = frozenset({OrderState.PENDING_POST, OrderState.UNKNOWN})
TERMINAL = frozenset({OrderState.CANCELED, OrderState.FILLED, OrderState.REJECTED,
                      OrderState.NOT_PLACED})
_GONE_MARKERS = ("not found", "already canceled", "already cancelled", "matched")
_CANCELED_STATUSES = ("CANCELED", "CANCELLED", "CANCELED_MARKET_RESOLVED")


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackedOrder:
    """One order as we know it. ``size_micro`` is the original size, ``matched_micro`` what has
    filled; times are the decision clock in ms (0 = not yet)."""

    order_id: OrderHash
    condition_id: ConditionId
    token_id: TokenId
    side: Side
    price_pips: int
    size_micro: int
    state: OrderState
    sent_ms: int
    matched_micro: int = 0
    placed_ms: int = 0
    cancel_ms: int = 0
    unknown_ms: int = 0
    next_check_ms: int = 0

    @property
    def remaining_micro(self) -> int:
        return max(self.size_micro - self.matched_micro, 0)


_new = object.__new__
_put = object.__setattr__


def moved(o: TrackedOrder, state: OrderState, changes: Mapping[str, int]) -> TrackedOrder:
    """``dataclasses.replace(o, state=state, **changes)`` at about a third of its cost: the
    tracker makes one per transition, on the order path. ``changes`` names int fields only
    (``venue_move``'s). A test holds it to ``replace`` over every field."""
    new: TrackedOrder = _new(TrackedOrder)
    get = changes.get
    _put(new, "order_id", o.order_id)
    _put(new, "condition_id", o.condition_id)
    _put(new, "token_id", o.token_id)
    _put(new, "side", o.side)
    _put(new, "price_pips", o.price_pips)
    _put(new, "size_micro", o.size_micro)
    _put(new, "state", state)
    _put(new, "sent_ms", get("sent_ms", o.sent_ms))
    _put(new, "matched_micro", get("matched_micro", o.matched_micro))
    _put(new, "placed_ms", get("placed_ms", o.placed_ms))
    _put(new, "cancel_ms", get("cancel_ms", o.cancel_ms))
    _put(new, "unknown_ms", get("unknown_ms", o.unknown_ms))
    _put(new, "next_check_ms", get("next_check_ms", o.next_check_ms))
    return new


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    """An order changed state; ``order`` is its record after the change."""

    order: TrackedOrder
    old: OrderState
    reason: str = ""

    @property
    def new(self) -> OrderState:
        return self.order.state


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcileResult:
    """``strays``: open at the venue but not ours (cancel them); ``transitions``: our orders
    whose state the venue's list changed."""

    strays: tuple[OrderHash, ...]
    transitions: tuple[Transition, ...]


def order_key(order_id: str) -> OrderHash:
    """The tracker's key for an order id: the venue answers in either case."""
    return OrderHash(order_id.lower())


def gone_at_venue(not_canceled_reason: str) -> bool:
    """A cancel refusal that means the order is gone either way (not found, already canceled
    or matched), rather than still resting."""
    return any(m in not_canceled_reason.lower() for m in _GONE_MARKERS)


def venue_move(o: TrackedOrder, status: str, matched_micro: int, now_ms: int, *,
               authoritative: bool = False) -> tuple[OrderState, dict[str, int]]:
    """The state and field changes the venue's word makes of ``o``.

    ``status`` is CANCELED, MATCHED, LIVE, or anything else for "placed, state unchanged";
    ``matched_micro`` the venue's matched size, never taken below what we already counted.
    Only an ``authoritative`` LIVE (a lookup or the open-orders list) undoes an unconfirmed
    cancel: an order event may predate the cancel.
    """
    matched = max(matched_micro, o.matched_micro)
    status = status.upper()
    if status in _CANCELED_STATUSES:
        return OrderState.CANCELED, {"matched_micro": matched}
    if matched >= o.size_micro or status == "MATCHED":
        return OrderState.FILLED, {"matched_micro": max(matched, o.size_micro)}
    placed = o.placed_ms or now_ms
    if o.state is OrderState.CANCEL_PENDING and not (authoritative and status == "LIVE"):
        return o.state, {"matched_micro": matched, "placed_ms": placed}
    state = OrderState.PARTIAL if matched > 0 else OrderState.LIVE
    return state, {"matched_micro": matched, "placed_ms": placed}
