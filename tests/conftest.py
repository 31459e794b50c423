"""Shared fixtures: every test leaves no actor thread behind (Pykka's habit)."""

from __future__ import annotations

import threading

import pykka
import pytest


@pytest.fixture(autouse=True)
def _no_leftover_actors():
    yield
    pykka.ActorRegistry.stop_all(block=True, timeout=10)
    alive = [t.name for t in threading.enumerate()
             if t.is_alive() and "Actor" in t.name and t is not threading.current_thread()]
    # Pykka names actor threads "<ClassName> (urn:uuid:...)": none may survive a test.
    leftovers = [n for n in alive if "urn:uuid" in n]
    assert not leftovers, f"actor threads left running: {leftovers}"
