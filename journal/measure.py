"""The journal's write rate, measured: ``bin/polymm bench eventlog`` and its tests use it."""

from __future__ import annotations

import tempfile
import time

import messages
from journal.writer import JournalWriter


def sample_message() -> messages.OrderEvent:
    """A typical ~10-field message (an ``OrderEvent``) for rate measurements."""
    return messages.OrderEvent(
        order_id=messages.OrderHash("0x" + "ab" * 32),
        condition_id=messages.ConditionId("0x" + "cd" * 32),
        token_id=messages.TokenId("71321045679252212594626385532706912750332728571942532289631379"
                                  "312455583992563"),
        side=messages.Side.BUY, type=messages.OrderEventType.UPDATE, status="LIVE",
        price_pips=5_700, original_size_micro=10_000_000, size_matched_micro=2_500_000,
        owner="11111111-2222-3333-4444-555555555555", ts_event_ms=1_767_225_600_123,
        ts_recv_ns=1_767_225_600_123_456_789)


def measure_write_rate(n_events: int = 200_000, *, batch_size: int,
                       directory: str | None = None, obj: object = None) -> dict[str, float]:
    """Append ``n_events`` from this thread and wait until all are written to disk.

    ``batch_size`` is the ``event_log`` section's (``actors.event_log.EventLogConfig``): the
    journal floor has no default of its own. ``obj`` (None: :func:`sample_message`) is what
    each append logs.

    Uses the event log's writer (its own thread) exactly as the actor does, without Pykka.
    Returns ``events_per_s`` (append of the first to the last being on disk),
    ``append_us`` (mean cost of one append on the producer's thread), ``bytes_per_event``.
    """
    obj = sample_message() if obj is None else obj
    with tempfile.TemporaryDirectory(prefix="journal-rate-") as tmp:
        writer = JournalWriter(directory or tmp, batch_size=batch_size,
                               flush_interval_s=0.05, rotate_bytes=1 << 40, fsync=False,
                               max_backlog=n_events + 1)
        writer.start()
        append = writer.sink("bench").append
        t0 = time.perf_counter()
        for _ in range(n_events):
            append("in", obj)
        t1 = time.perf_counter()
        writer.close()
        t2 = time.perf_counter()
        written = writer.written
        nbytes = writer.bytes_written
    return {"events": float(written), "events_per_s": written / (t2 - t0),
            "append_us": (t1 - t0) / n_events * 1e6,
            "bytes_per_event": nbytes / max(1, written)}
