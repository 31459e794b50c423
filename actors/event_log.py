"""The event log: canonical events from every actor, appended without blocking, written in batches.

Producers call :meth:`JournalSink.append` from any thread: it takes the time and puts the
record on a ``collections.deque`` as four items (one ``extend``: atomic and lock-free under the
GIL). It never waits and never does IO; it wakes the writer (an ``Event``) only once
``batch_size`` records wait. The writer thread looks at the deque every ``POLL_S`` while
events arrive, encodes what waits into bytes straight away (:func:`polymm.journal.encode_line`,
orjson), a few records at a time with a short pause in between, and writes whole lines with one
``write`` per ``batch_size`` records or once ``flush_interval_ms`` has passed since the last
write, so a line is never torn by us (a crash can tear the last line; the reader skips it).
Files rotate by size (``events-<n>.jsonl``, numbering continues past files already in the
directory).

Why it is shaped so (``bin/polymm bench eventlog`` measures both costs; issue 7):

* The writer shares the GIL with the order path. A thread that wakes while the writer runs
  Python (or one long orjson call) waits until the writer blocks, or for the GIL switch
  interval. Encoding ``PACED_CHUNK`` records (~10-20 µs) and then sleeping ``YIELD_S`` bounds
  that wait; a whole batch in one call held the GIL for milliseconds. Only when a batch or more
  is behind does the writer catch up at full speed.
* A queued record keeps its message alive: four or five objects the garbage collector tracks,
  which would otherwise die young. A thousand queued records make collections run, on
  whichever thread allocates, for a millisecond or more. Encoding within ``POLL_S`` keeps few
  records queued (bytes are not tracked), and four deque items instead of a tuple add no
  tracked object of their own.
* Encoding on the producer's thread instead was measured and is worse for the order path: the
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
from pathlib import Path
from typing import Any

from actors.base import Actor
from polymm.errors import ConfigError
from polymm.journal import encode_line, next_file_number

logger = logging.getLogger(__name__)

RECORD_ITEMS = 4
"""Deque items per queued record: time, kind, source, object (a flush marker: event, 3 Nones)."""

DEFAULT_MAX_BACKLOG = 2_000_000
"""Events waiting beyond this are dropped (counted): a stalled disk must not eat the memory."""

POLL_S = 0.01
"""While events arrive, the writer looks for them this often (``flush_interval_ms`` if less)."""

PACED_CHUNK = 4
"""Records the writer encodes before it pauses, while less than a batch waits (~10-20 µs of
GIL: about the longest it makes a thread of the order path wait; see the module docstring)."""

CATCH_UP_CHUNK = 64
"""Records per encoding step, without pauses, while a batch or more waits."""

YIELD_S = 0.00005
"""The writer's pause between two paced chunks (it releases the GIL and keeps it released
long enough for a waiting thread to take it)."""


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

    def __init__(self, writer: JournalWriter, src: str = "") -> None:
        self._writer = writer
        self._src = src

    def append(self, kind: str, obj: Any) -> None:
        """Queue ``obj`` under ``kind`` (``in``, ``out``, ``order``…) with the current time."""
        w = self._writer
        q = w.queue
        if not w.accepting or len(q) >= w.max_items:
            w.dropped += 1  # a racy count is fine: it is a diagnostic
            return
        # Four items, not a tuple: a queued tuple holding a message is one more object for the
        # garbage collector to track (and scan) for as long as it waits. ``extend`` of a tuple
        # runs in C under the GIL, so the four land together even with many producers.
        q.extend((time.time_ns(), kind, self._src or threading.current_thread().name, obj))
        if len(q) >= w.wake_items and not w.wake.is_set():
            w.wake.set()

    __call__ = append


class JournalWriter:
    """Owns the journal files and the writer thread (``EventLog-writer``).

    Thread ownership: the deque and ``wake`` are shared (producers append/set, the writer
    pops/clears); the encoded lines not yet written, the open file, sizes and counters belong to
    the writer thread (read by others for stats only). ``flush``/``close`` may be called from
    any thread.
    """

    def __init__(self, directory: str | os.PathLike[str], *, batch_size: int = 1024,
                 flush_interval_s: float = 0.2, rotate_bytes: int = 256 << 20,
                 fsync: bool = False, max_backlog: int = DEFAULT_MAX_BACKLOG,
                 metrics: Any = None) -> None:
        self.directory = Path(directory)
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.rotate_bytes = rotate_bytes
        self.fsync = fsync
        self.max_backlog = max_backlog
        self.max_items = RECORD_ITEMS * max_backlog
        self.wake_items = RECORD_ITEMS * batch_size
        self.metrics = metrics
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
        self._last_write = 0.0
        self._thread = threading.Thread(target=self._loop, name="EventLog-writer", daemon=True)

    # -- any thread --------------------------------------------------------------------------

    def start(self) -> JournalWriter:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._open(next_file_number(self.directory))
        self.accepting = True
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

    def stats(self) -> dict[str, Any]:
        return {"events_logged": self.written, "dropped": self.dropped,
                "backlog": len(self.queue) // RECORD_ITEMS, "bytes": self.bytes_written,
                "batches": self.batches, "files": len(self.files),
                "encode_errors": self.encode_errors}

    # -- the writer thread ----------------------------------------------------------------------

    def _open(self, n: int) -> None:
        path = self.directory / f"events-{n}.jsonl"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._size = os.fstat(self._fd).st_size
        self._n = n
        self.files.append(path)

    def _close_file(self) -> None:
        if self._fd is not None:
            if self.fsync:
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None

    def _loop(self) -> None:
        interval = self.flush_interval_s
        poll = min(POLL_S, interval)
        self._last_write = time.monotonic()
        try:
            while True:
                self.wake.wait(poll if self.queue or self._out else interval)
                self.wake.clear()
                stopping = self._stop
                self._drain(pause=not stopping)
                if self._out and (stopping or self._out_records >= self.batch_size
                                  or time.monotonic() - self._last_write >= interval):
                    self._write_out()
                if stopping and not self.queue:
                    break
        except Exception:
            logger.exception("event log: writer failed; events are no longer written")
            self.accepting = False
        finally:
            self._close_file()

    def _short(self, name: str) -> str:
        short = self._names.get(name)
        if short is None:
            # Pykka names threads "<Class> (urn:uuid:…)": the class is the source.
            short = self._names[name] = name.split(" (", 1)[0]
        return short

    def _drain(self, *, pause: bool) -> None:
        """Encode everything queued now onto the lines to write; a full batch is written at
        once, and so is everything before a flush marker (set once it is written).

        While less than a batch waits (and with ``pause``), the writer encodes
        ``PACED_CHUNK`` records at a time and sleeps ``YIELD_S`` in between; otherwise it
        catches up at full speed, ``CATCH_UP_CHUNK`` records per step.
        """
        q = self.queue
        popleft = q.popleft
        short = self._names.get
        batch = self.batch_size
        left = len(q) // RECORD_ITEMS  # this thread is the only one that pops
        while left:
            paced = pause and len(q) < self.wake_items
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

    def _encode_failed(self, obj: Any, exc: Exception) -> None:
        self.encode_errors += 1
        if self.encode_errors <= 5:
            logger.warning("event log: could not encode a %s event: %s", type(obj).__name__, exc)

    def _write_out(self) -> None:
        """Write the encoded lines (one ``write``), fsync if configured, rotate if due."""
        out, lines = self._out, self._out_records
        self._out, self._out_records = [], 0
        self._last_write = time.monotonic()
        if not out:
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        fd = self._fd
        if fd is None:
            return
        view = memoryview(data)
        while view:
            k = os.write(fd, view)
            view = view[k:]
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


def journal_dir_errors(path: str | os.PathLike[str]) -> list[str]:
    """Create the journal directory now, so a bad ``event_log.dir`` is one clear config error
    in the caller's thread (not a traceback from the actor's ``on_start``)."""
    directory = Path(path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return [f"event_log.dir: {directory}: cannot create: {exc.strerror or exc}"]
    if not os.access(directory, os.W_OK | os.X_OK):
        return [f"event_log.dir: {directory}: not writable"]
    return []


class EventLog(Actor):
    """The journal of canonical events.

    Thread ownership: the actor thread answers control calls (``ping``, ``sink``, ``flush``,
    ``stats``); the :class:`JournalWriter` thread owns the files; producers on any thread call
    the :class:`JournalSink` returned by ``sink()`` (never a proxy call per event).

    Accepts: proxy calls only. Emits: nothing (files). On failure: the writer logs the error
    and stops accepting events; producers are never blocked or failed by it. ``on_stop`` writes
    everything appended before the stop, so it is on disk when ``stop()`` returns.
    """

    def __init__(self, config: Any, *, metrics: Any = None) -> None:
        super().__init__()
        errors = []
        batch = int(getattr(config, "batch_size", 1024))
        flush_ms = float(getattr(config, "flush_interval_ms", 200))
        rotate = int(getattr(config, "rotate_bytes", 256 << 20))
        directory = str(getattr(config, "dir", "") or "")
        if batch < 1:
            errors.append(f"event_log.batch_size: expected >= 1, got {batch}")
        if flush_ms <= 0:
            errors.append(f"event_log.flush_interval_ms: expected > 0, got {flush_ms}")
        if rotate < 4096:
            errors.append(f"event_log.rotate_bytes: expected >= 4096, got {rotate}")
        if not directory:
            errors.append("event_log.dir: required")
        if not errors:
            errors += journal_dir_errors(directory)
        if errors:
            raise ConfigError(errors)
        self._writer = JournalWriter(directory, batch_size=batch,
                                     flush_interval_s=flush_ms / 1000.0, rotate_bytes=rotate,
                                     fsync=bool(getattr(config, "fsync", False)),
                                     metrics=metrics)
        self._default_sink = JournalSink(self._writer)

    def on_start(self) -> None:
        self._writer.start()
        logger.info("event log: writing to %s", self._writer.files[-1])

    def on_stop(self) -> None:
        self._writer.close()
        s = self._writer.stats()
        logger.info("event log: closed; %d events in %d files, %d dropped",
                    s["events_logged"], s["files"], s["dropped"])

    def on_failure(self, *exc_info: Any) -> None:
        self._writer.close()

    def ping(self) -> bool:
        return True

    def sink(self, src: str = "") -> JournalSink:
        """The non-blocking append handle for producers on other threads."""
        return JournalSink(self._writer, src) if src else self._default_sink

    def append(self, kind: str, obj: Any) -> None:
        """Same as the sink's ``append`` (through a proxy this goes via the mailbox: use the
        sink on hot paths)."""
        self._default_sink.append(kind, obj)

    def flush(self, timeout: float = 10.0) -> bool:
        """Write everything appended so far; True once it is in the file."""
        return self._writer.flush(timeout)

    def stats(self) -> dict[str, Any]:
        return self._writer.stats()
