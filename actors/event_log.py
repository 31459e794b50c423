"""The EventLog actor: the journal of canonical events, written by a :class:`JournalWriter`.

The writer (its thread, its batching and the bound on how long a record waits to be written)
is in :mod:`journal.writer`; this module is the actor around it and the check of its
directory.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from journal.writer import JournalSink, JournalWriter
from messages.errors import ConfigError, PolymmError
from runtime.actor import Actor
from runtime.sinks import MetricSink
from trading.params import rng

__all__ = ["EventLog", "JournalSink", "JournalWriter", "journal_dir_errors"]

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True, slots=True, kw_only=True)
class EventLogConfig:
    """Section ``event_log``: the EventLog's construction data, with the one set of defaults
    (the config loader validates the ranges; ``EventLog.__init__`` re-checks what a caller
    that builds one directly could get wrong)."""

    enabled: bool = True
    dir: str = "var/events"
    batch_size: int = field(default=512, metadata=rng(1, 1_000_000))
    flush_interval_ms: int = field(default=200, metadata=rng(1, 60_000))
    rotate_bytes: int = field(default=256 * 1024 * 1024, metadata=rng(1024 * 1024))
    fsync: bool = False


class EventLog(Actor):
    """The journal of canonical events.

    Thread ownership: the actor thread answers control calls (``ping``, ``sink``, ``flush``,
    ``stats``); the :class:`JournalWriter` thread owns the files; producers on any thread call
    the :class:`JournalSink` returned by ``sink()`` (never a proxy call per event).

    Accepts: proxy calls only. Emits: nothing (files). On failure: the writer logs the error
    and stops accepting events; producers are never blocked or failed by it. ``on_stop`` writes
    everything appended before the stop, so it is on disk when ``stop()`` returns.

    ``start_record`` (the run's parameters) is written, fsync'd, in ``__init__``: in the
    caller's thread, before this actor or any other runs, so that even a run killed at once
    leaves it for replay and a post-mortem. That is the one piece of IO done there; a failure
    raises :class:`PolymmError` naming the directory.
    """

    def __init__(self, config: EventLogConfig, *, metrics: MetricSink | None = None,
                 start_record: object = None) -> None:
        super().__init__()
        errors = []
        batch, flush_ms = config.batch_size, config.flush_interval_ms
        rotate, directory = config.rotate_bytes, config.dir
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
                                     fsync=config.fsync,
                                     metrics=metrics)
        self._default_sink = JournalSink(self._writer)
        if start_record is not None:
            try:
                self._writer.write_first("start", start_record)
            except OSError as exc:
                raise PolymmError(f"event_log.dir: {directory}: cannot write the start record: "
                                  f"{exc.strerror or exc}") from None

    def on_start(self) -> None:
        self._writer.start()
        logger.info("event log: writing to %s", self._writer.files[-1])

    def on_stop(self) -> None:
        self._writer.close()
        s = self._writer.stats()
        logger.info("event log: closed; %d events in %d files, %d dropped",
                    s["events_logged"], s["files"], s["dropped"])

    def on_failure(self, *exc_info: object) -> None:
        self._writer.close()

    def ping(self) -> bool:
        return True

    def sink(self, src: str = "") -> JournalSink:
        """The non-blocking append handle for producers on other threads."""
        return JournalSink(self._writer, src) if src else self._default_sink

    def append(self, kind: str, obj: object) -> None:
        """Same as the sink's ``append`` (through a proxy this goes via the mailbox: use the
        sink on hot paths)."""
        self._default_sink.append(kind, obj)

    def flush(self, timeout: float = 10.0) -> bool:
        """Write everything appended so far; True once it is in the file."""
        return self._writer.flush(timeout)

    def stats(self) -> dict[str, int]:
        return self._writer.stats()
