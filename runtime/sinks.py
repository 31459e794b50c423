"""The seams every actor reports through: the event log, the metrics client, a tell.

Typed as protocols so an actor names what it needs, not a concrete class: the event log actor's
sink (``actors.event_log``), ``runtime.metrics.Metrics``, and their test doubles all fit.
Both are called from the reporting actor's own thread and must never block it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class EventSink(Protocol):
    """Where an actor appends its event-log records (``kind`` as in ``journal.codec``)."""

    def append(self, kind: str, obj: object) -> None: ...


class MetricSink(Protocol):
    """StatsD-style metrics (``runtime.metrics.Metrics``); names from ``metric_names``."""

    def incr(self, name: str, n: int = 1, dim: str = "") -> None: ...

    def gauge(self, name: str, value: float, dim: str = "") -> None: ...

    def timing_ms(self, name: str, ms: float, dim: str = "") -> None: ...


Tell = Callable[[object], None]
"""A one-way message to another actor (``ActorRef.tell``, or a ``CurrentRef``'s)."""


def only(kind: type, tell: Tell) -> Tell:
    """A sink that passes messages of ``kind`` only, to ``tell``.

    The Treasury's feed sinks are built with it: our trades from the user feed,
    ``MarketResolved`` (a hint to look at the chain now) from the market feed. The rest (books,
    order events) would wake its thread for nothing, on the feeds' busiest moments. It runs on
    the feed's reader thread, on every message: one type check.
    """
    def sink(msg: object) -> None:
        if type(msg) is kind:
            tell(msg)
    return sink
