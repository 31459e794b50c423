"""The latest-only slot between a producer actor and a consumer actor.

The producer stores its newest value and tells the consumer a wake-up only when the slot was
empty; the consumer takes the value, leaving the slot empty. A slow consumer sees fewer, newer
values and the producer never waits: ``put`` holds a lock for a few hundred nanoseconds and the
wake-up is a Pykka ``tell`` (a non-blocking queue put). Every value is a complete target state,
so a replaced value loses nothing; replacements are counted for the metrics.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """A one-value mailbox that keeps only the newest value.

    Thread ownership: ``put`` is called by the producer's thread, ``take`` by the consumer's;
    the counters are written under the lock and may be read from any thread.
    """

    __slots__ = ("_full", "_lock", "_value", "_wake", "name", "published", "replaced", "taken")

    def __init__(self, name: str, wake: Callable[[], None] | None = None) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._value: T | None = None
        self._full = False
        self._wake = wake
        self.published = 0
        self.replaced = 0
        self.taken = 0

    def bind(self, wake: Callable[[], None]) -> None:
        """Set the consumer's wake-up (e.g. ``lambda: actor_ref.tell(SlotReady())``).

        A value already waiting wakes the consumer at once: it was put with nobody to wake, and
        every later ``put`` only replaces it, so without this the consumer would never run.
        """
        with self._lock:
            self._wake = wake
            waiting = self._full
        if waiting:
            wake()

    def put(self, value: T) -> bool:
        """Store ``value``; returns True if it replaced a value the consumer never took."""
        with self._lock:
            replaced = self._full
            self._value = value
            self._full = True
            self.published += 1
            if replaced:
                self.replaced += 1
        if not replaced and self._wake is not None:
            self._wake()
        return replaced

    def take(self) -> T | None:
        """Take the newest value (None if empty), leaving the slot empty."""
        with self._lock:
            if not self._full:
                return None
            value, self._value, self._full = self._value, None, False
            self.taken += 1
            return value

    def peek_full(self) -> bool:
        """Whether a value is waiting (for health checks only)."""
        return self._full
