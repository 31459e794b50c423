"""``CurrentRef``: the actor now playing a role, for producers on other threads.

A feed restarted by the supervisor gets a new ``ActorRef``. Producers (the State asking for a
resync, a slot waking its consumer, Discovery announcing markets) hold the role's
``CurrentRef`` instead of a ref or the supervisor itself: the supervisor swaps the ref in on the
main thread (one attribute store, atomic under the GIL), and a producer's ``tell`` reads it.
A tell to a dead actor is dropped: a dead consumer is the supervisor's business, so one
actor's death never crashes the actor that feeds it.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pykka


class CurrentRef:
    """The current actor of one role (``state``, ``market_feed``, ...).

    Thread ownership: ``set`` is called by the supervisor (main thread) only; ``tell`` from any
    thread.
    """

    __slots__ = ("_ref", "role")

    def __init__(self, role: str) -> None:
        self.role = role
        # Untyped actor: the role's actor class varies (a test double plays it too), and
        # ``ActorRef`` is invariant in it, so no narrower type takes every role's ref.
        self._ref: pykka.ActorRef[Any] | None = None

    def set(self, ref: pykka.ActorRef[Any]) -> None:
        """The actor that plays the role from now on."""
        self._ref = ref

    def tell(self, message: object) -> None:
        """Tell the current actor; dropped if there is none yet or it is dead."""
        ref = self._ref
        if ref is not None:
            with contextlib.suppress(pykka.ActorDeadError):
                ref.tell(message)

    def __repr__(self) -> str:
        return f"CurrentRef({self.role!r}, {self._ref!r})"
