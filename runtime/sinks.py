"""The seams every actor reports through: the event log, the metrics client, a tell.

Typed as protocols so an actor names what it needs, not a concrete class: the event log actor's
sink (``actors.event_log``), ``runtime.metrics.Metrics``, and their test doubles all fit.
Both are called from the reporting actor's own thread and must never block it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


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


def only(kinds: type | tuple[type, ...], tell: Tell,
         where: Callable[[Any], bool] | None = None) -> Tell:
    """A sink that passes to ``tell`` the messages of exactly ``kinds`` (and, with ``where``,
    only those it accepts).

    A feed's sinks are built with it where an actor reads only part of a feed, so the rest
    does not wake its thread for nothing on the feed's busiest moments: the Treasury takes
    our trades and ``MarketResolved``; a dry run's OrderManager takes the market messages
    its paper exchange fills from and the reference streams it settles on. It runs on the
    feed's reader thread, on every message: a set lookup (and ``where``).
    """
    accepted = frozenset(kinds if isinstance(kinds, tuple) else (kinds,))
    if where is None:
        def sink(msg: object) -> None:
            if type(msg) in accepted:
                tell(msg)
    else:
        def sink(msg: object) -> None:
            if type(msg) in accepted and where(msg):
                tell(msg)
    return sink
