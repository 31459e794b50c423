"""``ingest``: feed events through the State actor with a fast and a 10 ms-per-snapshot Quoter.

The State actor must never wait on the Quoter: the events applied per second with a slow
quoter should be the same as with a fast one (ratio ≥ 0.95), the Quoter's mailbox never holds
more than one wake-up, and memory stays flat over 1,000,000 events.
"""

from __future__ import annotations

import gc
import resource
import threading
import time
from typing import Any

import pykka

from actors.quoter import Quoter
from actors.state import State
from bench import feedgen
from bench.common import Result
from messages import DesiredQuotes, QuoteSnapshot, SlotReady
from runtime.slot import LatestSlot
from trading.params import QuoteParams, RiskLimits
from trading.state import StateModel

SCENARIO = "ingest"
TARGETS = {"slow_quoter_ratio": ">= 0.95", "rss_growth_mb": "<= 20 (1,000,000 events)"}
N_EVENTS = 200_000
N_LONG = 1_000_000
CHUNK = 10_000


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def run_once(n: int, quoter_delay_s: float) -> dict[str, float]:
    """Events/s through the State actor, max Quoter mailbox depth, RSS growth."""
    qslot: LatestSlot[QuoteSnapshot] = LatestSlot("quote")
    dslot: LatestSlot[DesiredQuotes] = LatestSlot("desired")
    model = StateModel(owner="self")
    state = State.start(model=model, quote_slot=qslot)
    quoter = Quoter.start(params=QuoteParams(), limits=RiskLimits(), in_slot=qslot,
                          out_slot=dslot, work_delay_s=quoter_delay_s)
    qslot.bind(lambda: quoter.tell(SlotReady()))
    max_depth = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal max_depth
        inbox: Any = quoter.actor_inbox  # a queue.Queue in ThreadingActor
        while not done.wait(0.001):
            max_depth = max(max_depth, inbox.qsize())

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        t = time.time_ns()
        state.tell(feedgen.markets_changed(t))
        for f in feedgen.feeds_up(t):
            state.tell(f)
        for b in feedgen.books(t):
            state.tell(b)
        state.proxy().summary().get(timeout=30)
        gc.collect()
        rss0 = _rss_mb()
        sampler.start()
        gen = feedgen.changes(n, start_ns=t)
        busy = 0.0
        applied0 = state.proxy().summary().get(timeout=30)["events_applied"]
        while True:
            # Chunks bound the State's inbox, so RSS measures retained state, not queued input;
            # only telling and applying is timed, not generating.
            chunk = [ev for _, ev in zip(range(CHUNK), gen, strict=False)]
            if not chunk:
                break
            t0 = time.perf_counter()
            for ev in chunk:
                state.tell(ev)
            summary = state.proxy().summary().get(timeout=600)
            busy += time.perf_counter() - t0
        del chunk
        gc.collect()
        rss1 = _rss_mb()
        applied = summary["events_applied"] - applied0
        return {"events_per_s": applied / busy, "max_depth": max_depth,
                "rss_growth_mb": rss1 - rss0, "replaced": summary["snapshots_replaced"]}
    finally:
        done.set()
        pykka.ActorRegistry.stop_all(timeout=30)


def measure(repeats: int) -> Result:
    res = Result(SCENARIO)
    fast, slow, depth = [], [], []
    for _ in range(max(1, min(repeats, 3))):
        f = run_once(N_EVENTS, 0.0)
        s = run_once(N_EVENTS, 0.010)
        fast.append(f["events_per_s"])
        slow.append(s["events_per_s"])
        depth.append(max(f["max_depth"], s["max_depth"]))
    res.add("events_per_s", fast)
    res.add("slow_quoter_events_per_s", slow)
    res.add("slow_quoter_ratio", [s / f for s, f in zip(slow, fast, strict=True)])
    res.add("max_mailbox_depth", depth)
    long = run_once(N_LONG, 0.010)
    res.add("rss_growth_mb", [long["rss_growth_mb"]])
    return res
