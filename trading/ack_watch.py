"""Noticing a user channel that is open but no longer delivering.

The venue sends an ``order`` PLACEMENT event for every order it accepts. A user socket that
answers pings but delivers nothing is indistinguishable from a quiet market by its traffic
alone; it shows when orders the venue acknowledged over REST get no event on the channel.
Pure: time is passed in (seconds on any monotonic clock).
"""

from __future__ import annotations

from collections import deque

SEEN_MEMORY = 4096


class AckWatch:
    """Acknowledged orders waiting for their first user-channel event."""

    __slots__ = ("_cooldown_s", "_last_alarm_s", "_seen", "_seen_order", "_timeout_s",
                 "_waiting", "alarms")

    def __init__(self, timeout_s: float, *, cooldown_s: float = 30.0) -> None:
        if timeout_s <= 0:
            raise ValueError(f"user ack timeout must be > 0, got {timeout_s}")
        self._timeout_s = timeout_s
        self._cooldown_s = cooldown_s
        self._waiting: dict[str, float] = {}
        # Events can come before the acknowledgement is handled (a POST whose outcome was
        # unknown and resolved later): remember recent ids so a late ``placed`` is not waited on.
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self._last_alarm_s: float | None = None
        self.alarms = 0

    def placed(self, order_id: str, now_s: float) -> None:
        """The venue acknowledged ``order_id`` over REST."""
        if order_id not in self._seen:
            self._waiting.setdefault(order_id, now_s)

    def seen(self, order_id: str) -> None:
        """A user-channel event for ``order_id`` arrived."""
        self._waiting.pop(order_id, None)
        if order_id not in self._seen:
            self._seen.add(order_id)
            self._seen_order.append(order_id)
            if len(self._seen_order) > SEEN_MEMORY:
                self._seen.discard(self._seen_order.popleft())

    def clear(self) -> None:
        """The channel was (re)synced: start over."""
        self._waiting.clear()

    def overdue(self, now_s: float) -> int:
        """How many acknowledged orders have waited past the timeout: when non-zero (and not
        within the cool-down of the last alarm) it is an alarm; the waiting set starts over."""
        late = sum(1 for t in self._waiting.values() if now_s - t > self._timeout_s)
        if not late:
            return 0
        if self._last_alarm_s is not None and now_s - self._last_alarm_s < self._cooldown_s:
            return 0
        self._last_alarm_s = now_s
        self._waiting.clear()
        self.alarms += 1
        return late
