"""How many of the product's files one market frame runs through on its way to the REST send.

A measurement of the code's layout, not of speed: the bot (``BenchSupervisor``, as in
``tick_to_order``) runs against the simulated venue with a profile hook on every thread it
starts. Once it quotes, a second account moves the book once, and every source file of the
product (``messages``, ``runtime``, ``journal``, ``venue``, ``trading``, ``actors``, ``polymm``)
that a bot thread runs a function of, from that moment until the replacement order is
acknowledged and for two of the State's timer periods after it, is counted, with the folder
path in the order first entered. Timers that fire in that window (the State's tick, heartbeat,
housekeeping) add their files too: the count is an upper bound on what a reader has to open to
follow the frame, and a sub-second timer is always in it (``threads`` names the bot threads
that ran product code), so a timer's callback on the wrong floor cannot hide behind luck.

``python -m bench.frame_path [--json]``. It counts the files of the tree it sits in and runs on
older checkouts too (it uses only the benchmark harness's oldest API, and a fixed window
length where the harness has no ``roomy_window_s``), so a before/after comparison copies the
script into the other tree and runs it there: ``cp bench/frame_path.py OTHER/bench/ && cd OTHER
&& python bench/frame_path.py``.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PACKAGES = ("messages", "runtime", "journal", "venue", "trading", "actors", "polymm")


class _Recorder:
    """A profile hook that records product files while ``active`` (set by the main thread)."""

    def __init__(self, root: Path) -> None:
        self.root = str(root) + "/"
        self.active = False
        self.files: dict[str, None] = {}  # insertion-ordered set
        self.threads: set[str] = set()
        self.main = threading.get_ident()

    def __call__(self, frame: FrameType, event: str, _arg: Any) -> None:
        if not self.active or event != "call":
            return
        name = frame.f_code.co_filename
        if name.startswith(self.root) and threading.get_ident() != self.main:
            rel = name[len(self.root):]
            if rel.split("/", 1)[0] in PACKAGES:
                self.files[rel] = None
                self.threads.add(threading.current_thread().name)


def measure() -> dict[str, Any]:
    import bench.harness
    from bench.harness import (
        BenchSupervisor,
        clear_book,
        new_account,
        open_market,
        order_bodies,
        start_sim,
        wait_until,
    )

    # An older tree's harness has no roomy_window_s: its sim's windows were fixed at 900 s.
    window_s: int = (bench.harness.roomy_window_s(120)
                     if hasattr(bench.harness, "roomy_window_s") else 900)
    from polymm.config import load_config
    from polymm.supervisor import STATE_TIMER_S
    from polymm.wiring import build_venue

    rec = _Recorder(ROOT)
    sim = start_sim("--noise-rate", "0", "--assets", "btc",
                    "--window-seconds", str(window_s))
    sup = mover = None
    try:
        market = open_market(sim.base_url, min_left_s=120)
        clear_book(sim.base_url, market)
        mover = new_account(sim.base_url, seed=11)
        for token in (0, 1):
            (_, body), = order_bodies(mover, market, 1, price_pips=4000, size_micro=10_000_000,
                                      token=token)
            mover.client.post_order(body)
        with tempfile.TemporaryDirectory(prefix="bench-path-") as tmp:
            cfg = load_config(overrides={
                "quoter.bands.half_spread_pips": 1500, "quoter.min_seconds_to_close": 0,
                "risk.max_open_orders_per_market": 20, "event_log.dir": tmp,
                "logging.status_interval_s": 3600})
            threading.setprofile(rec)  # every thread the bot starts from here on
            bot = sup = BenchSupervisor(cfg, build_venue(cfg, sim.base_url), metrics=None)
            bot.start()
            bot.tell_markets(market)
            wait_until(lambda: bot.om_stats()["open_orders"] >= 2, 20, "the bot did not quote")
            posted = bot.om_stats()["orders_posted"]
            (_, trigger), = order_bodies(mover, market, 1, price_pips=4600,
                                         size_micro=10_000_000)
            rec.active = True
            mover.client.post_order(trigger)
            wait_until(lambda: bot.om_stats()["orders_posted"] > posted, 20,
                       "the bot did not replace its quote")
            # A fixed stretch of the measured window, not a wait for anything: two State
            # periods, so its timer fires in every run rather than in some.
            threading.Event().wait(2 * STATE_TIMER_S + 0.05)
            rec.active = False
            threading.setprofile(None)
            bot.shutdown()
            sup = None
    finally:
        threading.setprofile(None)
        if sup is not None:
            sup.shutdown()
        if mover is not None:
            mover.close()
        sim.stop()
    files = list(rec.files)
    folders: list[str] = []
    for f in files:
        top = f.split("/", 1)[0]
        if not folders or folders[-1] != top:
            folders.append(top)
    return {"files": len(files), "folders": len({f.split("/", 1)[0] for f in files}),
            "way": " → ".join(folders), "list": files, "threads": sorted(rec.threads)}


def main() -> None:
    t0 = time.perf_counter()
    out = measure()
    if "--json" in sys.argv:
        print(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
        return
    print(f"{out['files']} files in {out['folders']} folders ({time.perf_counter() - t0:.0f} s)")
    print(f"way: {out['way']}")
    for f in out["list"]:
        print(f"  {f}")


if __name__ == "__main__":
    main()
