"""Periodic work skips the ticks it missed instead of firing them in a burst (design §1.7):
the ``PeriodicTimer`` thread and the supervisor's status line, both on a virtual clock.

The virtual clock moves only when the code under test waits (``VirtualEvent.wait`` advances it
by the timeout) or when a step is made to take long on purpose, so each test knows exactly
which ticks are due and never waits for them in real time.
"""

from __future__ import annotations

import threading
import time
import types
from collections.abc import Callable

import pytest

import polymm.supervisor as supervisor_module
from polymm.config import load_config
from polymm.supervisor import Supervisor
from runtime.timer import PeriodicTimer

T0 = 1000.0


class VirtualTime:
    def __init__(self) -> None:
        self.now = T0

    def clock(self) -> float:
        return self.now


class VirtualEvent(threading.Event):
    """An ``Event`` whose timed ``wait`` moves the virtual clock instead of waiting.

    ``on_wait(n)`` (the n-th wait, from 1) may add a stall: extra virtual seconds that pass
    during that wait (a restart's backoff on the supervisor's loop). Once ``until`` is reached
    the event sets itself, which ends the loop waiting on it.
    """

    def __init__(self, vt: VirtualTime, *, until: float | None = None,
                 on_wait: Callable[[int], float] = lambda n: 0.0) -> None:
        super().__init__()
        self.vt, self.until, self.on_wait, self.waits = vt, until, on_wait, 0

    def wait(self, timeout: float | None = None) -> bool:
        if self.is_set() or timeout is None:
            return super().wait(timeout)
        self.waits += 1
        self.vt.now += timeout + self.on_wait(self.waits)
        if self.until is not None and self.vt.now >= self.until:
            self.set()
        return self.is_set()


def one_per_grid_slot(times: list[float], start: float, interval: float) -> bool:
    slots = [int((t - start) // interval) for t in times]
    return len(slots) == len(set(slots))


def test_ticker_fires_once_after_a_long_callback_then_stays_on_its_grid() -> None:
    vt = VirtualTime()
    fired: list[float] = []
    done = threading.Event()

    def callback() -> None:
        fired.append(vt.now)
        if len(fired) == 3:
            vt.now += 10.5  # this call ran for ten and a half intervals
        if len(fired) == 8:
            done.set()
            ticker.stop()  # from its own thread: sets the event, no join

    ticker = PeriodicTimer(1.0, callback, name="virtual", clock=vt.clock, event=VirtualEvent(vt))
    ticker.start()
    try:
        assert done.wait(10)
    finally:
        ticker.stop()
    # Ticks at 1004..1013 were missed: none of them fires late, the next due one (1014) does.
    assert fired == pytest.approx([1001, 1002, 1003, 1014, 1015, 1016, 1017, 1018]), fired
    assert ticker.skipped == 10
    assert one_per_grid_slot(fired, T0 + 1, 1.0)


@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> Supervisor:
    """A supervisor with no actors on a virtual clock: only its run loop's timing is real."""
    vt = VirtualTime()
    monkeypatch.setattr(supervisor_module, "time", types.SimpleNamespace(
        monotonic=vt.clock, time=time.time, time_ns=time.time_ns))
    cfg = load_config(env={}, overrides={"statsd.enabled": False})
    sup = Supervisor(cfg, venue=types.SimpleNamespace(), status_interval_s=1.0)
    sup.vt = vt  # type: ignore[attr-defined]
    return sup


def test_status_line_after_a_stalled_loop_is_one_line_not_a_burst(
        supervisor: Supervisor, monkeypatch: pytest.MonkeyPatch) -> None:
    vt = supervisor.vt  # type: ignore[attr-defined]
    printed: list[float] = []
    monkeypatch.setattr(supervisor, "print_status", lambda: printed.append(vt.now))
    # The loop waits 0.5 s per pass; its 5th pass stalls for 10 s more (as a feed restart's
    # backoff does), so the lines due at 1003..1012 are missed.
    supervisor.stop_event = VirtualEvent(vt, until=T0 + 20,
                                         on_wait=lambda n: 10.0 if n == 5 else 0.0)
    supervisor.run()
    # One line as soon as the loop is back (1012.5), then on the grid again: 1013, 1014, ...
    assert printed == pytest.approx([1001, 1002, 1012.5, *range(1013, 1020)]), printed
    assert one_per_grid_slot(printed, T0 + 1, 1.0), printed
