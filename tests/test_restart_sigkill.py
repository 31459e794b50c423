"""SIGKILL mid-run, then restart with the same key (issue 6).

The bot (``bin/polymm run --venue-url``) runs against a simulated venue this test starts, with
its key from ``POLYMM_PRIVATE_KEY`` (``conf/default.yaml`` reads it with ``!ENV``). It is
killed with SIGKILL while it has orders resting. Then:

* left alone, the venue's dead-man heartbeat cancels every order of the key;
* restarted at once (before the dead-man fires), the new process reconciles from REST before
  it quotes: it finds the old orders (not its own: strays) and cancels them, and it loads the
  positions of the old process's fills from ``GET /data/trades``;
* the event log of the killed process holds at most a torn final line, which the reader skips,
  and ``bin/polymm replay`` of the directory (both runs) matches every decision.

Waiting on another process's state can only be polled: ``wait_until`` polls with a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from polymm.journal import read_journal
from polymm.redact import SELF
from polymm.wiring import our_trades
from sim.process import SimProcess
from tests.e2e import wait_until
from venue.rest import ClobClient

ROOT = Path(__file__).resolve().parent.parent
KEY = "0x" + "5a" * 32  # a dummy key that only ever signs for the simulated venue
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def bot_cmd(url: str, tmp: Path, name: str, duration: float) -> list[str]:
    return [sys.executable, str(ROOT / "bin" / "polymm"), "run", "--venue-url", url,
            "--duration", str(duration), "--summary", str(tmp / f"{name}-summary.json"),
            "--set", f"event_log.dir={tmp / 'events'}", "--set", "event_log.flush_interval_ms=50",
            "--set", "statsd.enabled=false",
            "--set", "quoter.min_seconds_to_close=5", "--set", "logging.status_interval_s=60"]


def start_bot(url: str, tmp: Path, name: str, duration: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "POLYMM_PRIVATE_KEY": KEY}
    with open(tmp / f"{name}.err", "wb") as err:
        return subprocess.Popen(bot_cmd(url, tmp, name, duration), cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=err,
                                stdin=subprocess.DEVNULL)


def kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


class Venue:
    """The simulated venue and a REST client holding the bot's own credentials."""

    def __init__(self, sim: SimProcess) -> None:
        from eth_account import Account

        self.sim = sim
        address = Account.from_key(KEY).address
        l1 = ClobClient(sim.base_url, address=address, creds=None)
        self.creds = l1.derive_api_key(KEY)
        l1.close()
        self.client = ClobClient(sim.base_url, address=address, creds=self.creds)

    def open_ids(self) -> set[str]:
        return {str(o["id"]).lower() for o in self.client.open_orders()}

    def close(self) -> None:
        self.client.close()


def _sim(tmp: Path, heartbeat_timeout_s: float) -> Iterator[Venue]:
    # Few noise takers: the orders the killed bot leaves must still rest when it restarts.
    with open(tmp / "sim.err", "wb") as err:
        sim = SimProcess(["--window-seconds", "120", "--seed", "11", "--assets", "btc",
                          "--noise-rate", "1", "--heartbeat-timeout-s", str(heartbeat_timeout_s)],
                         stderr=err).start()
    venue = None
    try:
        venue = Venue(sim)
        yield venue
    finally:
        if venue is not None:
            venue.close()
        sim.stop()


def fill_one_of_ours(venue: Venue) -> None:
    """A taker SELL sweeps the bids of one token down to one of our BUYs: a fill for us."""
    ours = [o for o in venue.client.open_orders() if o.get("side") == "BUY"]
    assert ours, "no resting BUY of ours to fill"
    o = ours[0]
    venue.sim._request("POST", "/_sim/take", {"token_id": o["asset_id"], "side": "SELL",
                                              "price": o["price"], "size": "500"})


def run_until_orders_then_kill(venue: Venue, tmp: Path, *, want_fill: bool) -> set[str]:
    """Start bot A, wait for resting orders (and give it a fill), SIGKILL it; the ids left."""
    a = start_bot(venue.sim.base_url, tmp, "a", duration=120)
    try:
        def resting(n: int) -> bool:
            if a.poll() is not None:
                pytest.fail(f"bot exited early ({a.returncode}): "
                            f"{(tmp / 'a.err').read_text()[-2000:]}")
            return len(venue.open_ids()) >= n
        wait_until(lambda: resting(2), 60, "resting orders")
        if want_fill:
            fill_one_of_ours(venue)
            wait_until(venue.client.trades, 20, "our fill")
            wait_until(lambda: resting(1), 20, "orders resting after the fill")
        a.send_signal(signal.SIGKILL)
        a.wait(10)
    finally:
        kill(a)
    return venue.open_ids()


def check_journal_survives(events: Path) -> None:
    reader = read_journal(events)
    records = list(reader)  # raises on a corrupt line that is not a file's final line
    assert records and reader.torn_lines <= len(reader.files)
    assert any(r.kind == "start" for r in records)


@pytest.fixture
def sim_fast_deadman(tmp_path: Path) -> Iterator[Venue]:
    yield from _sim(tmp_path, heartbeat_timeout_s=3)


@pytest.fixture
def sim_slow_deadman(tmp_path: Path) -> Iterator[Venue]:
    yield from _sim(tmp_path, heartbeat_timeout_s=30)


def test_sigkill_dead_man_cancels_and_log_replays(sim_fast_deadman: Venue,
                                                  tmp_path: Path) -> None:
    venue = sim_fast_deadman
    left = run_until_orders_then_kill(venue, tmp_path, want_fill=False)
    assert left, "the killed bot left no order resting: nothing to test"
    # Nobody heartbeats for the key any more: the venue cancels all of its orders.
    wait_until(lambda: not venue.open_ids(), 20, "the dead-man heartbeat to cancel")
    assert venue.sim.state()["heartbeat_expiries"] >= 1
    check_journal_survives(tmp_path / "events")
    out = subprocess.run([sys.executable, str(ROOT / "bin" / "polymm"), "replay",
                          str(tmp_path / "events")], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "result: OK" in out.stdout


def test_restart_reconciles_orders_and_positions_before_quoting(sim_slow_deadman: Venue,
                                                                tmp_path: Path) -> None:
    venue = sim_slow_deadman
    left = run_until_orders_then_kill(venue, tmp_path, want_fill=True)
    assert left, "the killed bot left no order resting: nothing to test"
    trades = our_trades(venue.client, venue.creds.api_key)
    ours = [t for t in trades
            if t.owner == SELF or any(f.owner == SELF for f in t.maker_fills)]
    assert ours, "the killed bot had no fill"

    b = start_bot(venue.sim.base_url, tmp_path, "b", duration=8)
    try:
        rc = b.wait(60)
    finally:
        kill(b)
    err = (tmp_path / "b.err").read_text()
    assert rc == 0, err[-3000:]
    summary = json.loads((tmp_path / "b-summary.json").read_text())
    # The old process's orders were found at start-up and canceled by the new one (the
    # dead-man switch is 30 s here, and the new process heartbeats for the same key).
    assert "order manager: reconciled" in err
    assert summary["unknown_orders"] >= 1
    assert not (left & venue.open_ids())
    assert venue.sim.state()["heartbeat_expiries"] == 0
    assert summary["open_orders_after_shutdown"] == 0 and summary["crashed"] == []
    # Positions: the old fills were loaded from REST before any market data or quote.
    assert "of our trades at the venue" in err
    records = list(read_journal(tmp_path / "events"))
    starts = [i for i, r in enumerate(records) if r.kind == "start"]
    assert len(starts) == 2
    run_b = records[starts[1]:]
    kinds = [(r.kind, type(r.value).__name__) for r in run_b]
    first_trade = kinds.index(("in", "TradeEvent"))
    first_book = kinds.index(("in", "BookSnapshot"))
    first_quote = next(i for i, r in enumerate(run_b) if r.kind == "quote" and r.value.quotes)
    assert first_trade < first_book < first_quote
    loaded = {r.value.trade_id for r in run_b[:first_book]
              if r.kind == "in" and type(r.value).__name__ == "TradeEvent"}
    assert {t.trade_id for t in ours} <= loaded
    # Both runs (the killed one with its torn tail, and the restart) replay cleanly.
    check_journal_survives(tmp_path / "events")
    out = subprocess.run([sys.executable, str(ROOT / "bin" / "polymm"), "replay",
                          str(tmp_path / "events")], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "== run 2 of 2" in out.stdout and "result: OK" in out.stdout
