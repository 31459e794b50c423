"""The journal writer: events from every actor, appended without blocking, written in batches.

The ``EventLog`` actor (:mod:`actors.event_log`) owns one.

Producers call :meth:`JournalSink.append` from any thread: it takes the time and puts the
record on a ``collections.deque`` as four items (one ``extend``: atomic and lock-free under the
GIL). It never waits and never does IO; it wakes the writer (an ``Event``) only once
``batch_size`` records wait. The writer thread looks at the deque every ``POLL_S`` while
events arrive, encodes what waits into bytes straight away (:func:`journal.encode_line`,
orjson), a few records at a time with a short pause in between, and writes whole lines with one
``write`` per ``batch_size`` records, and in any case before the oldest line not yet written is
``flush_interval_ms`` old (counted from a time the writer knows to precede its append, see
:meth:`JournalWriter._cycle`), so a line is never torn by us (a crash can tear the last line;
the reader skips it). Files rotate by size (``events-<n>.jsonl``, numbering continues past
files already in the directory). A run's first record (``start``) is written and fsync'd by
:meth:`JournalWriter.write_first` in the caller's thread, before any thread of the run exists.

Why it is shaped so (``bin/polymm bench eventlog`` measures both costs):

* The writer shares the GIL with the order path. A thread that wakes while the writer runs
  Python (or one long orjson call) waits until the writer blocks, or for the GIL switch
  interval. Encoding ``PACED_CHUNK`` records (~10-20 µs) and then sleeping ``YIELD_S`` bounds
  that wait; a whole batch in one call held the GIL for milliseconds. Only when a batch or more
  is behind does the writer catch up at full speed. (``sleep(0)`` asks for the GIL straight
  back: under load the order path's p50 was 25% slower.)
* A queued record keeps its message alive: four or five objects the garbage collector tracks,
  which would otherwise die young. A thousand queued records make collections run, on
  whichever thread allocates, for a millisecond or more. Encoding within ``POLL_S`` keeps few
  records queued (bytes are not tracked), and four deque items instead of a tuple add no
  tracked object of their own.
* Encoding on the producer's thread would be worse for the order path (the bench shows it): the
  State encodes every event it applies, and each event queued behind others pays for theirs;
  and an orjson result kept on its own (one per line in a queue) costs a page fault, as it is
  allocated in ≥ 1 KB and shrunk, while lines joined at once per chunk do not.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from journal.codec import encode_line
from journal.reader import next_file_number
from runtime.sinks import MetricSink

logger = logging.getLogger(__name__)

RECORD_ITEMS = 4
"""Deque items per queued record: time, kind, source, object (a flush marker: event, 3 Nones)."""

DEFAULT_MAX_BACKLOG = 2_000_000
"""Events waiting beyond this are dropped (counted): a stalled disk must not eat the memory."""

POLL_S = 0.01
"""While events arrive, the writer looks for them this often (less if the interval is short)."""

FLUSH_SLACK_S = 0.01
"""Of ``flush_interval_ms``, the time kept for the last encoding step and the ``write`` (at most
half the interval): the writer plans to write a line this long before it is due."""

PACED_CHUNK = 4
"""Records the writer encodes before it pauses, while less than a batch waits (~10-20 µs of
GIL: about the longest it makes a thread of the order path wait; see the module docstring)."""

CATCH_UP_CHUNK = 64
"""Records per encoding step, without pauses, while a batch or more waits."""

YIELD_S = 0.00005
"""The pause between two paced chunks: the GIL released long enough for a waiter to take it."""


def _yield_gil() -> None:
    """The writer's pause between paced chunks (its own function so that a sampling profile
    sees a wait here, not encoding: ``bench.profile.WAITING``)."""
    time.sleep(YIELD_S)  # sleep-ok: releases the GIL to the threads waiting for it


class JournalSink:
    """The append handle every actor holds (``event_log=...``). Thread-safe, never blocks.

    ``src`` names the producer in each record; when empty, the producing thread's name is used
    (Pykka names threads after the actor class, so ``State (urn:…)`` gives ``State``).
    """

    __slots__ = ("_src", "_writer")
    _thread = threading.local()  # .name: the producing thread's, read once (Pykka sets it)

    def __init__(self, writer: JournalWriter, src: str = "") -> None:
        self._writer = writer
        self._src = src

    def append(self, kind: str, obj: object) -> None:
        """Queue ``obj`` under ``kind`` (``in``, ``out``, ``order``…) with the current time."""
        w = self._writer
        q = w.queue
        if not w.accepting or len(q) >= w.max_items:
            w.dropped += 1  # a racy count is fine: it is a diagnostic
            return
        # Four items, not a tuple: a queued tuple holding a message is one more object for the
        # garbage collector to track (and scan) for as long as it waits. ``extend`` of a tuple
        # runs in C under the GIL, so the four land together even with many producers.
        src = self._src or getattr(self._thread, "name", None)
        if not src:
            src = self._thread.name = threading.current_thread().name
        q.extend((time.time_ns(), kind, src, obj))
        if len(q) >= w.wake_items and not w.wake.is_set():
            w.wake.set()

    __call__ = append


class JournalWriter:
    """Owns the journal files and the writer thread (``EventLog-writer``).

    Thread ownership: until :meth:`start`, the caller's thread owns the file (``write_first``);
    from then on the writer thread does. The deque and ``wake`` are shared (producers
    append/set, the writer pops/clears); the encoded lines not yet written, the open file,
    sizes, counters and the write schedule belong to the writer thread (read by others for
    stats only). ``flush``/``close`` may be called from any thread.

    ``clock`` (monotonic seconds) times the write schedule only; tests drive :meth:`_cycle`
    with their own clock instead of the thread.

    ``batch_size``, ``flush_interval_s`` and ``rotate_bytes`` have no defaults here: they are
    the ``event_log`` section's, whose defaults are ``actors.event_log.EventLogConfig``'s.
    """

    def __init__(self, directory: str | os.PathLike[str], *, batch_size: int,
                 flush_interval_s: float, rotate_bytes: int,
                 fsync: bool = False, max_backlog: int = DEFAULT_MAX_BACKLOG,
                 metrics: MetricSink | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.directory = Path(directory)
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.rotate_bytes = rotate_bytes
        self.fsync = fsync
        self.max_backlog = max_backlog
        self.max_items = RECORD_ITEMS * max_backlog
        self.wake_items = RECORD_ITEMS * batch_size
        self.metrics = metrics
        # Four items per record, of four types (see ``RECORD_ITEMS``), or a flush marker; the
        # writer tells them apart by position and checks the first item's type.
        self.queue: collections.deque[Any] = collections.deque()
        self.wake = threading.Event()
        self.accepting = False
        self.dropped = 0
        self.written = 0
        self.bytes_written = 0
        self.batches = 0
        self.encode_errors = 0
        self.files: list[Path] = []
        self._stop = False
        self._fd: int | None = None
        self._size = 0
        self._names: dict[str, str] = {}
        self._out: list[bytes] = []  # encoded, not yet written
        self._out_records = 0
        self._clock = clock
        # A line is written at the latest ``_budget`` after a time known to precede its
        # append; the slack left of the interval pays for that last drain and the write.
        self._budget = flush_interval_s - min(FLUSH_SLACK_S, flush_interval_s / 2)
        self._poll = min(POLL_S, self._budget)
        self._seen = 0.0  # every record still queued was appended after this (see _drain)
        self._out_since = 0.0  # every line in _out was appended after this
        self._thread = threading.Thread(target=self._loop, name="EventLog-writer", daemon=True)

    # -- any thread --------------------------------------------------------------------------

    def write_first(self, kind: str, obj: object) -> Path:
        """Open a new journal file and write ``obj`` as its first line, then fsync the file
        and the directory (the new name) before returning. Caller's thread, before ``start``.

        The line is in the kernel when this returns, so a SIGKILL right after cannot lose
        it, and on disk, so a power cut cannot either. Raises ``OSError``.
        """
        data = encode_line(time.time_ns(), kind, self._short(threading.current_thread().name),
                           obj)
        fd = self._open_new()
        try:
            self._write_all(fd, data)
            os.fsync(fd)
            dfd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except BaseException:
            self._close_file()
            raise
        self._size += len(data)
        self.bytes_written += len(data)
        self.written += 1
        return self.files[-1]

    def open(self) -> JournalWriter:
        """Accept appends, to be written to the file of ``write_first`` if it was called, else
        to a new one (caller's thread; ``start`` calls it)."""
        if self._fd is None:
            self._open_new()
        self._seen = self._clock()  # before accepting: every record is appended after it
        self.accepting = True
        return self

    def start(self) -> JournalWriter:
        """``open`` and start the writer thread, which owns the file from then on."""
        self.open()
        self._thread.start()
        return self

    def sink(self, src: str = "") -> JournalSink:
        return JournalSink(self, src)

    def flush(self, timeout: float = 10.0) -> bool:
        """Return once everything appended before the call is written (False on timeout)."""
        if not self._thread.is_alive():
            return not self.queue
        done = threading.Event()
        self.queue.extend((done, None, None, None))
        self.wake.set()
        return done.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Stop accepting, write everything already appended, close the file."""
        self.accepting = False
        self._stop = True
        self.wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.error("event log: writer did not finish in %.0f s; %d events pending",
                             timeout, len(self.queue) // RECORD_ITEMS)
        elif self._thread.ident is None:  # opened but never started: write here, then close
            try:
                while self._cycle() is not None:
                    pass
            finally:
                self._close_file()

    def stats(self) -> dict[str, int]:
        return {"events_logged": self.written, "dropped": self.dropped,
                "backlog": len(self.queue) // RECORD_ITEMS, "bytes": self.bytes_written,
                "batches": self.batches, "files": len(self.files),
                "encode_errors": self.encode_errors}

    # -- the writer thread ----------------------------------------------------------------------

    def _open_new(self) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self._open(next_file_number(self.directory))

    def _open(self, n: int) -> int:
        path = self.directory / f"events-{n}.jsonl"
        fd = self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._size = os.fstat(fd).st_size
        self._n = n
        self.files.append(path)
        return fd

    def _close_file(self) -> None:
        if self._fd is not None:
            if self.fsync:
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None

    def _loop(self) -> None:
        try:
            while (wait := self._cycle()) is not None:
                self.wake.wait(wait)
        except Exception:
            logger.exception("event log: writer failed; events are no longer written")
            self.accepting = False
        finally:
            self._close_file()

    def _due(self) -> float:
        """When the oldest line not yet written must be: ``_budget`` after a time that
        precedes its append (lines already encoded, else records still queued)."""
        return (self._out_since if self._out else self._seen) + self._budget

    def _cycle(self) -> float | None:
        """One round of the writer: encode what waits, write what is due.

        Returns the seconds to wait before the next round (a wake-up cuts it short), or None
        once closed with everything written. The wait never passes the due time of a record
        that may be queued, so a record appended at ``t`` is written by ``t + _budget`` (plus
        the last drain and the write, which ``FLUSH_SLACK_S`` leaves room for), whatever the
        batch size and however records arrive (the promise the README makes in "Replay").
        """
        self.wake.clear()
        stopping = self._stop
        self._drain(pause=not stopping, until=self._due())
        now = self._clock()
        if self._out and (stopping or now >= self._due()):
            self._write_out()
        if stopping and not self.queue:
            return None
        wait = max(0.0, self._due() - now)
        if self.queue or self._out:
            wait = min(wait, self._poll)  # encode arrivals soon: see the module docstring
        return wait

    def _short(self, name: str) -> str:
        short = self._names.get(name)
        if short is None:
            # Pykka names threads "<Class> (urn:uuid:…)": the class is the source.
            short = self._names[name] = name.split(" (", 1)[0]
        return short

    def _drain(self, *, pause: bool, until: float) -> None:
        """Encode everything queued now onto the lines to write; a full batch is written at
        once, and so is everything before a flush marker (set once it is written).

        While less than a batch waits, with ``pause`` and before ``until`` (the due time),
        the writer encodes ``PACED_CHUNK`` records at a time and sleeps ``YIELD_S`` in
        between; otherwise it catches up at full speed, ``CATCH_UP_CHUNK`` records per step.

        The records popped here are those counted at the start, all appended after the
        previous count (``_seen``): that time is what their due time is counted from.
        """
        q = self.queue
        popleft = q.popleft
        short = self._names.get
        batch = self.batch_size
        since = self._seen
        self._seen = self._clock()  # read before the count: what is left came after it
        left = len(q) // RECORD_ITEMS  # this thread is the only one that pops
        while left:
            paced = pause and len(q) < self.wake_items and self._clock() < until
            lines: list[bytes] = []
            marker = None
            for _ in range(min(left, PACED_CHUNK if paced else CATCH_UP_CHUNK, batch)):
                ts = popleft()
                kind = popleft()
                src = popleft()
                obj = popleft()
                left -= 1
                if type(ts) is not int:  # a flush marker: (event, None, None, None)
                    marker = ts
                    break
                try:
                    lines.append(encode_line(ts, kind, short(src) or self._short(src), obj))
                except Exception as exc:  # e.g. an int beyond 64 bits: skip this one alone
                    self._encode_failed(obj, exc)
            if lines:
                if not self._out:
                    self._out_since = since
                self._out.append(b"".join(lines))
                self._out_records += len(lines)
                if self._out_records >= batch:
                    self._write_out()
            if marker is not None:
                self._write_out()
                marker.set()
            elif paced and left:
                _yield_gil()
        if self.metrics is not None:
            self.metrics.gauge("eventlog.backlog", len(q) // RECORD_ITEMS + self._out_records)

    def _encode_failed(self, obj: object, exc: Exception) -> None:
        self.encode_errors += 1
        if self.encode_errors <= 5:
            logger.warning("event log: could not encode a %s event: %s", type(obj).__name__, exc)

    @staticmethod
    def _write_all(fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            k = os.write(fd, view)
            view = view[k:]

    def _write_out(self) -> None:
        """Write the encoded lines (one ``write``), fsync if configured, rotate if due."""
        out, lines = self._out, self._out_records
        self._out, self._out_records = [], 0
        if not out:
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        fd = self._fd
        if fd is None:
            return
        self._write_all(fd, data)
        if self.fsync:
            os.fsync(fd)
        self._size += len(data)
        self.bytes_written += len(data)
        self.written += lines
        self.batches += 1
        if self.metrics is not None:
            self.metrics.incr("eventlog.written", lines)
        if self._size >= self.rotate_bytes:
            self._close_file()
            self._open(self._n + 1)
