"""The ``tick_to_order`` market mover, in a process of its own.

It posts and cancels the second account's order that moves the book (``ACTION_S`` apart). In
the bot's process it would share the GIL with the path being timed: its REST reply arrives at
the moment the book-moving frame does, and reading it (~100-300 µs of Python) delays the bot's
reader thread. Like the simulated venue, load generators stay out of the measured process.

Thread ownership: :class:`Mover` belongs to the benchmark's main thread; the child runs
:func:`_serve` on its own main thread and owns its REST client.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from venue.auth import ApiCreds

READY_TIMEOUT_S = 60.0


def _serve(conn: Connection, base_url: str, address: str, creds: ApiCreds) -> None:
    """Child: for each ``("cycles", [(hash, body), ...], action_s)`` post then cancel each
    order ``action_s`` apart and answer ``("done", errors)``; ``("stop",)`` ends it."""
    from venue.rest import ClobClient

    client = ClobClient(base_url, address=address, creds=creds)
    pause = threading.Event()
    conn.send(("ready",))
    try:
        while True:
            msg = conn.recv()
            if msg[0] != "cycles":
                break
            errors = 0
            for h, body in msg[1]:
                try:
                    client.post_order(body)
                    pause.wait(msg[2])  # pacing the trigger, not synchronising
                    client.cancel_order(h)
                except Exception:
                    errors += 1
                pause.wait(msg[2])
            conn.send(("done", errors))
    finally:
        client.close()
        conn.close()


class Mover:
    """Handle on the mover process (spawned, so nothing of the bot's threads is inherited)."""

    def __init__(self, base_url: str, address: str, creds: ApiCreds) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, base_url, address, creds),
                                 name="bench-mover", daemon=True)
        self._proc.start()
        child.close()
        if not self._conn.poll(READY_TIMEOUT_S):
            self.close()
            raise RuntimeError("tick_to_order: the mover process did not start")
        self._conn.recv()

    def run(self, triggers: Sequence[tuple[str, bytes]], action_s: float,
            timeout_s: float) -> int:
        """Post/cancel each trigger in the child; returns how many actions failed."""
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
