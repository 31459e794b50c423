"""``state_path``: the Python work of the State stage, in process, one thread, no actors.

What ``actors.state.State.on_receive`` does for one event on the quoting path, without the
mailbox: ``StateModel.apply`` and, when it says something changed, ``StateModel.snapshot``
(the snapshot the State puts in the Quoter's slot). Three events, each timed alone per call
over a prepared stream (a bands market of ``bench.feedgen`` with its books and feeds up):

* ``book_top_us``: a ``BookChange`` that moves the Up ask at the top (apply + snapshot);
* ``book_deep_us``: a ``BookChange`` below the top (apply only: no snapshot is published);
* ``price_us``: a Binance ``PriceUpdate`` (apply + snapshot of the changed reference view).

Figures are the median per event (µs) of ``N_EVENTS`` events per run. Run alone with
``.venv/bin/python -m bench.state_path [repeats]``.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

from bench import feedgen
from bench.common import Result
from messages import BookChange, LevelChange, PriceSource, PriceUpdate, Side
from trading.state import StateModel

SCENARIO = "state_path"
TARGETS = {"book_top_us": "as low as it goes (the State's Python work per top move)",
           "price_us": "as low as it goes (per reference price tick)"}

N_EVENTS = 20_000


def _model(t: int) -> StateModel:
    model = StateModel(owner="bench")
    mc = feedgen.markets_changed(t)
    bands = dataclasses.replace(mc, markets=tuple(dataclasses.replace(m, strategy="bands")
                                                  for m in mc.markets))
    for msg in (bands, *feedgen.feeds_up(t), *feedgen.books(t)):
        model.apply(msg)
    model.snapshot(t, t)
    return model


def _top(t: int, up: bool) -> BookChange:
    return BookChange(condition_id=feedgen.COND, ts_event_ms=t // 1_000_000, ts_recv_ns=t,
                      changes=(LevelChange(token_id=feedgen.UP, side=Side.SELL,
                                           price_pips=5000, size_micro=100_000_000 if up else 0,
                                           best_bid_pips=4900,
                                           best_ask_pips=5000 if up else 5100),))


def _deep(t: int, i: int) -> BookChange:
    return BookChange(condition_id=feedgen.COND, ts_event_ms=t // 1_000_000, ts_recv_ns=t,
                      changes=(LevelChange(token_id=feedgen.UP, side=Side.BUY,
                                           price_pips=4000 + 100 * (i % 8),
                                           size_micro=(1 + i % 500) * 1_000_000,
                                           best_bid_pips=4900, best_ask_pips=5100),))


def _price(t: int, i: int) -> PriceUpdate:
    return PriceUpdate(asset="btc", source=PriceSource.BINANCE,
                       price_e8=6_400_000_000_000 + (i % 97 - 48) * 1_000_000,
                       ts_event_ms=t // 1_000_000, ts_recv_ns=t)


def _time(make: Callable[[int, int], Any], n: int) -> float:
    """Median µs of apply (+ snapshot when it reports a change) over ``n`` events."""
    t0 = time.time_ns()
    model = _model(t0)
    events = [make(t0 + (i + 1) * 1_000_000, i) for i in range(n)]
    apply, snapshot, clock = model.apply, model.snapshot, time.perf_counter_ns
    samples: list[int] = []
    add = samples.append
    for ev in events:
        s = clock()
        if apply(ev):
            snapshot(ev.ts_recv_ns, ev.ts_recv_ns)
        add(clock() - s)
    samples.sort()
    return samples[len(samples) // 2] / 1e3


def measure(repeats: int) -> Result:
    res = Result(SCENARIO)
    cases: dict[str, Callable[[int, int], Any]] = {
        "book_top_us": lambda t, i: _top(t, i % 2 == 0),
        "book_deep_us": _deep,
        "price_us": _price,
    }
    for key, make in cases.items():
        _time(make, 1000)  # warm-up
        res.add(key, [_time(make, N_EVENTS) for _ in range(repeats)])
    return res


if __name__ == "__main__":
    print(orjson.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5).as_json(),
                       option=orjson.OPT_INDENT_2).decode())
