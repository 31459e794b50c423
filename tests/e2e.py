"""Helpers for running the bot end to end against the simulated venue (no tests here).

Two ways in:

* :func:`run_bot` runs ``bin/polymm run ...`` as a subprocess (it starts its own simulated
  venue) and returns ``BotRun(rc, summary, stderr)``. Bounded by a timeout; on expiry the bot's
  process group is killed, and its venue child stops with it, so nothing is left behind.
* :class:`Harness` runs the bot in this process on a ``Supervisor`` against a ``SimProcess`` it
  starts, so a test can watch it while it runs: ask the OrderManager's ``stats()``, a feed's
  ``stats()``, the State's ``status()``, read ``/_sim/state`` and drive the venue's admin routes
  (drops, freezes, takes, tick changes). ``stop()`` shuts the bot down the way ``run`` does
  (cancel-all first) and returns the shutdown result and the venue's final state.

Polling the venue is the only way to observe another process: :func:`wait_until` polls with an
``Event.wait`` between checks and is always bounded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
ASK_S = 5.0
# The end-to-end tests pin the quoting they were written for (tight quotes that rest near the
# top and fill), not the shipped defaults, which are tuned to lose little to the sim's takers.
QUOTE_PARAMS: dict[str, object] = {"quoter.half_spread_pips": 150,
                                   "quoter.skew_pips_per_share": 2.0}
QUOTING = [a for k, v in QUOTE_PARAMS.items() for a in ("--set", f"{k}={v}")]


@dataclass(frozen=True)
class BotRun:
    rc: int
    summary: dict[str, Any]
    stderr: str


def series_override(window_s: int, asset: str = "btc") -> str:
    """The ``--set`` value that makes discovery follow the simulated venue's windows."""
    return f"discovery.series=[{{asset: {asset}, interval: {window_s}s, windows: 2}}]"


def run_bot(args: Sequence[str], tmp: Path, *, timeout_s: float) -> BotRun:
    """``bin/polymm run *args`` with the event log and summary under ``tmp``."""
    summary_path = tmp / "run-summary.json"
    cmd = [sys.executable, str(REPO / "bin" / "polymm"), "run", *QUOTING, *args,
           "--set", f"event_log.dir={tmp / 'events'}", "--set", "statsd.enabled=false",
           "--summary", str(summary_path)]
    err_path = tmp / "stderr.txt"
    with err_path.open("wb") as err:
        proc = subprocess.Popen(cmd, cwd=str(REPO), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        try:
            rc = proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            # Its venue child (own session) stops when the bot's end of its stdin pipe closes.
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
            raise
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    return BotRun(rc=rc, summary=summary, stderr=err_path.read_text(errors="replace"))


def wait_until(check: Callable[[], Any], timeout: float, what: str,
               interval: float = 0.05, *, dead: Callable[[], str] = lambda: "",
               explain: Callable[[], str] = lambda: "") -> Any:
    """Poll ``check`` until it returns something truthy; TimeoutError naming ``what``.

    ``dead()`` names a process the check depends on that has exited, so the wait fails at
    once instead of at the deadline; ``explain()`` is added to either failure.
    """
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        value = check()
        if value:
            return value
        problem = dead()
        if problem:
            raise TimeoutError(f"waiting for {what}: {problem}\n{explain()}".rstrip())
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout:g} s: {what}\n{explain()}".rstrip())
        pause.wait(interval)


def terminate(proc: subprocess.Popen[Any], grace_s: float, *, group: bool = False) -> None:
    """SIGTERM ``proc``; SIGKILL it (its whole session when ``group``) if it is still running
    after ``grace_s``. Always reaps it, so no process outlives the test."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait(10)


def open_orders(state: Mapping[str, Any], owner: str) -> list[str]:
    """Ids of ``owner``'s open orders in a ``/_sim/state`` reply."""
    return list(state.get("open_orders", {}).get(owner, {}).get("ids", []))


class Harness:
    """The bot in this process against a simulated venue in another.

    Args:
        tmp: a directory for the event log and the venue's log.
        window_s: the venue's window length (discovery follows it).
        sim_args: extra ``polymm sim`` arguments (``--trade-fail-rate 1``, ``--faults rest``).
        overrides: config overrides by dotted path (as ``--set``).
    """

    def __init__(self, tmp: Path, *, window_s: int = 30, sim_args: Sequence[str] = (),
                 overrides: Mapping[str, object] | None = None) -> None:
        self.tmp = tmp
        self.window_s = window_s
        self.sim_args = list(sim_args)
        self.overrides: dict[str, object] = {
            **QUOTE_PARAMS, "statsd.enabled": False, "event_log.dir": str(tmp / "events"),
            "sim.window_seconds": window_s,
            "discovery.series": [{"asset": "btc", "interval": f"{window_s}s", "windows": 2}],
            "logging.status_interval_s": 1000.0,
            **(overrides or {})}
        self.sim: Any = None
        self.sup: Any = None
        self.api_key = ""
        self._thread: threading.Thread | None = None
        self._sim_log: Any = None
        self._switch = sys.getswitchinterval()
        self.result: dict[str, Any] = {}
        self.final_state: dict[str, Any] = {}
        self.final_orders: list[dict[str, Any]] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Harness:
        from polymm.config import load_config
        from polymm.supervisor import Supervisor
        from polymm.wiring import build_venue
        from sim.process import SimProcess

        self._sim_log = (self.tmp / "sim.log").open("wb")
        args = ["--window-seconds", str(self.window_s), "--seed", "1", "--assets", "btc",
                "--log-level", "WARNING", *self.sim_args]
        self.sim = SimProcess(args, stderr=self._sim_log).start()
        try:
            cfg = load_config(None, overrides=self.overrides)
            venue = build_venue(cfg, self.sim.base_url)
            self.api_key = venue.creds.api_key
            self.sup = Supervisor(cfg, venue, metrics=None)
            self.sup.start()
            self._thread = threading.Thread(target=self.sup.run, name="harness-supervisor",
                                            daemon=True)
            self._thread.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> dict[str, Any]:
        """Shut the bot down (cancel-all first), read the venue's final state, stop it."""
        try:
            if self.sup is not None:
                self.sup.stop_event.set()
                if self._thread is not None:
                    self._thread.join(30)
                self.result = self.sup.shutdown()
                self.sup = None
            if self.sim is not None and self.sim.running():
                self.final_state = self.sim.state()
                self.final_orders = self.sim.orders(self.api_key) if self.api_key else []
        finally:
            if self.sim is not None:
                self.sim.stop()
            if self._sim_log is not None:
                self._sim_log.close()
                self._sim_log = None
            sys.setswitchinterval(self._switch)
        return self.result

    def __enter__(self) -> Harness:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- looking at the bot ------------------------------------------------------------------

    def _proxy(self, name: str) -> Any:
        return self.sup.actors.refs[name].proxy()

    def om_stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self._proxy("order_manager").stats().get(timeout=ASK_S)
        return stats

    def feed_stats(self, name: str) -> dict[str, Any]:
        """``market_feed``, ``user_feed`` or ``price_feed``."""
        stats: dict[str, Any] = self._proxy(name).stats().get(timeout=ASK_S)
        return stats

    def state_status(self) -> dict[str, Any]:
        status: dict[str, Any] = self._proxy("state").status().get(timeout=ASK_S)
        return status

    def tracker(self) -> Any:
        """The OrderManager's ``OrderTracker`` (read it only once the bot has stopped)."""
        return self._proxy("order_manager").tracker.get(timeout=ASK_S)

    # -- looking at the venue ----------------------------------------------------------------

    def venue(self) -> dict[str, Any]:
        state: dict[str, Any] = self.sim.state()
        return state

    def open_ids(self) -> list[str]:
        return open_orders(self.venue(), self.api_key)

    def wait_quoting(self, timeout: float = 30.0, n: int = 1) -> list[str]:
        """Until at least ``n`` of our orders rest at the venue."""
        ids: list[str] = wait_until(lambda: (lambda x: x if len(x) >= n else None)(
            self.open_ids()), timeout, f"{n} orders resting at the venue")
        return ids


class Sampler:
    """Samples ``/_sim/state`` on its own thread (every ``interval`` s) into ``rows``:
    ``(monotonic time, open order ids of owner, subscribed sockets per channel)``.

    With ``levels=True`` it also reads ``/_sim/orders`` and keeps in ``max_per_level`` the
    most orders of ours ever seen open at once at one (token, side, price): a double post.
    """

    def __init__(self, harness: Harness, interval: float = 0.05, *,
                 levels: bool = False) -> None:
        self.h = harness
        self.interval = interval
        self.levels = levels
        self.rows: list[tuple[float, list[str], dict[str, int]]] = []
        self.max_per_level = 0
        self.worst_level: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="harness-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                st = self.h.venue()
                if self.levels:
                    self._check_levels(self.h.sim.orders(self.h.api_key))
            except OSError:
                st = None
            if st is not None:
                self.rows.append((time.monotonic(), open_orders(st, self.h.api_key),
                                  dict(st.get("sockets_subscribed", {}))))
            self._stop.wait(self.interval)

    def _check_levels(self, orders: list[dict[str, Any]]) -> None:
        by_level: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
        for o in orders:
            if o["status"] == "LIVE":
                by_level.setdefault((o["asset_id"], o["side"], o["price_pips"]), []).append(o)
        for same in by_level.values():
            if len(same) > self.max_per_level:
                self.max_per_level, self.worst_level = len(same), same

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def nudge_fill(h: Harness) -> bool:
    """Fill one resting order of ours (a taker sells into our bid), so the bot has a reason to
    post again without waiting for the market to move; one nudge a second at most.
    Returns whether an order was there to fill."""
    live = [o for o in h.sim.orders(h.api_key) if o.get("status") == "LIVE"]
    if live:
        o = live[0]
        price = int(str(o["price_pips"]))
        h.sim.take(str(o["asset_id"]), "SELL", f"{price / 10_000:.4f}", "1000000")
    threading.Event().wait(1.0)
    return bool(live)
