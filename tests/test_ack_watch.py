"""The user-channel ack watchdog (pure)."""

from __future__ import annotations

import pytest

from trading.ack_watch import AckWatch


def test_no_alarm_while_events_arrive_in_time():
    w = AckWatch(5.0)
    w.placed("a", 0.0)
    w.seen("a")
    assert w.overdue(100.0) == 0


def test_alarm_when_acknowledged_orders_get_no_event():
    w = AckWatch(5.0)
    w.placed("a", 0.0)
    w.placed("b", 4.0)
    assert w.overdue(5.0) == 0          # not late yet
    assert w.overdue(5.5) == 1          # "a" is late: alarm, and the set starts over
    assert w.alarms == 1
    assert w.overdue(20.0) == 0


def test_cooldown_between_alarms():
    w = AckWatch(1.0, cooldown_s=30.0)
    w.placed("a", 0.0)
    assert w.overdue(2.0) == 1
    w.placed("b", 3.0)
    assert w.overdue(10.0) == 0         # within the cool-down
    w.placed("c", 31.0)
    assert w.overdue(40.0) == 2         # "b" and "c" both late now


def test_event_before_acknowledgement_is_not_waited_on():
    w = AckWatch(1.0)
    w.seen("a")                         # e.g. a POST that timed out, resolved later
    w.placed("a", 0.0)
    assert w.overdue(10.0) == 0


def test_clear_on_resync():
    w = AckWatch(1.0)
    w.placed("a", 0.0)
    w.clear()
    assert w.overdue(10.0) == 0


def test_bad_timeout():
    with pytest.raises(ValueError, match="timeout"):
        AckWatch(0)
