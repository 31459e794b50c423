"""The latest-only slot and the skip-missed-ticks timer."""

from __future__ import annotations

import threading

import pytest

from runtime.slot import LatestSlot
from runtime.timer import PeriodicTimer, next_deadline


def test_slot_wakes_only_when_empty_and_counts_replacements():
    wakes = []
    slot: LatestSlot[int] = LatestSlot("t", lambda: wakes.append(1))
    assert slot.put(1) is False
    assert slot.put(2) is True
    assert slot.put(3) is True
    assert wakes == [1]
    assert slot.take() == 3
    assert slot.take() is None
    assert (slot.published, slot.replaced, slot.taken) == (3, 2, 1)
    slot.put(4)
    assert wakes == [1, 1]


def test_a_value_put_before_the_consumer_binds_wakes_it_at_bind():
    # The State may publish (a startup trade, its own timer) before the Quoter has bound its
    # wake-up. Every later put only replaces that value, so a bind that did not wake would
    # leave the Quoter asleep for the whole run.
    slot: LatestSlot[int] = LatestSlot("t")
    slot.put(1)
    wakes: list[int] = []
    slot.bind(lambda: wakes.append(1))
    assert wakes == [1]
    slot.put(2)  # still waiting: a replace, no second wake
    assert wakes == [1] and slot.take() == 2
    empty: LatestSlot[int] = LatestSlot("e")
    empty.bind(lambda: wakes.append(2))
    assert wakes == [1]  # nothing waiting: nothing to wake for


def test_slot_producer_never_blocks_on_a_slow_consumer():
    slot: LatestSlot[int] = LatestSlot("t")
    for i in range(10_000):
        slot.put(i)
    assert slot.take() == 9_999
    assert slot.replaced == 9_999


@pytest.mark.parametrize(("start", "interval", "now", "expected"), [
    (10.0, 1.0, 5.0, 10.0),      # before the first tick
    (10.0, 1.0, 10.0, 11.0),     # exactly on a tick: the next one
    (10.0, 1.0, 10.5, 11.0),
    (10.0, 1.0, 14.2, 15.0),     # woke 4 ticks late: skip them, no burst
    (0.0, 0.25, 1.0, 1.25),
])
def test_next_deadline_skips_missed_ticks(start, interval, now, expected):
    assert next_deadline(start, interval, now) == pytest.approx(expected)


def test_ticker_calls_back_and_stops():
    fired = threading.Event()
    count = []

    def cb():
        count.append(1)
        if len(count) >= 3:
            fired.set()

    t = PeriodicTimer(0.01, cb, name="test").start()
    try:
        assert fired.wait(5)
    finally:
        t.stop()
    n = len(count)
    assert n >= 3
    assert not t._thread.is_alive()


def test_ticker_survives_a_failing_callback():
    fired = threading.Event()
    calls = []

    def cb():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        fired.set()

    t = PeriodicTimer(0.01, cb, name="failing").start()
    try:
        assert fired.wait(5)
    finally:
        t.stop()


def test_ticker_rejects_bad_interval():
    with pytest.raises(ValueError, match="interval"):
        PeriodicTimer(0, lambda: None, name="bad")
