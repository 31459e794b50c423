"""The ``tick_to_order`` movers, each in a process of its own.

A mover makes the venue send the frame that starts a timed path: :class:`Mover` posts and
cancels the second account's order that moves the book, ``bench.price_mover.PriceMover`` steps
the reference price. In the bot's process a mover would share the GIL with the path being
timed: its REST reply arrives at the moment the moving frame does, and reading it (~100-300 µs
of Python) delays the bot's reader thread. Like the simulated venue, load generators stay out
of the measured process.

Every mover speaks one protocol over a pipe: ``("cycles", triggers, action_s)`` runs each
trigger's two actions ``action_s`` apart (``first``, pause, ``second``, pause) and answers
``("done", errors)``; anything else ends the child. :func:`serve_cycles` is that loop.

Thread ownership: a :class:`MoverProcess` belongs to the benchmark's main thread; the child runs
its serve function on its own main thread and owns its HTTP client.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from venue.auth import ApiCreds

READY_TIMEOUT_S = 60.0

Action = Callable[[Any], object]


def serve_cycles(conn: Connection, first: Action, second: Action) -> None:
    """Child: answer ``("ready",)``, then run the cycles the parent sends until it says stop.
    An action that raises counts as one error; the cycle goes on."""
    pause = threading.Event()
    conn.send(("ready",))
    while True:
        msg = conn.recv()
        if msg[0] != "cycles":
            break
        errors = 0
        for trigger in msg[1]:
            for act in (first, second):
                try:
                    act(trigger)
                except Exception:
                    errors += 1
                pause.wait(msg[2])  # pacing the trigger, not synchronising
        conn.send(("done", errors))


def _serve_orders(conn: Connection, base_url: str, address: str, creds: ApiCreds) -> None:
    """Child of :class:`Mover`: each trigger ``(hash, body)`` is posted, then canceled."""
    from venue.rest import ClobClient

    client = ClobClient(base_url, address=address, creds=creds)
    try:
        serve_cycles(conn, lambda t: client.post_order(t[1]), lambda t: client.cancel_order(t[0]))
    finally:
        client.close()
        conn.close()


class MoverProcess:
    """Handle on a mover child (spawned, so nothing of the bot's threads is inherited).

    Args:
        target: the child's serve function, called as ``target(conn, *args)``; it must call
            :func:`serve_cycles` (or speak its protocol).
        args: picklable arguments after the pipe end.
        name: the child process's name.
    """

    def __init__(self, target: Callable[..., None], args: tuple[Any, ...], name: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=target, args=(child, *args), name=name, daemon=True)
        self._proc.start()
        child.close()
        if not self._conn.poll(READY_TIMEOUT_S):
            self.close()
            raise RuntimeError(f"tick_to_order: the {name} process did not start")
        self._conn.recv()

    def run(self, triggers: Sequence[Any], action_s: float, timeout_s: float) -> int:
        """Run each trigger's two actions in the child; returns how many actions failed."""
        self._conn.send(("cycles", list(triggers), action_s))
        if not self._conn.poll(timeout_s):
            raise RuntimeError(f"tick_to_order: the mover did not finish in {timeout_s:.0f} s")
        reply: Any = self._conn.recv()
        return int(reply[1])

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(("stop",))
        self._proc.join(10.0)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5.0)
        self._conn.close()


class Mover(MoverProcess):
    """The book mover: each trigger ``(order hash, POST /order body)`` is the second account's
    order, posted and then canceled (each moves both mids)."""

    def __init__(self, base_url: str, address: str, creds: ApiCreds) -> None:
        super().__init__(_serve_orders, (base_url, address, creds), "bench-mover")
