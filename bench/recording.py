"""A recorded dry run: ``bin/polymm run --config conf/dry-run.yaml`` against a separately
started ``bin/polymm sim``, with the tape swept through the bot's quotes, for the backtest's
benchmark and its end-to-end tests.

``record_dry_run(out)`` starts the simulated venue (20 s windows, noise traders, seed 5), runs
the bot as a dry run for ``RUN_S`` s, and every ``SWEEP_EVERY_S`` s trades through both sides
of both outcomes' books with the venue's admin takes (a taker the public tape shows, so the
paper exchange fills our quotes). The bot's event log goes under ``out/events``, its run
summary to ``out/summary.json``, its stderr to ``out/stderr.txt`` and the venue's log to
``out/sim.txt``. Everything runs on the caller's thread; both processes are stopped before it
returns, whatever happens.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bench.harness import open_market
from messages.errors import PolymmError
from sim.process import SimProcess

ROOT = Path(__file__).resolve().parent.parent
WINDOW_S = 20
RUN_S = 20
SWEEP_EVERY_S = 1.0
SIZE_SHARES = 10  # the run's quoter.size_shares (conf/dry-run.yaml): no fill is larger
SIM_ARGS = ("--window-seconds", str(WINDOW_S), "--noise-rate", "20", "--seed", "5",
            "--assets", "btc")
RUN_SETS = (f"discovery.series=[{{asset: btc, interval: {WINDOW_S}s, windows: 2}}]",
            "quoter.min_seconds_to_close=3", "statsd.enabled=false",
            "logging.status_interval_s=1")
FIRST_STATUS_S = 30.0


@dataclass(frozen=True)
class Recording:
    """A recorded run: its event-log directory and its run summary."""

    events: Path
    summary: dict[str, Any]


def sweep(base_url: str, *, min_left_s: float = 0.0) -> None:
    """Trade through both sides of both outcomes' books of the window open now (nothing
    between two windows); ``min_left_s`` as ``bench.harness.open_market`` takes it."""
    try:
        m = open_market(base_url, min_left_s=min_left_s)
    except PolymmError:
        return
    for token in m.token_ids:
        for side, price in (("SELL", "0.01"), ("BUY", "0.99")):
            requests.post(f"{base_url}/_sim/take", timeout=5, json={
                "token_id": token, "side": side, "price": price, "size": "200"})


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _tail(err: Path) -> str:
    return err.read_text(errors="replace")[-3000:] if err.exists() else ""


def record_dry_run(out: Path, *, sim_args: tuple[str, ...] = ()) -> Recording:
    """A dry run of ``RUN_S`` s against a stand-in venue, swept every ``SWEEP_EVERY_S`` s;
    ``sim_args`` are added to the venue's command line.

    Raises:
        PolymmError: the bot did not start, did not end in time, or exited non-zero (the
            message carries the end of its stderr).
    """
    summary, err = out / "summary.json", out / "stderr.txt"
    out.mkdir(parents=True, exist_ok=True)
    with (out / "sim.txt").open("wb") as sim_log:
        sim = SimProcess([*SIM_ARGS, *sim_args], stderr=sim_log)
        sim.start()
    try:
        cmd = [sys.executable, str(ROOT / "bin" / "polymm"), "run", "--config",
               "conf/dry-run.yaml", "--venue-url", sim.base_url, "--duration", str(RUN_S),
               "--set", f"event_log.dir={out / 'events'}", "--summary", str(summary)]
        cmd += [x for s in RUN_SETS for x in ("--set", s)]
        with err.open("wb") as fh:
            proc = subprocess.Popen(cmd, cwd=str(ROOT), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=fh,
                                    start_new_session=True)
            try:
                deadline = time.monotonic() + FIRST_STATUS_S
                while "open=" not in _tail(err):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise PolymmError(f"the dry run did not start:\n{_tail(err)}")
                    time.sleep(0.1)
                deadline = time.monotonic() + RUN_S + 30
                while proc.poll() is None:
                    if time.monotonic() > deadline:
                        raise PolymmError(f"the dry run did not end in time:\n{_tail(err)}")
                    sweep(sim.base_url)
                    time.sleep(SWEEP_EVERY_S)
            finally:
                _stop(proc)
        if proc.returncode != 0:
            raise PolymmError(f"the dry run exited {proc.returncode}:\n{_tail(err)}")
    finally:
        sim.stop()
    return Recording(events=out / "events", summary=json.loads(summary.read_text()))
