"""``tick_to_order``: market or price frame received → order bytes written, on real sockets.

The bot runs as ``bin/polymm run`` runs it (``BenchSupervisor``: the supervisor's start-up,
runtime settings, event log and actors, minus discovery; the price feed only in the ``price``
condition) against the simulated venue in its own process.

**Book conditions.** The bot quotes the open btc window with the ``bands`` strategy (quotes
follow the book's mid, so a book move causes orders deterministically). The benchmark first
takes every noise order off that book and lays its own top (a second account's BUY Up at 0.40
and BUY Down at 0.40, i.e. an Up ask at 0.60); the bot's quotes (half spread 0.15) rest below
it, so they never move the top themselves. Then the second account alternately posts and
cancels a BUY Up at 0.46, every ``ACTION_S``, from a process of its own (``bench.mover``: in
the bot's process its REST replies would compete for the GIL with the very path being timed):
each action moves both mids, and the bot replaces both quotes (cancels first, then one
``POST /orders``).

**Price condition** (``price_*``): the path that matters most to an up/down maker, a
reference-price tick that moves fair value. The bot quotes the window with the ``updown``
strategy (fair value from the blended reference price against the strike) and runs its
PolyBolt price feed; the venue runs with ``--vol 0``, so its reference price moves only when
the benchmark steps it. ``bench.price_mover`` (a process of its own) alternately sets the
Binance price to a high and a low value every ``ACTION_S`` (``POST /_sim/price``: one
``price.crypto`` tick, broadcast at once); each step moves P(Up) by ``price_mover.FAIR_STEP``
(four ticks), so the bot replaces both quotes. The quoter's volatility half-life is set very
long: the steps' own returns would otherwise become the volatility estimate and shrink the
very move they cause. It runs under load, with ``pipeline_replace`` on, like the load
condition.

The time of a path runs from the moving frame's ``ts_recv_ns`` (taken on the market or price
feed's reader thread; the book event or ``PriceUpdate`` carries it into the snapshot's and the
desired quotes' ``cause_recv_ns``) to ``ClobClient.last_send_ns`` of the post (taken right
before the request's first ``sendall``), read from ``runtime.trace`` marks, which also give the
per-stage breakdown (``runtime.trace.STAGES``). Only paths caused by a decoded frame count (a
State timer tick is not a tick). The order manager cancels before it posts, so the path
includes stage ``cancel``: writing the ``DELETE /orders`` (pipelined replace) or its whole
round trip (``sequential_*``); ``p50_us_excl_cancel`` leaves it out.

Conditions: idle (no other market data) and under load (``--market-rate LOAD_RATE`` on the
venue: background ``price_change`` messages on the same market, away from the top). Each
condition starts a fresh venue and bot. Load, idle and price run with
``order_manager.pipeline_replace`` on (the replacement is posted before the cancel's reply is
read); ``sequential_*`` repeats the load condition with it off, the shipped default.
``p50_us``/``p99_us`` are medians over ``repeats`` blocks of ``CYCLES`` cycles; ``p999_us``
and ``stages`` pool all blocks. ``python -m bench.tick_to_order --variants`` also measures,
under load, GIL switch interval 0.005 s vs 0.0005 s (and 0.0001 s) and CPU pinning (bot on
CPU 0, venue on CPU 1) vs none.
"""

from __future__ import annotations

import logging
import os
import resource
import socket
import sys
import tempfile
import threading
import time
from typing import Any

import orjson

from bench.common import Result
from bench.harness import (
    BenchSupervisor,
    clear_book,
    new_account,
    open_market,
    order_bodies,
    pct,
    roomy_window_s,
    start_sim,
    wait_until,
)
from bench.mover import Mover, MoverProcess
from bench.price_mover import PriceMover, step_pair
from polymm.config import load_config
from polymm.wiring import build_venue
from runtime import trace
from runtime.metrics import Metrics

SCENARIO = "tick_to_order"
TARGETS = {"p50_us": "<= 300 µs under load", "p99_us": "<= 1,000 µs under load",
           "price_p50_us": "<= 300 µs under load", "price_p99_us": "<= 1,000 µs under load"}

CYCLES = 100
"""Post/cancel (or high/low price) cycles, two paths each, per repeat (the smoke test shrinks
it)."""
ACTION_S = 0.010
LOAD_RATE = 5_000
SWITCH_INTERVAL_S = 0.0005
_SETTLE_S = 0.3


class _StrayCounter(logging.Filter):
    """Counts (and keeps off the console) the order manager's "orders at the venue we did
    not send" warnings: late user-feed events for orders it already canceled (see report)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if "did not send" in record.getMessage():
            self.count += 1
            return False
        return True


_UPDOWN = {
    # Room for a step's move: a replacement never crosses the other quote still canceling
    # (Up and Down bids summing to 1 would wait for the cancel's reply).
    "quoter.half_spread_pips": 500,
    # σ stays at its floor (``vol_floor_per_sqrt_s``, which sizes the steps): the steps' own
    # returns barely enter an estimate with a day's memory.
    "quoter.vol_halflife_s": 86400,
}
"""The ``updown`` strategy's settings in the ``price`` condition (see the module docstring)."""


def _config(tmp: str, switch_s: float, affinity: tuple[int, ...],
            pipeline: bool = True, price: bool = False) -> Any:
    return load_config(overrides={
        **(_UPDOWN if price else {}),
        "quoter.bands.half_spread_pips": 1500,
        "quoter.min_seconds_to_close": 0,
        "order_manager.order_rate_per_s": 1000, "order_manager.order_burst": 2000,
        "order_manager.cancel_rate_per_s": 2000, "order_manager.cancel_burst": 4000,
        "risk.max_open_orders_per_market": 20,
        # True: the replacement does not wait for the cancel's reply (off by default, see
        # ``sequential_*``, measured with the default).
        "order_manager.pipeline_replace": pipeline,
        "event_log.dir": tmp,
        "logging.status_interval_s": 3600,
        "runtime.switch_interval_s": switch_s,
        "runtime.cpu_affinity": list(affinity),
    })


def run_condition(*, market_rate: float, blocks: int, switch_s: float = SWITCH_INTERVAL_S,
                  pin: bool = False, pipeline: bool = True, price: bool = False
                  ) -> dict[str, Any]:
    """One fresh venue + bot; ``blocks`` lists of path samples and the pooled stage times.
    ``price``: the paths start at reference-price steps instead of book moves."""
    args = ["--noise-rate", "0", "--assets", "btc", "--window-seconds", str(roomy_window_s(120))]
    if market_rate:
        args += ["--market-rate", str(market_rate)]
    if price:
        args += ["--vol", "0"]
    old_switch = sys.getswitchinterval()
    old_affinity = os.sched_getaffinity(0)
    sim = start_sim(*args)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    metrics = Metrics(port=sink.getsockname()[1], prefix="polymm.bench.t2o").start()
    mover = sup = None
    strays = _StrayCounter()
    om_logger = logging.getLogger("actors.order_manager")
    om_logger.addFilter(strays)
    try:
        if pin and sim.pid is not None:
            os.sched_setaffinity(sim.pid, {1})
        market = open_market(sim.base_url, strategy="updown" if price else "bands",
                             min_left_s=120)
        clear_book(sim.base_url, market)
        mover = new_account(sim.base_url, seed=11)
        if not price:
            for token in (0, 1):  # the top: Up bid 0.40, Up ask 0.60 (a BUY Down at 0.40)
                (_, body), = order_bodies(mover, market, 1, price_pips=4000,
                                          size_micro=10_000_000, token=token)
                mover.client.post_order(body)
        with tempfile.TemporaryDirectory(prefix="bench-t2o-") as tmp:
            cfg = _config(tmp, switch_s, (0,) if pin else (), pipeline, price)
            bot = sup = BenchSupervisor(cfg, build_venue(cfg, sim.base_url), metrics=metrics,
                                        price_feed=price)
            bot.start()
            bot.tell_markets(market)
            wait_until(lambda: bot.om_stats()["open_orders"] >= 2, 20,
                       "the bot did not quote both outcomes")
            triggers: list[Any]
            mover_proc: MoverProcess
            if price:
                triggers = [_price_steps(market, cfg)] * (blocks * CYCLES)
                mover_proc = PriceMover(sim.base_url, market.asset)
            else:
                triggers = order_bodies(mover, market, blocks * CYCLES, price_pips=4600,
                                        size_micro=10_000_000)
                mover_proc = Mover(sim.base_url, mover.signer.address, mover.creds)
            try:
                out = _drive(bot, mover_proc, triggers, blocks, sim.pid)
            finally:
                mover_proc.close()
            bot.shutdown()
            sup = None
        out["stray_recancels"] = strays.count
        return out
    finally:
        om_logger.removeFilter(strays)
        trace.disable()
        if sup is not None:
            sup.shutdown()
        if mover is not None:
            mover.close()
        metrics.close()
        sink.close()
        sim.stop()
        sys.setswitchinterval(old_switch)
        os.sched_setaffinity(0, old_affinity)


def _price_steps(market: Any, cfg: Any) -> tuple[int, int]:
    """The (high, low) Binance prices for ``market``, sized for its time to close now."""
    if not market.price_to_beat_e8:
        raise RuntimeError("tick_to_order (price): the market lists no price to beat")
    w = cfg.quoter.ref_weights
    tau_s = (market.end_ms - time.time_ns() // 1_000_000) / 1000
    return step_pair(market.price_to_beat_e8, tau_s, cfg.quoter.vol_floor_per_sqrt_s,
                     w.binance / (w.binance + w.twap))


def _cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) of this process, or of child ``pid`` from /proc."""
    if pid is None:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def _drive(sup: BenchSupervisor, mover: MoverProcess, triggers: list[Any],
           blocks: int, sim_pid: int | None) -> dict[str, Any]:
    pause = threading.Event()
    errors = 0
    samples: list[list[float]] = []
    rows: list[tuple[int, list[int]]] = []
    msgs0, t0 = sup.feed_messages(), time.perf_counter()
    cpu0, sim0 = _cpu_s(None), _cpu_s(sim_pid)
    sys0 = resource.getrusage(resource.RUSAGE_SELF).ru_stime
    for b in range(blocks):
        trace.enable()
        block = triggers[b * CYCLES:(b + 1) * CYCLES]
        errors += mover.run(block, ACTION_S, timeout_s=60 + 4 * ACTION_S * len(block))
        pause.wait(_SETTLE_S)  # late paths of the block reach the venue
        trace.disable()
        # A State timer tick (no decode mark) can also re-price; only frames are ticks.
        paths = {c: row for c, row in trace.paths(trace.records()).items()
                 if row[trace.DECODE]}
        samples.append([(row[trace.SEND] - c) / 1e3 for c, row in paths.items()])
        rows.extend(paths.items())
    elapsed = time.perf_counter() - t0
    msgs = sup.feed_messages() - msgs0
    return {"samples": samples, "rows": rows, "feed_msgs_per_s": msgs / elapsed,
            "bot_cpu_pct": (_cpu_s(None) - cpu0) / elapsed * 100,
            "bot_sys_pct": (resource.getrusage(resource.RUSAGE_SELF).ru_stime - sys0)
            / elapsed * 100,
            "sim_cpu_pct": (_cpu_s(sim_pid) - sim0) / elapsed * 100, "om": sup.om_stats(),
            "mover_errors": errors}


def _stage_table(rows: list[tuple[int, list[int]]]) -> dict[str, dict[str, float]]:
    per: dict[str, list[float]] = {}
    for cause, row in rows:
        for stage, ns in trace.stage_durations(cause, row).items():
            per.setdefault(stage, []).append(ns / 1e3)
    return {s: {"n": len(v), "p50_us": round(pct(v, 0.5), 1), "p99_us": round(pct(v, 0.99), 1),
                "p999_us": round(pct(v, 0.999), 1)}
            for s in trace.STAGES if (v := per.get(s))}


def _excl_cancel(rows: list[tuple[int, list[int]]]) -> list[float]:
    out = []
    for cause, row in rows:
        d = trace.stage_durations(cause, row)
        out.append((row[trace.SEND] - cause - d.get("cancel", 0)) / 1e3)
    return out


def _summarise(res: Result, run: dict[str, Any], prefix: str) -> None:
    blocks = [s for s in run["samples"] if s]
    if not blocks:
        raise RuntimeError(f"tick_to_order ({prefix or 'load'}): no order reached the venue")
    pooled = [x for s in blocks for x in s]
    res.add(f"{prefix}p50_us", [pct(s, 0.5) for s in blocks])
    res.add(f"{prefix}p99_us", [pct(s, 0.99) for s in blocks])
    if not prefix:
        res.set("p999_us", round(pct(pooled, 0.999), 1))
    res.set(f"{prefix}p50_us_excl_cancel", round(pct(_excl_cancel(run["rows"]), 0.5), 1))
    res.set(f"{prefix}samples", len(pooled))
    res.set(f"{prefix}stray_recancels", run["stray_recancels"])
    res.set(f"{prefix}mover_errors", run["mover_errors"])
    res.set(f"{prefix}bot_cpu_pct", round(run["bot_cpu_pct"], 1))
    # Of which in the kernel: thread wake-ups (futex), socket calls, file writes.
    res.set(f"{prefix}bot_sys_pct", round(run["bot_sys_pct"], 1))
    res.set(f"{prefix}sim_cpu_pct", round(run["sim_cpu_pct"], 1))


def measure(repeats: int) -> Result:
    res = Result(SCENARIO)
    load = run_condition(market_rate=LOAD_RATE, blocks=repeats)
    idle = run_condition(market_rate=0, blocks=repeats)
    # The shipped default: the replacement is posted once the cancel's reply is read.
    seq = run_condition(market_rate=LOAD_RATE, blocks=repeats, pipeline=False)
    price = run_condition(market_rate=LOAD_RATE, blocks=repeats, price=True)
    _summarise(res, load, "")
    _summarise(res, idle, "idle_")
    _summarise(res, seq, "sequential_")
    _summarise(res, price, "price_")
    res.set("background_msgs_per_s", round(load["feed_msgs_per_s"]))
    res.set("price_background_msgs_per_s", round(price["feed_msgs_per_s"]))
    res.set("stages", {"load": _stage_table(load["rows"]), "idle": _stage_table(idle["rows"]),
                       "sequential": _stage_table(seq["rows"]),
                       "price": _stage_table(price["rows"])})
    res.set("stage_note", "each stage ends at its mark; cause = frame ts_recv_ns (market "
                          "frame; price: PolyBolt tick); load/idle/price: pipeline_replace on, "
                          "sequential: off (the default)")
    return res


def measure_variants(repeats: int) -> Result:
    """Under load: switch interval 0.0005 s (the default) against 0.005 and 0.0001 s, and
    pinned: the figures behind the ``runtime`` section's defaults."""
    res = Result(SCENARIO + "_variants")
    for name, kw in (("switch_0.0005_", {"switch_s": 0.0005}),
                     ("switch_0.005_", {"switch_s": 0.005}),
                     ("switch_0.0001_", {"switch_s": 0.0001}),
                     ("pinned_", {"pin": True})):
        run = run_condition(market_rate=LOAD_RATE, blocks=repeats, **kw)
        _summarise(res, run, name)
        res.set(f"{name}p999_us", round(pct([x for s in run["samples"] for x in s], 0.999), 1))
    return res


if __name__ == "__main__":
    argv = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(argv[0]) if argv else 5
    fn = measure_variants if "--variants" in sys.argv else measure
    print(orjson.dumps(fn(n).as_json(), option=orjson.OPT_INDENT_2).decode())
