"""The Quoter actor: turns the newest snapshot into the complete set of desired quotes."""

from __future__ import annotations

import logging
import time
from typing import TypedDict

from messages import (
    ConditionId,
    DesiredQuotes,
    GateReason,
    MarketDecision,
    QuoteSnapshot,
    SlotReady,
)
from runtime import trace
from runtime.actor import Actor
from runtime.sinks import EventSink, MetricSink
from runtime.slot import LatestSlot
from trading.params import QuoteParams, RiskLimits
from trading.quoting import build_desired

logger = logging.getLogger(__name__)


class QuoterSummary(TypedDict):
    """``Quoter.summary()``: counts and each market's last decision."""

    taken: int
    published: int
    decisions: dict[ConditionId, MarketDecision]


class Quoter(Actor):
    """Wakes on its latest-only slot, runs the pure strategy, publishes into the OrderManager's.

    Thread ownership: parameters, the last published decision and the per-market gate memory
    belong to this actor's thread; both slots have their own locks.

    Accepts: ``SlotReady`` (from ``in_slot``). Emits: ``DesiredQuotes`` into ``out_slot`` when
    they differ from the last published ones; kind ``quote`` records (snapshot seq taken, the
    decision) to the event log so replay can recompute and compare every decision.
    On failure: a strategy exception is logged and counted; no quotes are published for that
    snapshot, and the next snapshot is tried afresh.
    """

    def __init__(self, *, params: QuoteParams, limits: RiskLimits,
                 in_slot: LatestSlot[QuoteSnapshot], out_slot: LatestSlot[DesiredQuotes],
                 event_log: EventSink | None = None, metrics: MetricSink | None = None,
                 work_delay_s: float = 0.0) -> None:
        super().__init__()
        self._params = params
        self._limits = limits
        self._in = in_slot
        self._out = out_slot
        self._log = event_log
        self._metrics = metrics
        # Test and benchmark hook only: makes the quoter artificially slow.
        self._work_delay_s = work_delay_s
        self._last: DesiredQuotes | None = None
        self._gates: dict[ConditionId, GateReason] = {}
        self.taken = 0
        self.published = 0
        self.last_decisions: dict[ConditionId, MarketDecision] = {}

    def on_receive(self, message: object) -> None:
        if isinstance(message, SlotReady):
            self.on_slot_ready()

    def on_slot_ready(self) -> None:
        snap = self._in.take()
        if snap is None:
            return
        self.taken += 1
        if trace.enabled:
            trace.mark(trace.SLOT_WAIT, snap.cause_recv_ns)
        t0 = time.perf_counter_ns()
        try:
            desired = build_desired(snap, self._params, self._limits)
        except Exception:
            logger.exception("quoter: strategy failed on snapshot %d", snap.seq)
            if self._metrics is not None:
                self._metrics.incr("quoter.errors")
            return
        if self._work_delay_s:
            time.sleep(self._work_delay_s)  # sleep-ok: simulated slow strategy (tests, bench)
        if self._metrics is not None:
            self._metrics.timing_ms("quoter.build_ms", (time.perf_counter_ns() - t0) / 1e6)
        self._note_gates(desired)
        changed = self._last is None or (desired.quotes != self._last.quotes
                                          or desired.decisions != self._last.decisions)
        if self._log is not None:
            self._log.append("quote", desired)
        if changed:
            self._last = desired
            self.published += 1
            if trace.enabled:  # before the put: the OrderManager may run at once
                trace.mark(trace.QUOTE, desired.cause_recv_ns)
            self._out.put(desired)

    def _note_gates(self, desired: DesiredQuotes) -> None:
        for d in desired.decisions:
            self.last_decisions[d.condition_id] = d
            prev = self._gates.get(d.condition_id)
            if prev is not d.gate:
                self._gates[d.condition_id] = d.gate
                logger.info("quoter: market %s gate %s -> %s", d.condition_id[:10],
                            prev.value if prev else "-", d.gate.value)
                if self._metrics is not None and d.gate is not GateReason.NONE:
                    self._metrics.incr("quoter.gated", dim=d.gate.value)

    def summary(self) -> QuoterSummary:
        """Taken/published counts and the last per-market decisions (asked by the supervisor)."""
        return {"taken": self.taken, "published": self.published,
                "decisions": dict(self.last_decisions)}
