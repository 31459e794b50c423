"""``CurrentRef``: producers on other threads tell the actor now playing a role."""

from __future__ import annotations

import threading
from typing import Any

import pykka

from runtime.actor import Actor
from runtime.roles import CurrentRef

ASK_S = 5.0


class Recorder(Actor):
    def __init__(self) -> None:
        super().__init__()
        self.got: list[Any] = []

    def on_receive(self, message: Any) -> Any:
        if message == "what":
            return list(self.got)
        self.got.append(message)
        return None


def test_tells_go_to_the_current_actor_and_are_dropped_while_there_is_none() -> None:
    role = CurrentRef("market_feed")
    role.tell("before any actor")  # dropped, not an error
    first = Recorder.start()
    role.set(first)
    role.tell("one")
    first.stop(timeout=ASK_S)
    role.tell("to a dead actor")  # dropped: the producer must not crash
    second = Recorder.start()
    try:
        role.set(second)  # a restart: the same role, a new ref
        done = threading.Event()
        threading.Thread(target=lambda: (role.tell("two"), done.set())).start()
        assert done.wait(ASK_S)
        assert second.ask("what", timeout=ASK_S) == ["two"]
    finally:
        second.stop(timeout=ASK_S)
    assert not first.is_alive()
    assert pykka.ActorRegistry.get_by_class(Recorder) == []
