"""Tick-to-order tracing: ``(stage, cause_recv_ns, t_ns)`` records in a preallocated buffer.

Off by default. A call site costs one module-attribute check while it is off::

    from runtime import trace

    if trace.enabled:
        trace.mark(trace.QUOTE, snap.cause_recv_ns)

``cause_recv_ns`` is the local receive time of the market frame that started the path (the
``ts_recv_ns`` every message carries and ``QuoteSnapshot``/``DesiredQuotes.cause_recv_ns``
pass along), so it keys one path through every actor; ``t_ns`` is ``time.time_ns()`` at the
mark (the same clock as ``cause_recv_ns`` and ``ClobClient.last_send_ns``).

Thread ownership: any thread may call :func:`mark` while tracing is on. A slot index comes
from ``itertools.count`` (atomic under the GIL), so concurrent marks never share a slot and
no lock is taken; marks beyond the capacity are counted as dropped. :func:`enable`,
:func:`disable` and the readers belong to one controlling thread (a benchmark), which reads
the buffer only after the traced work has quiesced.

This is a measuring tool for benchmarks, not a log: the event log is the record of what
happened (design §1.3).
"""

from __future__ import annotations

import itertools
import time
from array import array
from collections.abc import Callable, Iterable

STAGES: tuple[str, ...] = ("decode", "state", "slot_wait", "quote", "order_wait", "diff",
                           "cancel", "sign", "send", "reply")
"""Stage names in path order; a stage's mark is taken when that stage *ends*."""

DECODE, STATE, SLOT_WAIT, QUOTE, ORDER_WAIT, DIFF, CANCEL, SIGN, SEND, REPLY = range(len(STAGES))
# decode      the feed's reader thread decoded the frame (before telling the State actor)
# state       the State actor applied it and put a snapshot in the Quoter's slot
# slot_wait   the Quoter took the snapshot from its slot (mailbox + wake-up latency)
# quote       the Quoter built the desired quotes and put them in the OrderManager's slot
# order_wait  the OrderManager took them from its slot
# diff        the OrderManager diffed desired against live orders
# cancel      the pass's cancels came back (sequential replace) or were written (pipelined,
#             after the first post batch is signed); only when the pass cancels first
# sign        the orders of the first post batch were signed and their bodies built (the
#             pipelined replace signs before it writes the cancel: see stage_durations)
# send        the first post batch's bytes were written (``ClobClient.last_send_ns``)
# reply       its reply was read (``ClobClient.last_recv_ns``)

enabled = False
"""Read by every call site; only :func:`enable`/:func:`disable` set it."""

_capacity = 0
_stage = array("b")
_cause = array("q")
_t = array("q")
_next: Callable[[], int] = itertools.count().__next__


def enable(capacity: int = 1 << 17) -> None:
    """Start a fresh trace with room for ``capacity`` marks (allocated here, not per mark)."""
    global enabled, _capacity, _stage, _cause, _t, _next
    enabled = False
    _stage = array("b", bytes(capacity))
    _cause = array("q", bytes(8 * capacity))
    _t = array("q", bytes(8 * capacity))
    _capacity = capacity
    _next = itertools.count().__next__
    enabled = True


def disable() -> None:
    """Stop recording; what was recorded stays readable until the next :func:`enable`."""
    global enabled
    enabled = False


def mark(stage: int, cause_recv_ns: int, t_ns: int = 0) -> None:
    """Record that ``stage`` of the path caused at ``cause_recv_ns`` ended now (or at
    ``t_ns`` when the caller already has the time, e.g. a socket send stamp)."""
    i = _next()
    if i < _capacity:
        _stage[i] = stage
        _cause[i] = cause_recv_ns
        _t[i] = t_ns or time.time_ns()


def _count() -> int:
    global _next
    # Reading an itertools.count consumes a value: take it and continue from the next one.
    n = _next()
    _next = itertools.count(n + 1).__next__
    return n


def records() -> list[tuple[int, int, int]]:
    """The recorded ``(stage, cause_recv_ns, t_ns)`` marks, in slot order."""
    n = min(_count(), _capacity)
    return [(_stage[i], _cause[i], _t[i]) for i in range(n) if _cause[i] or _t[i]]


def dropped() -> int:
    """Marks that found the buffer full."""
    return max(0, _count() - _capacity)


def paths(marks: Iterable[tuple[int, int, int]], *, end: int = SEND) -> dict[int, list[int]]:
    """Per cause that reached ``end``: the first mark time of every stage (0 = not marked).

    A cause may be marked several times per stage (a later pass of the OrderManager still
    carries the last desired quotes' cause); the first mark is the one on the path.
    """
    by_cause: dict[int, list[int]] = {}
    for stage, cause, t in marks:
        row = by_cause.get(cause)
        if row is None:
            row = by_cause[cause] = [0] * len(STAGES)
        if not row[stage]:
            row[stage] = t
    return {c: row for c, row in by_cause.items() if row[end] and c}


def stage_durations(cause: int, row: list[int], *, end: int = SEND) -> dict[str, int]:
    """Nanoseconds spent in each marked stage up to ``end``: the time since the previous
    mark in time (or since the cause for the first), keyed by stage name. Marks are taken in
    time order, not in ``STAGES`` order: the pipelined replace signs before it writes the
    cancel, so there ``sign`` is the signing after the diff and ``cancel`` the write after
    it."""
    out: dict[str, int] = {}
    prev = cause
    last = row[end]
    for t, stage in sorted((t, s) for s, t in enumerate(row[:end + 1]) if t and t <= last):
        out[STAGES[stage]] = t - prev
        prev = t
    return out
