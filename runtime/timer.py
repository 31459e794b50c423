"""A periodic timer thread that never catches up.

A late timer skips the deadlines it missed instead of firing them in a burst (design §1.7). The
thread waits on an ``Event``, so ``stop`` ends it at once; it never sleeps blindly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


def next_deadline(start: float, interval: float, now: float) -> float:
    """The first deadline strictly after ``now`` on the grid ``start + k * interval``.

    Missed grid points are skipped, so a timer that woke late fires once, not once per miss.
    """
    if now < start:
        return start
    k = int((now - start) // interval) + 1
    return start + k * interval


class PeriodicTimer:
    """Calls ``fn()`` every ``interval_s`` on its own daemon thread until ``stop()``.

    Thread ownership: ``fn`` runs on the timer's thread; it should be a Pykka ``tell`` or
    similarly non-blocking. An exception in ``fn`` is logged and the timer keeps going.

    ``clock`` is the time the grid is laid on and ``event`` the one the thread waits on between
    deadlines (``stop`` sets it). They come as a pair: a test gives a virtual clock and an event
    whose ``wait`` advances it, and sees exactly which deadlines fire without waiting for them.
    """

    def __init__(self, interval_s: float, fn: Callable[[], None], *, name: str,
                 clock: Callable[[], float] = time.monotonic,
                 event: threading.Event | None = None) -> None:
        if interval_s <= 0:
            raise ValueError(f"timer {name}: interval must be > 0, got {interval_s}")
        self._interval = interval_s
        self._fn = fn
        self._clock = clock
        self._stop = event if event is not None else threading.Event()
        self.skipped = 0
        self._thread = threading.Thread(target=self._loop, name=f"Timer-{name}", daemon=True)

    def start(self) -> PeriodicTimer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _loop(self) -> None:
        start = self._clock() + self._interval
        deadline = start
        while not self._stop.wait(max(0.0, deadline - self._clock())):
            try:
                self._fn()
            except Exception:
                logger.exception("timer %s: callback failed", self._thread.name)
            now = self._clock()
            nxt = next_deadline(start, self._interval, now)
            self.skipped += max(0, round((nxt - deadline) / self._interval) - 1)
            deadline = nxt
