"""``metrics``: the CPU cost of StatsD emission at 10,000 market messages per second.

A paced loop plays 10,000 messages/s for ``DURATION_S``; per message it makes the metric calls
a real market message incurs on its way through the bot (the feed's lag timer per message;
the feed's message and byte counters, which the feed sums and hands over per tick, here every
millisecond; the State actor's counters, summed and handed over on its 250 ms tick) on a
``runtime.metrics.Metrics``
that flushes once a second to a real UDP socket on 127.0.0.1 (bound here, never read: the
kernel drops what overflows, as a busy daemon would). The same loop runs with metrics off (the
call sites' ``if metrics is not None`` check only). Runs alternate on/off; each reports the
process CPU time (``resource.getrusage``: every thread, the flusher included) over its wall
time. ``cpu_pct`` is the extra CPU with metrics on, as a percentage of one core, with the
default configuration (``statsd.timer_sample_rate`` 0.1 on the per-message lag timer);
``cpu_pct_all_timer_samples`` the same with every timer sample kept (rate 1.0).
Run alone with ``.venv/bin/python -m bench.metrics [repeats]``.
"""

from __future__ import annotations

import resource
import socket
import sys
import time
from typing import Any

import orjson

from bench.common import Result
from polymm.config_schema import StatsdConfig
from runtime.metrics import Metrics

SCENARIO = "metrics"
TARGETS = {"cpu_pct": "<= 2 % of one core at 10,000 messages/s"}

RATE = 10_000
DURATION_S = 1.0
"""Seconds per paced run (the smoke test shrinks it)."""
_TICK_S = 0.001
_STATE_TICK_EVERY = 250  # the State's timer tick (polymm.supervisor.STATE_TIMER_S), in ticks


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _one_message(m: Any, lag_ms: int) -> None:
    """The metric calls of one market message, as the call sites make them (each behind
    their ``if metrics is not None`` check): the feed's lag timer per frame
    (``actors.ws_reader.ReaderLoop._read_loop``). The State actor counts applied events and
    published snapshots in plain integers and hands them over on its 250 ms timer tick
    (``_state_counts``)."""
    if m is not None:
        m.timing_ms("feed.ws_message_lag_ms", lag_ms, dim="market")


def _state_counts(m: Any, applied: int) -> None:
    """``State._flush_counts``: three counters once per State timer tick."""
    if m is not None:
        m.incr("state.events_applied", applied)
        m.incr("state.snapshots_published", applied)
        m.incr("state.snapshots_coalesced", applied // 2)


def _feed_counts(m: Any, frames: int, nbytes: int) -> None:
    """The feed's message and byte counters: the feed adds them up per frame and hands the
    sums to the metrics once per tick (here every millisecond, far more often than the feed's
    own tick, so this errs on the costly side)."""
    if m is not None:
        m.incr("feed.messages", frames, dim="market")
        m.incr("feed.bytes", nbytes, dim="market")


def paced_run(metrics: Metrics | None, duration_s: float) -> dict[str, float]:
    """Play ``RATE`` messages/s for ``duration_s``; CPU seconds used per wall second."""
    per_tick = max(1, round(RATE * _TICK_S))
    ticks = max(1, round(duration_s / _TICK_S))
    one = _one_message
    sent = 0
    c0, w0 = _cpu_s(), time.perf_counter()
    due = w0
    for k in range(ticks):
        for j in range(per_tick):
            one(metrics, (k + j) & 15)
        _feed_counts(metrics, per_tick, 230 * per_tick)
        sent += per_tick
        if k % _STATE_TICK_EVERY == _STATE_TICK_EVERY - 1:
            _state_counts(metrics, per_tick * _STATE_TICK_EVERY)
        due += _TICK_S
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)  # sleep-ok: pacing the load, not synchronising
    if metrics is not None:
        metrics.flush()  # the last partial interval's sends count too
    wall = time.perf_counter() - w0
    return {"cpu_frac": (_cpu_s() - c0) / wall, "msgs_per_s": sent / wall}


def call_costs(m: Metrics, n: int = 20_000) -> dict[str, float]:
    """Microseconds per hot-path call, in a tight loop on this thread."""
    t0 = time.perf_counter_ns()
    for _ in range(n):
        m.incr("state.events_applied")
    t1 = time.perf_counter_ns()
    for _ in range(n):
        m.timing_ms("feed.ws_message_lag_ms", 3, dim="market")
    t2 = time.perf_counter_ns()
    return {"incr_us": (t1 - t0) / n / 1e3, "timing_us": (t2 - t1) / n / 1e3}


def measure(repeats: int) -> Result:
    res = Result(SCENARIO)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    port = sink.getsockname()[1]
    # cpu_pct: the default configuration; cpu_pct_all_timer_samples: every sample kept.
    metrics = Metrics(host="127.0.0.1", port=port, prefix="polymm.bench.metrics",
                      flush_interval_s=1.0, seed=1,
                      timer_sample_rate=StatsdConfig().timer_sample_rate).start()
    sampled = Metrics(host="127.0.0.1", port=port, prefix="polymm.bench.metrics",
                      flush_interval_s=1.0, seed=1, timer_sample_rate=1.0).start()
    on: list[float] = []
    off: list[float] = []
    on_sampled: list[float] = []
    rates: list[float] = []
    try:
        for m in (metrics, sampled):
            paced_run(m, min(0.3, DURATION_S))  # warm the key caches and the sockets
        for _ in range(repeats):
            a = paced_run(metrics, DURATION_S)
            b = paced_run(None, DURATION_S)
            c = paced_run(sampled, DURATION_S)
            on.append(a["cpu_frac"])
            off.append(b["cpu_frac"])
            on_sampled.append(c["cpu_frac"])
            rates.append(a["msgs_per_s"])
        costs = [call_costs(metrics) for _ in range(repeats)]
    finally:
        metrics.close()
        sampled.close()
        sink.close()
    res.add("cpu_pct", [(a - b) * 100 for a, b in zip(on, off, strict=True)])
    res.add("cpu_pct_all_timer_samples",
            [(c - b) * 100 for c, b in zip(on_sampled, off, strict=True)])
    res.add("cpu_on_pct", [a * 100 for a in on])
    res.add("cpu_off_pct", [b * 100 for b in off])
    res.add("msgs_per_s", rates)
    res.add("incr_us", [c["incr_us"] for c in costs])
    res.add("timing_us", [c["timing_us"] for c in costs])
    return res


if __name__ == "__main__":
    print(orjson.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5).as_json(),
                       option=orjson.OPT_INDENT_2).decode())
