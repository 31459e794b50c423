"""The OrderManager's venue-wide operations: cancel-all, order look-ups and shutdown.

A mixin of ``OrderManager`` (one concern per module, like ``order_flow``). Everything here
runs on the OrderManager's thread and uses its state. The waits in this module (``Retry-After``
windows, look-up intervals) happen only while shutting down, when the actor has nothing else to
do, and each is bounded by a deadline well inside the supervisor's ask timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from actors.order_cancels import SHUTDOWN_CANCEL_BUDGET_S
from actors.order_flow import OrderFlow
from actors.order_venue import transient_refusal
from messages.errors import VenueError
from trading.order_tracker import OPEN, OrderState
from trading.rate_budget import CANCEL
from venue.remote_orders import remote_orders

logger = logging.getLogger("actors.order_manager")

SHUTDOWN_READ_ATTEMPTS = 5
# At shutdown an order whose POST outcome is unknown is looked up until the tracker concludes
# (found, or not found once ``resolve_timeout_s`` has passed), for at most this long.
SHUTDOWN_RESOLVE_CAP_S = 12.0
MAX_LOOKUPS_PER_PASS = 20
# What the supervisor's ``shutdown()`` ask must allow: two cancel-all budgets, the look-ups and
# the read-backs, with room to spare.
SHUTDOWN_ASK_TIMEOUT_S = 2 * SHUTDOWN_CANCEL_BUDGET_S + SHUTDOWN_RESOLVE_CAP_S + 20.0


class OrderShutdown(OrderFlow):
    """Cancel-all, ``GET /data/order`` look-ups, and the shutdown sequence."""

    _shut_down: bool
    # The actor's own (``OrderManager``), used here.
    stats: Callable[[], dict[str, Any]]
    _stop_tickers: Callable[[], None]

    def shutdown(self) -> dict[str, Any]:
        """Stop posting, cancel everything at the venue, settle the orders whose outcome is
        unknown, and read back what is still open."""
        self._halted = self._halted or "shutdown"
        self._shut_down = True
        self._stop_tickers()
        if not self._cancel_all("shutdown"):
            self._cancel_all("shutdown (retry)")
        self._settle_unknown()
        left = -1
        # One failed read must not report "unknown": retry transient failures for a few
        # seconds (shutdown only; the actor has nothing else to do by now).
        for attempt in range(SHUTDOWN_READ_ATTEMPTS):
            try:
                remaining = remote_orders(self._client.open_orders())
                if remaining:
                    self._send_cancels([r.order_id for r in remaining], self._clock(),
                                       force=True)
                    remaining = remote_orders(self._client.open_orders())
                for tr in self.tracker.reconcile(remaining, self._now_ms()).transitions:
                    self._on_transition(tr)
                left = len(remaining)
                break
            except VenueError as exc:
                logger.warning("order manager: reading open orders at shutdown failed "
                               "(attempt %d): %s", attempt + 1, exc)
                wait = min(2.0, exc.retry_after_s or 0.5 * (attempt + 1))
                threading.Event().wait(wait)  # shutdown only: bounded back-off
        if left < 0:
            logger.error("order manager: could not read open orders at shutdown")
        unknown = self.tracker.counts()[OrderState.UNKNOWN.value]
        if unknown:
            logger.error("order manager: %d orders' POST outcome still unknown at shutdown "
                         "(not open at the venue when last read)", unknown)
        logger.info("order manager: shut down, %d orders still open at the venue", left)
        return {"open_orders_after_shutdown": left, "stats": self.stats()}

    def _settle_unknown(self) -> None:
        """Look up each order whose POST outcome is unknown (a reply lost or timed out) every
        check interval until the tracker concludes, for at most ``resolve_timeout_s`` (capped
        at ``SHUTDOWN_RESOLVE_CAP_S``) of wall time. One found resting (its POST landed after
        the cancel-all) is canceled: nothing may stay behind at the venue. The user feed cannot
        settle them now: this actor no longer reads its mailbox."""
        budget_s = min(self._params.resolve_timeout_s, SHUTDOWN_RESOLVE_CAP_S) + 1.0
        deadline = time.monotonic() + budget_s
        interval_s = self.tracker.check_interval_ms / 1000.0
        while True:
            ids = [o.order_id for o in self.tracker.orders() if o.state is OrderState.UNKNOWN]
            if not ids:
                return
            self._look_up(ids, self._now_ms())
            found_open = [o.order_id for o in self.tracker.orders() if o.state in OPEN]
            if found_open:
                logger.warning("order manager: %d orders found resting at shutdown after an "
                               "unknown POST outcome; canceling", len(found_open))
                self._send_cancels(found_open, self._clock(), force=True)
            if time.monotonic() + interval_s > deadline:
                return
            threading.Event().wait(interval_s)  # shutdown only: bounded by the deadline

    def _look_up(self, ids: Sequence[str], now_ms: int) -> None:
        """``GET /data/order`` for each id; the tracker decides what each answer means. A failed
        look-up concludes nothing (the order is looked up again later)."""
        for oid in ids[:MAX_LOOKUPS_PER_PASS]:
            try:
                doc = self._client.get_order(oid)
                found = remote_orders([doc]) if doc else []
            except VenueError as exc:
                logger.debug("order manager: lookup of %s failed: %s", oid[:12], exc)
                self.tracker.check_failed(oid, now_ms)
                continue
            tr = self.tracker.resolve(oid, found[0] if found else None, now_ms)
            if tr is not None:
                self._on_transition(tr)

    def _cancel_all(self, reason: str) -> bool:
        """``DELETE /cancel-all``. While shutting down, a transient refusal (425, 429, 5xx, no
        reply) is retried for up to ``SHUTDOWN_CANCEL_BUDGET_S``, waiting the venue's
        ``Retry-After`` (else a doubling back-off) between tries: the last cancel-all must not
        be lost to one unlucky reply, nor hammer a venue that asked us to wait."""
        self.out.record({"op": "cancel_all", "reason": reason})
        shutting = self._shut_down
        deadline = self._clock() + SHUTDOWN_CANCEL_BUDGET_S
        pause = 0.25
        while True:
            if not self._cancel_window_open(deadline if shutting else None):
                # Outside shutdown the halted pass cancels everything once the venue allows.
                logger.warning("order manager: cancel-all (%s) deferred: the venue asked us to "
                               "wait %.2f s", reason, self.backoff.until(CANCEL) - self._clock())
                return False
            try:
                reply = self._client.cancel_all()
                break
            except VenueError as exc:
                self._refused(CANCEL, exc, self._clock())
                wait = exc.retry_after_s if exc.retry_after_s is not None else pause
                pause = min(pause * 2, 4.0)
                retry = (self._shut_down and transient_refusal(exc)
                         and self._clock() + wait < deadline)
                if not retry:
                    logger.error("order manager: cancel-all (%s) failed: %s", reason, exc)
                    return False
                logger.warning("order manager: cancel-all (%s) refused (%s); retrying in "
                               "%.2f s", reason, exc.status, wait)
                # Shutdown only: the actor has nothing else to do, and the supervisor's ask
                # has a longer timeout than the budget.
                threading.Event().wait(wait)
        now_s = self._clock()
        self._cancel_bucket.debit(1 + len((reply or {}).get("canceled") or []), now_s)
        self._apply_cancel_reply(reply, list(self._strays))
        return True

    def _cancel_window_open(self, deadline: float | None) -> bool:
        """Whether a cancel may go now without breaking a ``Retry-After`` the venue set. With a
        ``deadline`` (shutdown only) the window is waited out if it ends before the deadline."""
        wait = self.backoff.until(CANCEL) - self._clock()
        if wait <= 0:
            return True
        if deadline is None or self._clock() + wait > deadline:
            return False
        threading.Event().wait(wait)  # shutdown only: bounded by the deadline
        return True
