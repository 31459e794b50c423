"""SIGKILL mid-run, then restart with the same key (issue 6).

The bot (``bin/polymm run --venue-url``) runs against a simulated venue this test starts, with
its key from ``POLYMM_PRIVATE_KEY`` (``conf/default.yaml`` reads it with ``!ENV``). It is
killed with SIGKILL while it has orders resting. Then:

* left alone, the venue's dead-man heartbeat cancels every order of the key;
* restarted at once (before the dead-man fires), the new process reconciles from REST before
  it quotes: it finds the old orders (not its own: strays) and cancels them, and it loads the
  positions of the old process's fills from ``GET /data/trades``;
* the event log of the killed process holds every record the test saw on disk before the kill,
  byte for byte, its ``start`` record first; at most a torn final line, which the reader skips;
  and ``bin/polymm replay`` of the directory (both runs) matches every decision.

The kill comes at a point the test controls: it reads the journal's files as the bot writes
them and sends SIGKILL right after a chosen record is there (:class:`JournalTail`), never at a
moment the bot happens to reach. A bot killed before its writer ever wrote still leaves its
``start`` record, written and fsync'd before any actor ran.

Waiting on another process's state can only be polled: ``wait_until`` polls with a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from journal import journal_files, read_journal
from sim.process import SimProcess
from tests.e2e import wait_until
from venue.redact import SELF
from venue.rest import ClobClient
from venue.trades import our_trades

ROOT = Path(__file__).resolve().parent.parent
KEY = "0x" + "5a" * 32  # a dummy key that only ever signs for the simulated venue
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


MIN_SECONDS_TO_CLOSE = 5  # set on the command line: the start record must carry it


def bot_cmd(url: str, tmp: Path, name: str, duration: float, *, flush_ms: int = 50,
            batch_size: int = 512) -> list[str]:
    return [sys.executable, str(ROOT / "bin" / "polymm"), "run", "--venue-url", url,
            "--duration", str(duration), "--summary", str(tmp / f"{name}-summary.json"),
            "--set", f"event_log.dir={tmp / 'events'}",
            "--set", f"event_log.flush_interval_ms={flush_ms}",
            "--set", f"event_log.batch_size={batch_size}", "--set", "statsd.enabled=false",
            "--set", f"quoter.min_seconds_to_close={MIN_SECONDS_TO_CLOSE}",
            "--set", "logging.status_interval_s=60"]


def start_bot(url: str, tmp: Path, name: str, duration: float,
              **log: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "POLYMM_PRIVATE_KEY": KEY}
    with open(tmp / f"{name}.err", "wb") as err:
        return subprocess.Popen(bot_cmd(url, tmp, name, duration, **log), cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=err,
                                stdin=subprocess.DEVNULL)


class JournalTail:
    """The complete lines a running bot's journal holds on disk, read again at each look.

    ``seen`` keeps, per file, the bytes of the complete lines of the last look: after a kill
    that follows a look, each file must still start with exactly those bytes.
    """

    def __init__(self, directory: Path, proc: subprocess.Popen[bytes], err: Path) -> None:
        self.directory = directory
        self.proc = proc
        self.err = err
        self.seen: dict[Path, bytes] = {}

    def find(self, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """The first record (raw: ``k``, ``v``…) ``match`` accepts, or None (so far)."""
        if self.proc.poll() is not None:
            pytest.fail(f"bot exited early ({self.proc.returncode}): "
                        f"{self.err.read_text()[-2000:]}")
        seen = {}
        found = None
        files = journal_files(self.directory) if self.directory.is_dir() else []
        for f in files:
            data = f.read_bytes()
            data = seen[f] = data[:data.rfind(b"\n") + 1]
            for line in data.splitlines():
                rec = orjson.loads(line)
                if found is None and match(rec):
                    found = rec
        self.seen = seen
        return found


def kill_after(tail: JournalTail, match: Callable[[dict[str, Any]], bool], what: str) -> None:
    """SIGKILL the bot right after the journal on disk shows a record ``match`` accepts."""
    wait_until(lambda: tail.find(match), 30, what, interval=0.005)
    tail.proc.send_signal(signal.SIGKILL)
    tail.proc.wait(10)


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


def posted_and_live(rec: dict[str, Any]) -> bool:
    """The OrderManager's record of a post the venue accepted (orders now resting)."""
    v = rec["v"]
    return (rec["k"] == "order" and isinstance(v, dict) and v.get("op") == "post_result"
            and any(o.get("outcome") == "live" for o in v.get("results", ())))


def our_fill_applied(rec: dict[str, Any]) -> bool:
    """The State's record of a trade it applied (the fill the test gave the bot)."""
    return rec["k"] == "in" and isinstance(rec["v"], dict) and rec["v"].get("_t") == "TradeEvent"


def then(first: Callable[[dict[str, Any]], bool],
         second: Callable[[dict[str, Any]], bool]) -> Callable[[dict[str, Any]], bool]:
    """A record ``second`` accepts, after one ``first`` accepted. ``JournalTail.find`` reads
    the journal from its start record on every look, which starts the sequence afresh."""
    seen = [False]

    def match(rec: dict[str, Any]) -> bool:
        if rec["k"] == "start":
            seen[0] = False
        if seen[0]:
            return second(rec)
        seen[0] = first(rec)
        return False
    return match


def run_until_orders_then_kill(venue: Venue, tmp: Path, *,
                               want_fill: bool) -> tuple[set[str], dict[Path, bytes]]:
    """Start bot A, wait for resting orders (and give it a fill), and SIGKILL it right after
    its journal on disk shows the post (the fill); the ids left and the journal seen."""
    a = start_bot(venue.sim.base_url, tmp, "a", duration=120)
    tail = JournalTail(tmp / "events", a, tmp / "a.err")
    try:
        def resting(n: int) -> bool:
            tail.find(lambda _: False)  # fails the test at once if the bot has exited
            return len(venue.open_ids()) >= n
        wait_until(lambda: resting(2), 60, "resting orders")
        if want_fill:
            fill_one_of_ours(venue)
            wait_until(venue.client.trades, 20, "our fill")
            wait_until(lambda: resting(1), 20, "orders resting after the fill")
            # Right after a post accepted once the fill is in: orders rest at the venue (a
            # kill just after the fill could land mid-replace, with nothing resting).
            kill_after(tail, then(our_fill_applied, posted_and_live),
                       "an accepted post after the fill in the journal")
        else:
            kill_after(tail, posted_and_live, "an accepted post in the journal")
    finally:
        kill(a)
    return venue.open_ids(), tail.seen


def check_journal_survives(events: Path, seen: dict[Path, bytes]) -> None:
    """Every record on disk before the kill is still there; the start record comes first."""
    assert seen, "the test saw no journal file before the kill"
    for f, data in seen.items():
        assert f.read_bytes().startswith(data), f"{f}: lines seen before the kill changed"
    reader = read_journal(events)
    records = list(reader)  # raises on a corrupt line that is not a file's final line
    assert reader.torn_lines <= len(reader.files)
    assert len(records) >= sum(data.count(b"\n") for data in seen.values())
    assert records[0].kind == "start"
    assert records[0].value["quoter"]["min_seconds_to_close"] == MIN_SECONDS_TO_CLOSE


def replay(events: Path) -> str:
    out = subprocess.run([sys.executable, str(ROOT / "bin" / "polymm"), "replay", str(events)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "result: OK" in out.stdout
    return out.stdout


@pytest.fixture
def sim_fast_deadman(tmp_path: Path) -> Iterator[Venue]:
    yield from _sim(tmp_path, heartbeat_timeout_s=3)


@pytest.fixture
def sim_slow_deadman(tmp_path: Path) -> Iterator[Venue]:
    yield from _sim(tmp_path, heartbeat_timeout_s=30)


def test_sigkill_dead_man_cancels_and_log_replays(sim_fast_deadman: Venue,
                                                  tmp_path: Path) -> None:
    venue = sim_fast_deadman
    left, seen = run_until_orders_then_kill(venue, tmp_path, want_fill=False)
    assert left, "the killed bot left no order resting: nothing to test"
    # Nobody heartbeats for the key any more: the venue cancels all of its orders.
    wait_until(lambda: not venue.open_ids(), 20, "the dead-man heartbeat to cancel")
    assert venue.sim.state()["heartbeat_expiries"] >= 1
    events = tmp_path / "events"
    check_journal_survives(events, seen)
    # A kill in the middle of a write tears the last line: make sure there is one.
    with open(journal_files(events)[-1], "ab") as f:
        f.write(b'{"ts": 1, "k": "in", "src": "State", "v": {"_t": "Bo')
    out = replay(events)
    assert "torn final lines skipped: 1" in out


def test_sigkill_before_the_first_write_leaves_the_start_record(sim_slow_deadman: Venue,
                                                                tmp_path: Path) -> None:
    """Here the writer holds every record for a minute (interval and batch out of reach), yet
    the start record is on disk as soon as the run begins: it was written and fsync'd before
    any actor ran. A bot killed right then leaves exactly that, and replay accepts it."""
    a = start_bot(sim_slow_deadman.sim.base_url, tmp_path, "a", duration=120,
                  flush_ms=60_000, batch_size=1_000_000)
    tail = JournalTail(tmp_path / "events", a, tmp_path / "a.err")
    try:
        kill_after(tail, lambda rec: rec["k"] == "start", "the start record on disk")
    finally:
        kill(a)
    events = tmp_path / "events"
    check_journal_survives(events, tail.seen)
    assert [r.kind for r in read_journal(events)] == ["start"]
    out = replay(events)
    assert "decisions compared: 0" in out


def test_restart_reconciles_orders_and_positions_before_quoting(sim_slow_deadman: Venue,
                                                                tmp_path: Path) -> None:
    venue = sim_slow_deadman
    left, seen = run_until_orders_then_kill(venue, tmp_path, want_fill=True)
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
    # Both runs (the killed one, maybe with a torn tail, and the restart) replay cleanly.
    check_journal_survives(tmp_path / "events", seen)
    assert "== run 2 of 2" in replay(tmp_path / "events")
