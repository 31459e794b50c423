"""What the OrderManager gives out: events to its sinks and the event log, its decision
records, and its metrics. A plain collaborator the actor owns (no state of its own beyond
where things go), so the pass and its outcomes say *what* they report, not how.

Thread ownership: the OrderManager's thread calls every method; the event log's ``append``
and the metrics client never block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from trading.order_report import GAUGE, INCR, Outbox, built


class OrderOutput:
    """Sinks, the event log and the metrics of one OrderManager (each may be absent)."""

    __slots__ = ("log", "metrics", "sinks")

    def __init__(self, *, log: Any, metrics: Any, sinks: Sequence[Callable[[Any], None]]) -> None:
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

    def emit(self, event: Any) -> None:
        """An ``OrderPlaced/Rejected/Canceled/Filled`` event: logged as ``out``, then told."""
        if self.log is not None:
            self.log.append("out", event)
        for sink in self.sinks:
            sink(event)

    def record(self, rec: dict[str, Any]) -> None:
        """A decision record (kind ``order``) for replay and post-mortems."""
        if self.log is not None:
            self.log.append("order", rec)

    def incr(self, name: str, n: int = 1, dim: str = "") -> None:
        if self.metrics is not None:
            self.metrics.incr(name, n, dim=dim)

    def timing_ms(self, name: str, ms: float, dim: str = "") -> None:
        if self.metrics is not None:
            self.metrics.timing_ms(name, ms, dim=dim)

    def gauge(self, name: str, value: float, dim: str = "") -> None:
        if self.metrics is not None:
            self.metrics.gauge(name, value, dim=dim)
