"""The event log writes off the producers' threads, in batches (design §1.4: no blocking file
IO on feed, state, quoter or order threads).

Every ``os.write`` to the journal's files is recorded with the thread that made it: producers
only queue, one writer thread writes, and it writes many whole lines per call.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import messages
from actors.event_log import EventLog
from journal import read_journal
from tests.fakes import make_event_log_config

PRODUCERS = 2
PER_PRODUCER = 500
BATCH = 50


@pytest.fixture
def journal_writes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """``(thread, bytes)`` of every ``os.write`` into ``tmp_path / "journal"``."""
    directory = str(tmp_path / "journal")
    seen: list[tuple[threading.Thread, bytes]] = []
    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        n = real_write(fd, data)
        if target.startswith(directory):
            seen.append((threading.current_thread(), bytes(data[:n])))
        return n

    monkeypatch.setattr(os, "write", write)
    return directory, seen


def test_producers_only_queue_and_one_writer_thread_writes_whole_batches(journal_writes):
    directory, seen = journal_writes
    # The time-based flush is far away: only full batches (and the final flush) are written.
    ref = EventLog.start(make_event_log_config(dir=directory, batch_size=BATCH,
                                               flush_interval_ms=60_000))
    try:
        sink = ref.proxy().sink().get(timeout=5)
        go = threading.Event()

        def produce(tag: str) -> None:
            go.wait(5)
            for k in range(PER_PRODUCER):
                sink.append("in", messages.TimerFired(name=tag, ts_recv_ns=k))

        producers = [threading.Thread(target=produce, args=(f"p{j}",), name=f"Producer-{j}")
                     for j in range(PRODUCERS)]
        for t in producers:
            t.start()
        go.set()
        for t in producers:
            t.join(30)
        assert ref.proxy().flush().get(timeout=10) is True
    finally:
        ref.stop()

    total = PRODUCERS * PER_PRODUCER
    assert len(list(read_journal(directory))) == total
    writers = {t for t, _ in seen}
    assert len(writers) == 1, [t.name for t in writers]
    (writer,) = writers
    assert writer not in producers and writer is not threading.current_thread()
    assert writer.name == "EventLog-writer"
    lines = [data.count(b"\n") for _, data in seen]
    assert sum(lines) == total
    assert all(data.endswith(b"\n") for _, data in seen)  # whole lines, never a torn one
    # Batches, not a write per event: about one per BATCH records, and one for the flush.
    assert len(seen) <= total // BATCH + 2, lines
    assert max(lines) >= BATCH, lines
