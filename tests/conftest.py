"""Shared fixtures: every test leaves no actor and no thread behind.

The autouse fixture snapshots the running threads and the Pykka registry before each test and
fails the test's teardown when, after it:

* an actor started during the test is still registered (it is stopped here, so the next test
  starts clean, and the test still fails: its own teardown should have stopped it);
* a thread started during the test is still alive: an actor's thread, a feed's reader, a
  ticker, the event log's writer, a server's loop, anything, daemon or not. A thread that is
  stopping gets a bounded grace (one shared ``GRACE_S`` budget, spent in ``join``).

What is not blamed on the test, and why:

* threads and actors that were already there before it: the main thread, and whatever a
  module- or session-scoped fixture started (pytest sets wider-scoped fixtures up before this
  function-scoped one, so their threads are in the snapshot). A leak by an earlier test was
  reported by that test.
* ``threading._DummyThread`` entries: the record ``threading`` makes when a thread it did not
  start (one made by C code) calls into it. It is never removed and cannot be joined, so it
  says nothing about a thread this test left running.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time

import pykka
import pytest

GRACE_S = float(os.environ.get("POLYMM_TEST_LEAK_GRACE_S", "5"))
"""Total time the teardown waits, per test, for threads that are finishing (the fixture's own
test shortens it: its leaks are on purpose and each would cost the whole grace)."""


def _actor_of(thread: threading.Thread) -> pykka.Actor | None:
    """The Pykka actor whose loop ``thread`` runs, if any.

    Pykka 4 names actor threads ``<Class>-<n>`` (``State-3``), a shape any thread may have, so
    the thread's target is checked: CPython keeps it on the thread while ``run`` runs.
    """
    owner = getattr(getattr(thread, "_target", None), "__self__", None)
    return owner if isinstance(owner, pykka.Actor) else None


def _describe(thread: threading.Thread) -> str:
    actor = _actor_of(thread)
    what = f"actor {actor}" if actor is not None else "thread"
    return f"{thread.name} ({what}, daemon={thread.daemon})"


def _stop_leaked(refs: list[pykka.ActorRef]) -> None:
    for ref in refs:
        with contextlib.suppress(pykka.Timeout, pykka.ActorDeadError):
            ref.stop(block=True, timeout=GRACE_S)


def _threads_left(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads started since ``before`` that are still alive after a shared grace join."""
    deadline = time.monotonic() + GRACE_S
    me = threading.current_thread()
    left = []
    for t in threading.enumerate():
        if t in before or t is me or isinstance(t, threading._DummyThread):
            continue
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            left.append(t)
    return left


@pytest.fixture(autouse=True)
def _no_leftover_actors_or_threads():
    threads_before = set(threading.enumerate())
    actors_before = {ref.actor_urn for ref in pykka.ActorRegistry.get_all()}
    yield
    problems = []
    leaked = [r for r in pykka.ActorRegistry.get_all() if r.actor_urn not in actors_before]
    if leaked:
        problems.append("leak: actors left running: "
                        + ", ".join(sorted(str(r) for r in leaked)))
        _stop_leaked(leaked)
    threads = _threads_left(threads_before)
    if threads:
        problems.append("leak: threads left running: "
                        + ", ".join(sorted(_describe(t) for t in threads)))
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)
