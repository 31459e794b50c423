"""The timer that wakes an actor: a ``PeriodicTimer`` whose callback tells it ``TimerFired``.

Every actor with periodic work (the State's clock, the feeds' keep-alive, Discovery's polls,
the OrderManager's heartbeat and housekeeping, the Treasury's cycle) starts one in ``on_start``
and stops it in ``on_stop``/``on_failure``, so the callback is this floor's and runs no code
of the roof's on the timer thread.

Thread ownership: ``start_timer`` runs on the actor's thread; the callback on the timer's.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pykka

from messages import TimerFired
from runtime.timer import PeriodicTimer


def start_timer(ref: pykka.ActorRef[Any], name: str, interval_s: float) -> PeriodicTimer:
    """A started timer (thread ``Timer-<name>``) telling ``ref`` ``TimerFired(name=name)``
    every ``interval_s``. A firing racing the actor's stop is dropped (the actor stops the timer
    in its ``on_stop``)."""
    def fire() -> None:
        with contextlib.suppress(pykka.ActorDeadError):
            ref.tell(TimerFired(name=name, ts_recv_ns=time.time_ns()))

    return PeriodicTimer(interval_s, fire, name=name).start()
