"""The OrderManager's shutdown: cancel everything, settle unknown outcomes, read back.

A function over the actor's collaborators (planner, driver, gateway), not a base class. The
waits here (``Retry-After`` windows, look-up intervals) happen only while shutting down, when
the actor has nothing else to do, and each is bounded by a deadline well inside the
supervisor's ask timeout (``SHUTDOWN_ASK_TIMEOUT_S``).

Thread ownership: the OrderManager's thread (called from its ``shutdown`` ask).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from actors.order_manager.driver import Driver, look_up
from messages import OrderHash
from messages.errors import VenueError
from trading.diff import batches
from trading.order_tracker import OPEN, OrderState
from trading.planner import OrderPlanner
from trading.rate_budget import CANCEL
from venue.refusals import Refusal

logger = logging.getLogger("actors.order_manager")

SHUTDOWN_CANCEL_BUDGET_S = 10.0
SHUTDOWN_READ_ATTEMPTS = 5
# At shutdown an order whose POST outcome is unknown is looked up until the tracker concludes
# (found, or not found once ``resolve_timeout_s`` has passed), for at most this long.
SHUTDOWN_RESOLVE_CAP_S = 12.0
# What the supervisor's ``shutdown()`` ask must allow: two cancel-all budgets, the look-ups and
# the read-backs, with room to spare.
SHUTDOWN_ASK_TIMEOUT_S = 2 * SHUTDOWN_CANCEL_BUDGET_S + SHUTDOWN_RESOLVE_CAP_S + 20.0


class Shutdown:
    """One OrderManager's shutdown sequence (see the module docstring)."""

    def __init__(self, planner: OrderPlanner, driver: Driver,
                 clock: Callable[[], float]) -> None:
        self._p = planner
        self._driver = driver
        self._gw = driver.gateway
        self._clock = clock

    def run(self) -> int:
        """Stop posting, cancel everything at the venue, settle the orders whose outcome is
        unknown, and read back what is still open: how many are (-1: could not read)."""
        p = self._p
        p.halted = p.halted or "shutdown"
        if not self.cancel_all("shutdown"):
            self.cancel_all("shutdown (retry)")
        self._settle_unknown()
        left = -1
        # One failed read must not report "unknown": retry transient failures for a few
        # seconds (the actor has nothing else to do by now).
        for attempt in range(SHUTDOWN_READ_ATTEMPTS):
            try:
                remaining = self._gw.open_orders()
                if remaining:
                    self._forced_cancels([r.order_id for r in remaining])
                    remaining = self._gw.open_orders()
                now_s = self._clock()
                for tr in p.tracker.reconcile(remaining, int(now_s * 1000)).transitions:
                    p.report.transition(tr, now_s)
                left = len(remaining)
                break
            except VenueError as exc:
                logger.warning("order manager: reading open orders at shutdown failed "
                               "(attempt %d): %s", attempt + 1, exc)
                wait = min(2.0, exc.retry_after_s or 0.5 * (attempt + 1))
                threading.Event().wait(wait)  # bounded back-off
        if left < 0:
            logger.error("order manager: could not read open orders at shutdown")
        unknown = p.tracker.counts()[OrderState.UNKNOWN.value]
        if unknown:
            logger.error("order manager: %d orders' POST outcome still unknown at shutdown "
                         "(not open at the venue when last read)", unknown)
        logger.info("order manager: shut down, %d orders still open at the venue", left)
        return left

    def cancel_all(self, reason: str) -> bool:
        """``DELETE /cancel-all``; a transient refusal (425, 429, 5xx, no reply) is retried for
        up to ``SHUTDOWN_CANCEL_BUDGET_S``, waiting the venue's ``Retry-After`` (else a doubling
        pause) between tries: the last cancel-all must not be lost to one unlucky reply, nor
        hammer a venue that asked us to wait."""
        p = self._p
        p.out.record({"op": "cancel_all", "reason": reason})
        deadline = self._clock() + SHUTDOWN_CANCEL_BUDGET_S
        pause = 0.25
        while True:
            if not self._window_open(deadline):
                logger.warning("order manager: cancel-all (%s) deferred: the venue asked us to "
                               "wait %.2f s", reason, p.backoff.until(CANCEL) - self._clock())
                return False
            outcome = self._gw.cancel_all()
            if not isinstance(outcome, Refusal):
                break
            p.refused(CANCEL, outcome, self._clock())
            wait = outcome.retry_after_s if outcome.retry_after_s is not None else pause
            pause = min(pause * 2, 4.0)
            if not (outcome.transient and self._clock() + wait < deadline):
                logger.error("order manager: cancel-all (%s) failed: %s", reason,
                             outcome.message)
                return False
            logger.warning("order manager: cancel-all (%s) refused (%s); retrying in %.2f s",
                           reason, outcome.status, wait)
            threading.Event().wait(wait)  # bounded by the deadline
        p.cancel_all_done(outcome, self._clock())
        return True

    def _forced_cancels(self, ids: Sequence[OrderHash]) -> None:
        """Cancel ``ids`` past the cancel budget, never past the venue's ``Retry-After``."""
        for batch in batches(list(ids), self._p.cancel_batch):
            if not self._window_open(self._clock() + SHUTDOWN_CANCEL_BUDGET_S):
                return
            if not self._driver.run(self._p.send_cancels(batch, self._clock(), forced=True)):
                return

    def _settle_unknown(self) -> None:
        """Look up each order whose POST outcome is unknown every check interval until the
        tracker concludes, for at most ``resolve_timeout_s`` (capped at
        ``SHUTDOWN_RESOLVE_CAP_S``). One found resting (its POST landed after the cancel-all)
        is canceled: nothing may stay behind at the venue. The user feed cannot settle them
        now: the actor no longer reads its mailbox."""
        p = self._p
        budget_s = min(p.params.resolve_timeout_s, SHUTDOWN_RESOLVE_CAP_S) + 1.0
        # Wall time: these waits are real, whatever clock the planner runs on.
        deadline = time.monotonic() + budget_s
        interval_s = p.tracker.check_interval_ms / 1000.0
        while True:
            ids = [o.order_id for o in p.tracker.orders() if o.state is OrderState.UNKNOWN]
            if not ids:
                return
            look_up(p, self._gw, ids, self._clock())
            found_open = [o.order_id for o in p.tracker.orders() if o.state in OPEN]
            if found_open:
                logger.warning("order manager: %d orders found resting at shutdown after an "
                               "unknown POST outcome; canceling", len(found_open))
                self._forced_cancels(found_open)
            if time.monotonic() + interval_s > deadline:
                return
            threading.Event().wait(interval_s)  # bounded by the deadline

    def _window_open(self, deadline: float) -> bool:
        """Whether a cancel may go now without breaking a ``Retry-After``; the window is
        waited out if it ends before ``deadline``."""
        wait = self._p.backoff.until(CANCEL) - self._clock()
        if wait <= 0:
            return True
        if self._clock() + wait > deadline:
            return False
        threading.Event().wait(wait)  # bounded by the deadline
        return True
