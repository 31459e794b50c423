"""What the order planner reports, and how its outcomes become events.

The planner decides; it does not do IO. Its events (``OrderPlaced/Rejected/Canceled/Filled``),
decision records (kind ``order``), metric samples and the messages for the State wait in an
``Outbox``, in the order they were made. The OrderManager flushes it after the pass's requests
are on the wire, so reporting never sits between a decision and its send.

``OrderReport`` turns the tracker's transitions and the venue's refusals into the
``OrderPlaced/Rejected/Canceled/Filled`` events, counts them for ``stats()``, remembers which
quotes were refused (so a pass does not send the same refused quote again until the next
desired quotes re-price it), and starts the user channel's acknowledgement watch for every
order placed. Everything lands in an ``Outbox``.

Thread ownership: the OrderManager's thread (through its planner). Pure: times are arguments;
``wall_ns`` only stamps the events it makes.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from messages import (
    DesiredQuote,
    OrderCanceled,
    OrderFilled,
    OrderHash,
    OrderPlaced,
    OrderRejected,
    RejectReason,
    Side,
    TokenId,
    TradeStatus,
)
from trading.ack_watch import AckWatch
from trading.order_tracker import IN_FLIGHT, OPEN, OrderState, Transition
from trading.positions import Fill

logger = logging.getLogger("actors.order_manager")

INCR, GAUGE, TIMING = "incr", "gauge", "timing"


class _Later:
    """A record not built yet (``Outbox.record_later``)."""

    __slots__ = ("args", "build", "kw")

    def __init__(self, build: Callable[..., dict[str, Any]], args: tuple[Any, ...],
                 kw: dict[str, Any]) -> None:
        self.build, self.args, self.kw = build, args, kw


def built(obj: Any) -> Any:
    """A log entry's object, building a deferred record."""
    return obj.build(*obj.args, **obj.kw) if type(obj) is _Later else obj


class Outbox:
    """Log entries (``("order", record)`` or ``("out", event)``, in order), the events for
    the sinks, metric samples ``(kind, name, value, dim)`` and messages for the State."""

    __slots__ = ("events", "log", "metrics", "recording", "to_state")

    def __init__(self, *, recording: bool = True) -> None:
        # Without an event log nobody reads the records: the planner skips building them.
        self.recording = recording
        self.log: list[tuple[str, Any]] = []
        self.events: list[Any] = []
        self.metrics: list[tuple[str, str, float, str]] = []
        self.to_state: list[Any] = []

    def emit(self, event: Any) -> None:
        """An order event: logged as ``out``, then told to the sinks."""
        if self.recording:
            self.log.append(("out", event))
        self.events.append(event)

    def record(self, rec: dict[str, Any]) -> None:
        """A decision record for replay and post-mortems."""
        if self.recording:
            self.log.append(("order", rec))

    def record_later(self, build: Callable[..., dict[str, Any]], *args: Any, **kw: Any) -> None:
        """A decision record built at flush time, after the pass's requests are on the wire:
        ``build(*args, **kw)`` (its arguments must not change until then)."""
        if self.recording:
            self.log.append(("order", _Later(build, args, kw)))

    def incr(self, name: str, n: int = 1, dim: str = "") -> None:
        self.metrics.append((INCR, name, n, dim))

    def gauge(self, name: str, value: float, dim: str = "") -> None:
        self.metrics.append((GAUGE, name, value, dim))

    def timing_ms(self, name: str, ms: float, dim: str = "") -> None:
        self.metrics.append((TIMING, name, ms, dim))

    def __bool__(self) -> bool:
        return bool(self.log or self.events or self.metrics or self.to_state)

    def clear(self) -> None:
        self.log.clear()
        self.events.clear()
        self.metrics.clear()
        self.to_state.clear()

Quote = tuple[TokenId, Side, int, int]
# Refusals that say nothing about the quote itself: it may be sent again once allowed. Any
# other refusal holds the quote back until the next desired quotes re-price it.
TRANSIENT = frozenset({RejectReason.RATE_LIMITED, RejectReason.TOO_EARLY,
                       RejectReason.POST_ONLY_MODE, RejectReason.TRADING_DISABLED,
                       RejectReason.SERVER, RejectReason.TIMEOUT})


def qkey(q: DesiredQuote) -> Quote:
    """A quote's identity for suppression: token, side, price, size."""
    return (q.token_id, q.side, q.price_pips, q.size_micro)


class OrderReport:
    """Events, counters and suppressed quotes of one OrderManager."""

    def __init__(self, out: Outbox, acks: AckWatch, *,
                 wall_ns: Callable[[], int] = time.time_ns) -> None:
        self.out = out
        self.acks = acks
        self.suppressed: set[Quote] = set()
        self.posted = 0
        self.canceled = 0
        self.rejects: Counter[str] = Counter()
        self._wall_ns = wall_ns

    def transition(self, tr: Transition, now_s: float) -> None:
        """One order changed state: placed (it left the in-flight states for an open or
        filled one) or canceled."""
        o, now_ns = tr.order, self._wall_ns()
        if tr.old in IN_FLIGHT and tr.new not in IN_FLIGHT:
            if tr.old is OrderState.UNKNOWN:
                self.out.incr("orders.unknown_resolved")
                logger.info("order manager: order %s resolved: %s", o.order_id[:12],
                            tr.new.value)
            if tr.new in OPEN or tr.new is OrderState.FILLED:
                self.posted += 1
                self.out.incr("orders.posted")
                status = tr.reason or "live"
                if status == "live":
                    self.acks.placed(o.order_id, now_s)
                self.out.emit(OrderPlaced(order_id=o.order_id, condition_id=o.condition_id,
                                          token_id=o.token_id, side=o.side,
                                          price_pips=o.price_pips, size_micro=o.size_micro,
                                          status=status, ts_recv_ns=now_ns))
        if tr.new is OrderState.CANCELED:
            self.canceled += 1
            self.out.incr("orders.canceled")
            self.out.emit(OrderCanceled(order_id=o.order_id, condition_id=o.condition_id,
                                        reason=tr.reason, ts_recv_ns=now_ns))

    def fill(self, f: Fill, status: TradeStatus, ts_recv_ns: int) -> None:
        """A fill of ours (or, ``FAILED``, one undone)."""
        if status is not TradeStatus.FAILED:
            self.out.incr("orders.fills")
        self.out.emit(OrderFilled(order_id=f.order_id, trade_id=f.trade_id,
                                  condition_id=f.condition_id, token_id=f.token_id, side=f.side,
                                  price_pips=f.price_pips, size_micro=f.size_micro,
                                  status=status.value, ts_recv_ns=ts_recv_ns))

    def reject(self, order_id: str, q: DesiredQuote, reason: RejectReason, msg: str) -> None:
        """A quote refused (by the venue, or here before sending: ``order_id`` empty)."""
        if reason not in TRANSIENT:
            self.suppressed.add(qkey(q))
        self.rejects[reason.value] += 1
        self.out.incr("orders.rejects", dim=reason.value)
        logger.debug("order manager: %s %s@%d rejected (%s): %s", q.side.value, q.token_id[:8],
                     q.price_pips, reason.value, msg)
        self.out.emit(OrderRejected(order_id=OrderHash(order_id), condition_id=q.condition_id,
                                    token_id=q.token_id, reason=reason, message=msg,
                                    ts_recv_ns=self._wall_ns()))

    def is_suppressed(self, q: DesiredQuote) -> bool:
        return qkey(q) in self.suppressed
