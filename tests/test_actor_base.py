"""runtime.actor.Actor: Pykka's semantics on a ``queue.SimpleQueue`` inbox."""

from __future__ import annotations

import queue
import threading
from typing import Any

import pykka
import pytest

from runtime.actor import Actor

TIMEOUT = 5.0


class Recorder(Actor):
    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate
        self.seen: list[int] = []

    def on_receive(self, message: Any) -> Any:
        if message == "hold":
            assert self.gate.wait(TIMEOUT)
        elif message == "seen":
            return list(self.seen)
        else:
            self.seen.append(message)
        return None


def test_order_depth_ask_and_stop() -> None:
    gate = threading.Event()
    ref = Recorder.start(gate)
    try:
        assert isinstance(ref.actor_inbox, queue.SimpleQueue)
        ref.tell("hold")  # the actor blocks: what follows queues up
        for i in range(500):
            ref.tell(i)
        assert ref.actor_inbox.qsize() >= 499  # the health view's mailbox depth
        gate.set()
        assert ref.ask("seen", timeout=TIMEOUT) == list(range(500))
    finally:
        ref.stop(timeout=TIMEOUT)
    assert not ref.is_alive()
    with pytest.raises(pykka.ActorDeadError):
        ref.tell(1)
