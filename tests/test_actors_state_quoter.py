"""State and Quoter actors: the State never waits on a slow Quoter (design §1.1)."""

from __future__ import annotations

import threading
import time

import pytest

from actors.quoter import Quoter
from actors.state import State
from bench import feedgen
from messages import DesiredQuotes, GateReason, QuoteSnapshot, SlotReady
from runtime.slot import LatestSlot
from trading.params import QuoteParams, RiskLimits
from trading.state import StateModel

N_EVENTS = 3000


class InboxSampler:
    """Samples an actor's inbox depth on a thread until stopped (no sleeps: Event.wait)."""

    def __init__(self, ref):
        self._inbox = ref.actor_inbox
        self._stop = threading.Event()
        self.max_depth = 0
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.0005):
            self.max_depth = max(self.max_depth, self._inbox.qsize())

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(5)


@pytest.fixture
def pipeline():
    started = []

    def make(delay_s: float):
        qslot: LatestSlot[QuoteSnapshot] = LatestSlot("quote")
        dslot: LatestSlot[DesiredQuotes] = LatestSlot("desired")
        state = State.start(model=StateModel(owner="self"), quote_slot=qslot)
        quoter = Quoter.start(params=QuoteParams(), limits=RiskLimits(), in_slot=qslot,
                              out_slot=dslot, work_delay_s=delay_s)
        qslot.bind(lambda: quoter.tell(SlotReady()))
        started.extend((state, quoter))
        return state, quoter, qslot, dslot
    yield make
    for ref in reversed(started):
        ref.stop()


def _feed(state, n: int) -> None:
    t = time.time_ns()
    state.tell(feedgen.markets_changed(t))
    for f in feedgen.feeds_up(t):
        state.tell(f)
    for b in feedgen.books(t):
        state.tell(b)
    for ev in feedgen.changes(n, start_ns=t):
        state.tell(ev)


def test_slow_quoter_does_not_slow_the_state_actor(pipeline):
    state, quoter, qslot, _ = pipeline(0.010)
    with InboxSampler(quoter) as sampler:
        _feed(state, N_EVENTS)
        summary = state.proxy().summary().get(timeout=60)
    # Every event was applied (markets + 2 books + changes + price ticks), none waited.
    expected = 1 + 3 + 2 + N_EVENTS + len(range(0, N_EVENTS, 50))
    assert summary["events_applied"] == expected
    assert summary["failed_events"] == 0
    # The slot coalesced: a 10 ms quoter cannot take thousands of snapshots; the State counted
    # every one it replaced, and the Quoter never had more than one wake-up queued.
    taken = quoter.proxy().summary().get(timeout=30)["taken"]
    assert summary["snapshots"] == qslot.published
    assert qslot.replaced >= summary["snapshots"] - taken - 1
    assert qslot.replaced > 0
    assert taken < summary["snapshots"]
    assert sampler.max_depth <= 1


def test_fast_quoter_publishes_desired_quotes(pipeline):
    state, quoter, _qslot, dslot = pipeline(0.0)
    _feed(state, 200)
    state.proxy().summary().get(timeout=30)
    # Drain: the quoter's answer to an ask comes after every wake-up queued before it.
    quoter.proxy().summary().get(timeout=30)
    desired = dslot.take()
    assert desired is not None
    assert [d.gate for d in desired.decisions] == [GateReason.NONE]
    assert {q.token_id for q in desired.quotes} == {feedgen.UP, feedgen.DOWN}


def test_the_state_runs_its_own_timer_and_stops_it_with_itself():
    # Its timer's callback is the State's floor (actors/), not the roof's: the roof runs on no
    # bot thread once started (bench.frame_path). Each tick publishes (the clock moved).
    qslot: LatestSlot[QuoteSnapshot] = LatestSlot("quote")
    ticked = threading.Event()
    qslot.bind(ticked.set)
    state = State.start(model=StateModel(owner="self"), quote_slot=qslot, timer_s=0.01)
    try:
        assert ticked.wait(10)  # a snapshot with nothing told: only the timer publishes it
        assert qslot.take() is not None
        names = {t.name for t in threading.enumerate()}
        assert "Timer-state" in names
    finally:
        state.stop(timeout=10)
    assert "Timer-state" not in {t.name for t in threading.enumerate() if t.is_alive()}
    with pytest.raises(ValueError, match="timer_s"):
        State(model=StateModel(owner="self"), quote_slot=qslot, timer_s=0)


def test_state_survives_a_failing_event(pipeline):
    state, _, _, _ = pipeline(0.0)

    class Boom:
        ts_recv_ns = 1

    model = state._actor_weakref()._model
    original = model.apply

    def apply(msg):
        if isinstance(msg, Boom):
            raise RuntimeError("bad event")
        return original(msg)

    model.apply = apply
    state.tell(Boom())
    _feed(state, 10)
    summary = state.proxy().summary().get(timeout=30)
    assert summary["failed_events"] == 1
    assert state.is_alive()
