"""Where the OrderManager's reports go: its planner's ``Outbox`` (events, decision records,
metrics), handed out to the sinks, the event log and StatsD after each pass.

Thread ownership: the OrderManager's thread calls ``flush``; the event log's ``append`` and
the metrics client never block.
"""

from __future__ import annotations

from collections.abc import Sequence

from runtime.sinks import EventSink, MetricSink, Tell
from trading.order_report import GAUGE, INCR, Outbox, built


class OrderOutput:
    """Sinks, the event log and the metrics of one OrderManager (each may be absent)."""

    __slots__ = ("log", "metrics", "sinks")

    def __init__(self, *, log: EventSink | None, metrics: MetricSink | None,
                 sinks: Sequence[Tell]) -> None:
        self.log = log
        self.metrics = metrics
        self.sinks = list(sinks)

    def flush(self, box: Outbox) -> None:
        """Hand out what the planner reported, in the order it was made, and empty ``box``."""
        if not box:
            return
        log, metrics = self.log, self.metrics
        if log is not None:
            for kind, obj in box.log:
                log.append(kind, built(obj))
        for event in box.events:
            for sink in self.sinks:
                sink(event)
        if metrics is not None:
            for kind, name, value, dim in box.metrics:
                if kind is INCR:
                    metrics.incr(name, int(value), dim=dim)
                elif kind is GAUGE:
                    metrics.gauge(name, value, dim=dim)
                else:
                    metrics.timing_ms(name, value, dim=dim)
        box.clear()
