"""Every order we sent, by its hash, from signing to its end (design §5, protocol §5, §7.6).

An order's EIP-712 hash is the venue's order id and is known before the POST goes out, so an
order is tracked from the moment it is signed::

    PENDING_POST ──ack──► LIVE ──fill──► PARTIAL ──► FILLED
         │  │               └──cancel sent──► CANCEL_PENDING ──► CANCELED
         │  └──reject──► REJECTED
         └──timeout──► UNKNOWN ──event / GET /data/order──► LIVE | PARTIAL | FILLED | CANCELED
                                └──not found after resolve_timeout──► NOT_PLACED

An UNKNOWN order is never re-sent (a re-sent signed order is ``Duplicated`` at best, a double
position at worst); it counts as in flight, so the diff posts nothing new on its level, and it
is resolved from the user feed or from ``GET /data/order/{hash}`` within ``resolve_timeout``.
A cancel whose reply never came stays CANCEL_PENDING and is checked the same way.

Orders at the venue that we never sent (after a restart, or a not-placed order that landed
after all) are "unknown orders": reconciliation and order events report them so the caller can
cancel them. Our fills go through the one ledger (``trading.positions.Positions``, the
same rules the State's model applies) for the worst-case risk check: positions and what they
cost. The states, records and the rules for the venue's word are in ``trading.order_records``.
Pure: no threads, no clock (``now_ms`` is an argument); owned by the OrderManager's thread.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence

from messages.ids import ConditionId, OrderHash, Side, TokenId
from messages.orders import RemoteOrder
from messages.quotes import DesiredQuote
from messages.treasury import PositionsMerged, PositionsRedeemed
from messages.user import OrderEvent, OrderEventType, TradeEvent
from trading.diff import LiveOrder
from trading.order_records import (
    IN_FLIGHT,
    OPEN,
    TERMINAL,
    OrderState,
    ReconcileResult,
    TrackedOrder,
    Transition,
    gone_at_venue,
    moved,
    order_key,
    venue_move,
)
from trading.positions import FillChange, Positions

# The tracker's callers take the order vocabulary from here, beside the tracker.
__all__ = ["IN_FLIGHT", "OPEN", "TERMINAL", "OrderState", "OrderTracker", "ReconcileResult",
           "RemoteOrder", "TrackedOrder", "Transition"]


class OrderTracker:
    """Live orders, in-flight intents and their resolution.

    Args:
        owner: how the user feed names us in ``owner`` fields (``"self"`` after redaction).
        resolve_timeout_ms: how long an UNKNOWN post or unconfirmed cancel may stay unresolved.
        check_interval_ms: how often such an order is looked up with ``GET /data/order``.
        memory: how many finished order ids (and trade fills) are remembered, so late events
            for them are recognised rather than taken for unknown orders.
    """

    def __init__(self, *, owner: str, resolve_timeout_ms: int, check_interval_ms: int = 1000,
                 memory: int = 8192) -> None:
        self.owner = owner
        self.resolve_timeout_ms = resolve_timeout_ms
        self.check_interval_ms = check_interval_ms
        self._memory = memory
        self._orders: dict[OrderHash, TrackedOrder] = {}
        self._views: dict[OrderHash, LiveOrder] = {}  # see live_orders; finished ones leave
        self._finished: OrderedDict[OrderHash, OrderState] = OrderedDict()
        self._trade_matched: dict[OrderHash, int] = {}
        self._strays: set[OrderHash] = set()
        self.ledger = Positions(owner)
        self.duplicates_prevented = 0
        self.duplicates_reported = 0
        self.unknown_resolved = 0
        self.unknown_orders = 0

    # -- queries ---------------------------------------------------------------------------

    def get(self, order_id: str) -> TrackedOrder | None:
        return self._orders.get(order_key(order_id))

    def orders(self) -> list[TrackedOrder]:
        """Every non-finished order, in hash order."""
        return [self._orders[k] for k in sorted(self._orders)]

    def live_orders(self) -> list[LiveOrder]:
        """Resting orders for the diff (remaining size), including unconfirmed cancels.

        A pass asks for them several times and each order's view changes only with its
        remaining size or acknowledgement time, so a view is kept per order and rebuilt only
        then: building frozen records is most of this call's cost on the order path."""
        views = self._views
        out: list[LiveOrder] = []
        for k in sorted(self._orders):
            o = self._orders[k]
            remaining = o.remaining_micro
            if o.state not in OPEN or remaining <= 0:
                continue
            v = views.get(k)
            if v is None or v.size_micro != remaining or v.placed_ms != o.placed_ms:
                v = views[k] = LiveOrder(order_id=o.order_id, condition_id=o.condition_id,
                                         token_id=o.token_id, side=o.side,
                                         price_pips=o.price_pips, size_micro=remaining,
                                         placed_ms=o.placed_ms)
            out.append(v)
        return out

    def pending_cancels(self) -> set[OrderHash]:
        return {k for k, o in self._orders.items() if o.state is OrderState.CANCEL_PENDING}

    def in_flight_posts(self) -> list[DesiredQuote]:
        """Posts sent and not acknowledged, UNKNOWN ones included."""
        return [DesiredQuote(condition_id=o.condition_id, token_id=o.token_id, side=o.side,
                             price_pips=o.price_pips, size_micro=o.remaining_micro)
                for o in self.orders() if o.state in IN_FLIGHT]

    def open_orders_per_market(self) -> dict[ConditionId, int]:
        """Orders open or in flight per market (the risk check's order count)."""
        out: dict[ConditionId, int] = {}
        for o in self._orders.values():
            out[o.condition_id] = out.get(o.condition_id, 0) + 1
        return out

    def open_size_micro(self, token_id: TokenId) -> tuple[int, int]:
        """(BUY, SELL) size that may still fill on ``token_id``: open, in flight and unknown."""
        buy = sell = 0
        for o in self._orders.values():
            if o.token_id == token_id:
                if o.side is Side.BUY:
                    buy += o.remaining_micro
                else:
                    sell += o.remaining_micro
        return buy, sell

    @property
    def fills(self) -> int:
        """Our fills that stand (a FAILED trade's are taken back)."""
        return self.ledger.fills

    def positions(self) -> dict[TokenId, int]:
        """Net position per token from our fills (MATCHED on; FAILED reversed)."""
        return self.ledger.positions_micro()

    def position_cost_micro(self) -> int:
        """What our long positions cost (pUSD micro), for the notional limit."""
        return self.ledger.cost_micro()

    def counts(self) -> dict[str, int]:
        """How many orders are in each non-final state."""
        out = {s.value: 0 for s in OrderState if s not in TERMINAL}
        for o in self._orders.values():
            out[o.state.value] += 1
        return out

    def is_finished(self, order_id: str) -> bool:
        return order_key(order_id) in self._finished

    # -- bookkeeping helpers -----------------------------------------------------------------

    def _set(self, o: TrackedOrder, state: OrderState, reason: str = "",
             **changes: int) -> Transition | None:
        if o.state is state and not changes:
            return None
        new = moved(o, state, changes)
        if o.state is OrderState.UNKNOWN and state is not OrderState.UNKNOWN:
            self.unknown_resolved += 1  # whatever settled it: an event, a look-up, a reply
        if state in TERMINAL:
            self._orders.pop(o.order_id, None)
            self._views.pop(o.order_id, None)
            self._trade_matched.pop(o.order_id, None)
            self._finished[o.order_id] = state
            while len(self._finished) > self._memory:
                self._finished.popitem(last=False)
        else:
            self._orders[o.order_id] = new
        return None if o.state is state else Transition(order=new, old=o.state, reason=reason)

    def _apply_remote(self, o: TrackedOrder, status: str, matched: int, now_ms: int,
                      reason: str, *, authoritative: bool = False) -> Transition | None:
        """Move ``o`` to what the venue says (see ``venue_move``)."""
        state, changes = venue_move(o, status, matched, now_ms, authoritative=authoritative)
        return self._set(o, state, reason, **changes)

    # -- posting ---------------------------------------------------------------------------

    def add_pending(self, order_id: str, quote: DesiredQuote, now_ms: int) -> bool:
        """Track a signed order before it is sent; False (and counted) if the hash is known,
        which means the same signed order would go out twice: do not send it."""
        key = order_key(order_id)
        if key in self._orders or key in self._finished:
            self.duplicates_prevented += 1
            return False
        self._orders[key] = TrackedOrder(
            order_id=key, condition_id=quote.condition_id, token_id=quote.token_id,
            side=quote.side, price_pips=quote.price_pips, size_micro=quote.size_micro,
            state=OrderState.PENDING_POST, sent_ms=now_ms)
        return True

    def post_accepted(self, order_id: str, status: str, now_ms: int) -> Transition | None:
        """The POST reply accepted the order (``live``, ``delayed``, ``unmatched``, ``matched``)."""
        o = self._orders.get(order_key(order_id))
        if o is None or o.state not in IN_FLIGHT:
            return None
        if status.lower() == "matched":
            return self._set(o, OrderState.FILLED, "matched on post", matched_micro=o.size_micro)
        return self._set(o, OrderState.LIVE, status, placed_ms=now_ms)

    def post_rejected(self, order_id: str, reason: str, *, duplicate: bool,
                      now_ms: int) -> Transition | None:
        """The venue refused the order. ``Duplicated`` means it has one with this hash: that
        one is ours, so it becomes UNKNOWN and is looked up rather than forgotten."""
        o = self._orders.get(order_key(order_id))
        if o is None or o.state not in IN_FLIGHT:
            return None
        if duplicate:
            self.duplicates_reported += 1
            return self._set(o, OrderState.UNKNOWN, reason, unknown_ms=now_ms,
                             next_check_ms=now_ms)
        return self._set(o, OrderState.REJECTED, reason)

    def post_unknown(self, order_id: str, now_ms: int) -> Transition | None:
        """The POST timed out after sending: the order may or may not rest at the venue."""
        o = self._orders.get(order_key(order_id))
        if o is None or o.state is not OrderState.PENDING_POST:
            return None
        return self._set(o, OrderState.UNKNOWN, "post outcome unknown", unknown_ms=now_ms,
                         next_check_ms=now_ms + self.check_interval_ms)

    # -- canceling -------------------------------------------------------------------------

    def cancel_sent(self, ids: Iterable[str], now_ms: int) -> None:
        for oid in ids:
            o = self._orders.get(order_key(oid))
            if o is not None and o.state in OPEN:
                self._set(o, OrderState.CANCEL_PENDING, cancel_ms=now_ms,
                          next_check_ms=now_ms + self.resolve_timeout_ms)

    def cancel_failed(self, ids: Iterable[str]) -> None:
        """The cancel request was refused as a whole: the orders still rest."""
        for oid in ids:
            o = self._orders.get(order_key(oid))
            if o is not None and o.state is OrderState.CANCEL_PENDING:
                self._set(o, OrderState.PARTIAL if o.matched_micro else OrderState.LIVE)

    def cancel_reply(self, canceled: Iterable[str], not_canceled: Mapping[OrderHash, str],
                     now_ms: int) -> list[Transition]:
        """Apply a ``{"canceled": [...], "not_canceled": {id: reason}}`` reply.

        "Not found / already canceled or matched" means the order is gone either way (a fill
        arrives as a trade event); any other reason means it still rests and the next diff
        cancels it again.
        """
        out: list[Transition] = []
        for oid in canceled:
            o = self._orders.get(order_key(oid))
            if o is not None:
                t = self._set(o, OrderState.CANCELED, "canceled")
                if t is not None:
                    out.append(t)
        for oid, why in not_canceled.items():
            o = self._orders.get(order_key(oid))
            if o is None:
                continue
            if gone_at_venue(why):
                t = self._set(o, OrderState.CANCELED, f"not canceled: {why}")
                if t is not None:
                    out.append(t)
            elif o.state is OrderState.CANCEL_PENDING:
                self._set(o, OrderState.PARTIAL if o.matched_micro else OrderState.LIVE)
        return out

    # -- user feed -------------------------------------------------------------------------

    def on_order_event(self, ev: OrderEvent, now_ms: int) -> tuple[Transition | None, bool]:
        """Apply an order event; returns (transition, stray) where ``stray`` says the event is
        about an open order we did not send (or gave up on): cancel it."""
        o = self._orders.get(order_key(ev.order_id))
        live = ev.type is not OrderEventType.CANCELLATION and ev.status.upper() in (
            "LIVE", "DELAYED", "UNMATCHED")
        if o is None:
            key = order_key(ev.order_id)
            # A late event of an order that ended canceled or filled is old news; one that we
            # gave up on (not placed) or that was refused is resting after all: a stray.
            if self._finished.get(key) in (OrderState.CANCELED, OrderState.FILLED):
                return None, False
            return None, live and self._stray(key)
        if ev.type is OrderEventType.CANCELLATION:
            return self._apply_remote(o, "CANCELED", ev.size_matched_micro, now_ms,
                                      "canceled (user feed)"), False
        return self._apply_remote(o, ev.status, ev.size_matched_micro, now_ms,
                                  "user feed"), False

    def _stray(self, key: OrderHash) -> bool:
        if key not in self._strays:
            self._strays.add(key)
            if key not in self._finished:
                self.unknown_orders += 1
        return True

    def on_trade_event(self, ev: TradeEvent, now_ms: int) -> tuple[FillChange,
                                                                   list[Transition]]:
        """Apply a trade event to the ledger; returns what it changed and the orders its new
        fills moved on (partly or fully filled).

        The same trade arrives once per status; a fill counts at its first sighting and is
        undone by FAILED. Fills of orders we no longer track still move positions.
        """
        change = self.ledger.apply(ev)
        transitions: list[Transition] = []
        for f in change.added:
            o = self._orders.get(f.order_id)
            if o is None:
                continue
            total = self._trade_matched.get(f.order_id, 0) + f.size_micro
            self._trade_matched[f.order_id] = total
            t = self._apply_remote(o, "FILL", total, now_ms, "fill")
            if t is not None:
                transitions.append(t)
        return change, transitions

    def on_collateral(self, msg: PositionsMerged | PositionsRedeemed) -> None:
        """Tokens the Treasury merged or redeemed leave the positions; what they cost leaves
        the notional the risk check counts."""
        if isinstance(msg, PositionsMerged):
            self.ledger.apply_merged(msg)
        else:
            self.ledger.apply_redeemed(msg)

    # -- resolution ------------------------------------------------------------------------

    def due_checks(self, now_ms: int) -> list[OrderHash]:
        """UNKNOWN posts and overdue unconfirmed cancels to look up with ``GET /data/order``."""
        return sorted(k for k, o in self._orders.items()
                      if o.state in (OrderState.UNKNOWN, OrderState.CANCEL_PENDING)
                      and o.next_check_ms <= now_ms)

    def resolve(self, order_id: str, remote: RemoteOrder | None,
                now_ms: int) -> Transition | None:
        """Apply a ``GET /data/order`` answer (None = the venue has no such order)."""
        o = self._orders.get(order_key(order_id))
        if o is None:
            return None
        if remote is not None:
            return self._apply_remote(o, remote.status, remote.size_matched_micro, now_ms,
                                      "looked up", authoritative=True)
        if o.state is OrderState.CANCEL_PENDING:
            return self._set(o, OrderState.CANCELED, "not found at the venue")
        if o.state is OrderState.UNKNOWN:
            if now_ms >= o.unknown_ms + self.resolve_timeout_ms:
                return self._set(o, OrderState.NOT_PLACED, "not found at the venue")
            self._set(o, o.state, next_check_ms=now_ms + self.check_interval_ms)
        return None

    def check_failed(self, order_id: str, now_ms: int) -> None:
        """The lookup itself failed: try again later (never conclude anything from it)."""
        o = self._orders.get(order_key(order_id))
        if o is not None:
            self._set(o, o.state, next_check_ms=now_ms + self.check_interval_ms)

    def reconcile(self, remote_open: Sequence[RemoteOrder], now_ms: int) -> ReconcileResult:
        """Align with the venue's list of our open orders (start-up, user-feed reconnect).

        Open at the venue and unknown to us → stray (cancel). Ours and open → LIVE/PARTIAL
        (an UNKNOWN one is resolved). Ours, open here and absent there → gone (its fills come
        as trades). PENDING_POST and UNKNOWN orders absent there stay as they are: the POST may
        still land, or the lookup decides.
        """
        seen: set[OrderHash] = set()
        strays: list[OrderHash] = []
        transitions: list[Transition] = []
        for r in remote_open:
            key = order_key(r.order_id)
            seen.add(key)
            o = self._orders.get(key)
            if o is None:
                self._stray(key)
                strays.append(key)
                continue
            t = self._apply_remote(o, "LIVE", r.size_matched_micro, now_ms, "reconciled",
                                   authoritative=True)
            if t is not None:
                transitions.append(t)
        for key, o in sorted(self._orders.items()):
            if o.state in OPEN and key not in seen:
                t = self._set(o, OrderState.CANCELED, "not open at the venue")
                if t is not None:
                    transitions.append(t)
        return ReconcileResult(strays=tuple(sorted(strays)), transitions=tuple(transitions))

    def forget_strays(self, ids: Iterable[str]) -> None:
        """Stray orders confirmed canceled: a later sighting counts again."""
        for oid in ids:
            self._strays.discard(order_key(oid))
