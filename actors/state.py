"""The State actor: owns books, positions, reference prices and feed health.

It applies every feed event in mailbox order through the pure ``trading.state.StateModel`` and
publishes a ``QuoteSnapshot`` into the Quoter's latest-only slot whenever something that matters
for quoting changed. It never waits on anyone: the slot's ``put`` is a short locked store plus,
at most, a non-blocking ``tell``; the event log's ``append`` is a queue put; it never ``ask``s.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypedDict

from actors.timers import start_timer
from messages import (
    QuoteSnapshot,
    TimerFired,
    TokenId,
)
from runtime import trace
from runtime.actor import Actor
from runtime.sinks import EventSink, MetricSink
from runtime.slot import LatestSlot
from runtime.timer import PeriodicTimer
from trading.state import StateModel

logger = logging.getLogger(__name__)


class StateSummary(TypedDict):
    """``State.summary()``: counts for the status line and the run summary."""

    events_applied: int
    ignored: int
    checksum_mismatches: int
    failed_events: int
    failed_resyncs: int
    snapshots: int
    snapshots_replaced: int


class StateStatus(StateSummary):
    """``State.status()``: the summary, each market's view, feed health and PnL."""

    # One dict per market as ``StateModel.market_summaries`` builds it (its keys are that
    # function's, read by the roof's status view).
    markets: list[dict[str, Any]]
    feeds: dict[str, bool]
    pnl_usd: float
    pnl_micro: int
    pnl_unmarked: int
    fills: int
    fees_usd: float
    rebate_estimate_usd: float
    collateral_usd: float
    kill_switch: bool


class State(Actor):
    """Applies feed events and publishes quote snapshots.

    Thread ownership: the ``StateModel`` and every counter here belong to this actor's thread.
    The quote slot is shared with the Quoter (it has its own lock).

    Accepts: every message the feeds emit (``BookSnapshot``, ``BookChange``, ``TickSizeChanged``,
    ``LastTrade``, ``BestBidAsk``, ``MarketResolved``, ``PriceUpdate``, ``OrderEvent``,
    ``TradeEvent``), ``MarketsChanged``, ``FeedStatus``, ``TimerFired``, ``KillSwitch``, and
    the Treasury's ``PositionsMerged``/``PositionsRedeemed``.
    Emits: ``QuoteSnapshot`` into ``quote_slot``; resync requests through ``resync``; every
    applied input to the event log as kind ``in`` (what replay feeds back in).
    With ``timer_s``, its own timer thread tells it ``TimerFired(name="state")`` that often
    (staleness, expiry and the metrics flush): the timer's callback is this floor's, so the
    roof runs on no bot thread once it has started the actors.
    On failure: an exception in ``apply`` is logged and counted and the event skipped, so one
    bad event cannot stop the bot's view of the market.
    """

    def __init__(self, *, model: StateModel, quote_slot: LatestSlot[QuoteSnapshot],
                 resync: Callable[[tuple[TokenId, ...]], None] | None = None,
                 event_log: EventSink | None = None, metrics: MetricSink | None = None,
                 clock_ns: Callable[[], int] = time.time_ns,
                 timer_s: float | None = None) -> None:
        super().__init__()
        if timer_s is not None and timer_s <= 0:
            raise ValueError(f"state: timer_s must be > 0, got {timer_s}")
        self._timer_s = timer_s
        self._timer: PeriodicTimer | None = None
        self._model = model
        self._slot = quote_slot
        self._resync = resync
        self._log = event_log
        self._metrics = metrics
        self._clock_ns = clock_ns
        self._now_ns = 0
        self.failed_events = 0
        self.failed_resyncs = 0
        self.snapshots = 0
        # Counts since the last flush to the metrics (see _flush_counts).
        self._applied = 0
        self._coalesced = 0
        self._published_reported = 0

    TIMER_NAME = "state"

    def on_start(self) -> None:
        if self._timer_s is not None:
            self._timer = start_timer(self.actor_ref, self.TIMER_NAME, self._timer_s)

    def on_stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()

    def on_failure(self, *exc_info: object) -> None:
        self.on_stop()

    def on_receive(self, message: object) -> None:
        # Whatever was told: the model counts and ignores the types it does not know.
        ts = getattr(message, "ts_recv_ns", None)
        if ts is None:
            # Control messages without a receive time (e.g. from tests) use the wall clock.
            ts = self._clock_ns()
        if ts > self._now_ns:
            self._now_ns = ts
        if self._log is not None:
            self._log.append("in", message)
        try:
            changed = self._model.apply(message)
        except Exception:
            self.failed_events += 1
            if self._metrics is not None:
                self._metrics.incr("state.apply_errors")
            logger.exception("state: failed to apply %s; skipped", type(message).__name__)
            return
        self._applied += 1
        resync = self._model.take_resync_requests()
        if resync and self._resync is not None:
            if self._metrics is not None:
                self._metrics.incr("state.checksum_mismatches", len(resync))
            try:
                self._resync(resync)
            except Exception:  # a dead or restarting feed must not take the State down
                self.failed_resyncs += 1
                logger.exception("state: resync request for %d books failed", len(resync))
        if changed:
            self.publish(ts)
        if type(message) is TimerFired:
            self._flush_counts()

    def publish(self, cause_recv_ns: int) -> None:
        """Build a snapshot from the model and store it in the Quoter's slot."""
        snap = self._model.snapshot(self._now_ns, cause_recv_ns)
        self.snapshots += 1
        if trace.enabled:  # before the put: the Quoter may run at once
            trace.mark(trace.STATE, cause_recv_ns)
        if self._slot.put(snap):
            self._coalesced += 1

    def _flush_counts(self) -> None:
        """Hand the per-event counts to the metrics in one go (on the State's timer tick):
        a metrics call per event would cost more than the event itself at high rates."""
        m = self._metrics
        if m is None:
            return
        applied, self._applied = self._applied, 0
        published, self._published_reported = (self.snapshots - self._published_reported,
                                                self.snapshots)
        coalesced, self._coalesced = self._coalesced, 0
        if applied:
            m.incr("state.events_applied", applied)
        if published:
            m.incr("state.snapshots_published", published)
        if coalesced:
            m.incr("state.snapshots_coalesced", coalesced)

    # -- asked by the supervisor only (with a timeout) ------------------------------------------

    def summary(self) -> StateSummary:
        """A small status view for the status line and run summary."""
        m = self._model
        return {
            "events_applied": m.events_applied,
            "ignored": m.ignored,
            "checksum_mismatches": m.checksum_mismatches,
            "failed_events": self.failed_events,
            "failed_resyncs": self.failed_resyncs,
            "snapshots": self.snapshots,
            "snapshots_replaced": self._slot.replaced,
        }

    def status(self) -> StateStatus:
        """Markets (tops, inventory, time to close), feed health, PnL."""
        m = self._model
        pnl, unmarked = m.pnl_micro()
        return {
            "markets": m.market_summaries(self._now_ns // 1_000_000),
            "feeds": {f: m.feed_up(f) for f in ("market", "user", "price")},
            "pnl_usd": pnl / 1e6, "pnl_micro": pnl, "pnl_unmarked": unmarked,
            "fills": m.positions.fills, "fees_usd": m.positions.fees_micro / 1e6,
            "rebate_estimate_usd": m.positions.rebate_estimate_micro() / 1e6,
            "collateral_usd": m.positions.collateral_micro() / 1e6,
            "kill_switch": m.kill_switch,
            **self.summary(),
        }
