"""The OrderManager's cancel requests: budgets, the pipelined begin/finish, replies.

A mixin of ``OrderFlow`` (one concern per module). ``_send_cancels`` sends and waits, batch
by batch (also used by shutdown, forced past the budget); ``_begin_cancels`` writes one request
without waiting and ``_finish_cancels`` reads its reply, the pair ``run_pass`` puts around the
posts of a pipelined replace. Everything here runs on the OrderManager's thread and uses its
state, declared below.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from actors.order_output import OrderOutput
from messages import OrderHash, RejectReason
from messages.errors import OutcomeUnknown, VenueError
from trading.diff import batches
from trading.order_tracker import OrderTracker, Transition
from trading.rate_budget import CANCEL, Backoff, TokenBucket

logger = logging.getLogger("actors.order_manager")

SHUTDOWN_CANCEL_BUDGET_S = 10.0
_Started = tuple[Any, tuple[str, ...], int]  # (the client's pending call, its ids, t0 ns)


class OrderCancels:
    """Cancel requests and their replies."""

    # State owned by the OrderManager (set in its ``__init__``).
    tracker: OrderTracker
    backoff: Backoff
    _client: Any
    _clock: Callable[[], float]
    _cancel_bucket: TokenBucket
    _cancel_batch: int
    _strays: set[OrderHash]
    # Provided by ``OrderFlow`` and ``OrderShutdown``.
    _cancel_window_open: Callable[[float | None], bool]
    out: OrderOutput
    _refused: Callable[[str, VenueError, float], RejectReason]
    _on_transition: Callable[[Transition], None]
    _now_ms: Callable[[], int]

    def _send_cancels(self, ids: Sequence[str], now_s: float, *, force: bool = False) -> None:
        for batch in batches(list(ids), self._cancel_batch):
            if force:
                # Forced (shutdown) cancels skip the budget, never the venue's Retry-After.
                if not self._cancel_window_open(self._clock() + SHUTDOWN_CANCEL_BUDGET_S):
                    return
                self._cancel_bucket.try_take(len(batch), now_s)  # spent, even when empty
            elif not self._cancel_allowed(batch, now_s):
                return
            started, ok = self._write_cancels(batch, now_s)
            if started is not None:
                ok = self._finish_cancels(started, now_s)
            if not ok:
                return

    def _begin_cancels(self, batch: Sequence[str], now_s: float) -> _Started | None:
        """Write one cancel request without waiting for its reply; None when nothing is in
        flight (budget, back-off, or the request failed: handled as in ``_send_cancels``)."""
        if not self._cancel_allowed(batch, now_s):
            return None
        return self._write_cancels(batch, now_s)[0]

    def _write_cancels(self, batch: Sequence[str], now_s: float) -> tuple[_Started | None, bool]:
        """Mark ``batch`` canceling and write its request: (the request in flight, or None if
        it failed; whether the next batch may still go)."""
        self._cancel_sending(batch, int(now_s * 1000))
        t0 = time.perf_counter_ns()
        try:
            call = self._client.begin_cancel_orders(list(batch))
        except VenueError as exc:
            return None, self._cancel_error(exc, batch, now_s)
        return (call, tuple(batch), t0), True

    def _finish_cancels(self, started: _Started, now_s: float) -> bool:
        """Read the reply of a written cancel request and apply it; whether the next batch
        may still go."""
        call, batch, t0 = started
        try:
            reply = self._client.finish_cancel_orders(call)
        except VenueError as exc:
            return self._cancel_error(exc, batch, now_s)
        finally:
            self.out.timing_ms("orders.order_submit_latency_ms",
                         (time.perf_counter_ns() - t0) / 1e6, "cancel")
        self.backoff.ok(CANCEL)
        self._apply_cancel_reply(reply, batch)
        return True

    def _cancel_allowed(self, batch: Sequence[str], now_s: float) -> bool:
        if not self.backoff.allowed(CANCEL, now_s):
            return False
        if not self._cancel_bucket.try_take(len(batch), now_s):
            logger.debug("order manager: cancel budget exhausted; deferring %d", len(batch))
            return False
        return True

    def _cancel_sending(self, batch: Sequence[str], now_ms: int) -> None:
        self.tracker.cancel_sent(batch, now_ms)
        self.out.record({"op": "cancel", "ids": list(batch)})
        self.out.timing_ms("orders.batch_size", len(batch), "cancel")

    def _cancel_error(self, exc: VenueError, batch: Sequence[str], now_s: float) -> bool:
        """A cancel request failed; True when the next batch may still go. An unknown outcome
        leaves the orders canceling (looked up later); a refusal means they still rest."""
        if isinstance(exc, OutcomeUnknown):
            logger.warning("order manager: cancel of %d orders timed out: %s", len(batch), exc)
            return True
        self.tracker.cancel_failed(batch)
        self._refused(CANCEL, exc, now_s)
        return False

    def _apply_cancel_reply(self, reply: Any, batch: Sequence[str] = ()) -> None:
        canceled = list((reply or {}).get("canceled") or [])
        not_canceled = dict((reply or {}).get("not_canceled") or {})
        self.out.record({"op": "canceled", "ids": canceled, "not_canceled": not_canceled})
        for tr in self.tracker.cancel_reply(canceled, not_canceled, self._now_ms()):
            self._on_transition(tr)
        done = {str(i).lower() for i in canceled} | {str(i).lower() for i in not_canceled}
        done.update(str(i).lower() for i in batch if str(i).lower() in self._strays)
        gone = self._strays & done
        self._strays -= gone
        self.tracker.forget_strays(gone)

    def _new_strays(self, ids: Sequence[str]) -> None:
        if ids:
            self.out.incr("orders.unknown_orders", len(ids))
            logger.warning("order manager: %d orders at the venue we did not send; canceling",
                           len(ids))
            self._strays.update(OrderHash(i.lower()) for i in ids)
