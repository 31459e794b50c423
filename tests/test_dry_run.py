"""``mode: dry_run``: public data in, paper fills out, never a private request.

The end-to-end test runs ``bin/polymm run --config conf/dry-run.yaml --venue-url URL`` against
a separately started ``bin/polymm sim`` (a stand-in for Polymarket), makes the tape trade
through the bot's quotes with the venue's admin takes until the bot reports paper fills, stops
it with SIGINT and checks the venue's count of private requests (``/_sim/state``): none, and
no order received. The config tests check what a dry run refuses before anything starts.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.recording import sweep
from messages import MarketResolved, Side, TradeEvent, TradeStatus
from messages.errors import ConfigError
from polymm.backtest import backtest_records, read_runs
from polymm.config import load_config
from sim.process import SimProcess
from tests.e2e import REPO, terminate, wait_until
from venue.redact import SELF

STATUS = re.compile(r"mode=dry_run .* fills=(\d+)")


@pytest.fixture
def stand_in() -> Iterator[SimProcess]:
    sim = SimProcess(["--window-seconds", "300", "--noise-rate", "20", "--seed", "5",
                      "--assets", "btc"])
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


class DryRun:
    """``bin/polymm run --config conf/dry-run.yaml`` against a stand-in venue, in a session of
    its own, with its event log, summary and stderr under ``tmp``. ``until`` sweeps the
    venue's books through the quotes (a taker the tape shows) until a condition holds;
    ``stop`` sends SIGINT, as Ctrl-C would, and returns the run summary. On leaving, the bot
    is killed if it still runs."""

    def __init__(self, venue: SimProcess, tmp: Path, *sets: str, min_left_s: float) -> None:
        self.venue, self.tmp, self.min_left_s = venue, tmp, min_left_s
        self.err, self.summary_path = tmp / "stderr.txt", tmp / "summary.json"
        self.cmd = [sys.executable, str(REPO / "bin" / "polymm"), "run", "--config",
                    "conf/dry-run.yaml", "--venue-url", venue.base_url,
                    "--set", f"event_log.dir={tmp / 'events'}", "--set", "statsd.enabled=false",
                    "--set", "logging.status_interval_s=1", "--summary", str(self.summary_path)]
        self.cmd += [x for s in sets for x in ("--set", s)]

    def __enter__(self) -> DryRun:
        with self.err.open("wb") as fh:
            self.proc = subprocess.Popen(self.cmd, cwd=str(REPO), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=fh,
                                         start_new_session=True)
        try:
            wait_until(lambda: "open=" in self.log(), 30, "the dry run's first status line",
                       dead=self._dead, explain=self._tail)
        except BaseException:
            terminate(self.proc, 5, group=True)
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        terminate(self.proc, 5, group=True)

    def log(self) -> str:
        return self.err.read_text(errors="replace") if self.err.exists() else ""

    def fills(self) -> int:
        found = STATUS.findall(self.log())
        return int(found[-1]) if found else 0

    def _dead(self) -> str:
        return "" if self.proc.poll() is None else f"the bot exited ({self.proc.returncode})"

    def _tail(self) -> str:
        return self.log()[-2000:]

    def until(self, pred: Callable[[], bool], timeout_s: float, what: str) -> None:
        def check() -> bool:
            if pred():
                return True
            sweep(self.venue.base_url, min_left_s=self.min_left_s)
            return False
        wait_until(check, timeout_s, what, interval=1.0, dead=self._dead, explain=self._tail)

    def stop(self) -> dict[str, Any]:
        os.killpg(self.proc.pid, signal.SIGINT)
        rc = self.proc.wait(30)
        assert rc == 0, self.log()[-3000:]
        summary: dict[str, Any] = json.loads(self.summary_path.read_text())
        return summary


def test_a_dry_run_quotes_and_fills_on_paper_without_a_private_request(
        stand_in: SimProcess, tmp_path: Path) -> None:
    with DryRun(stand_in, tmp_path, min_left_s=30) as run:
        run.until(lambda: run.fills() > 0, 60, "a paper fill")
        summary = run.stop()
    assert summary["mode"] == "dry_run"
    assert summary["fills"] >= 1 and summary["paper"]["fills"] == summary["fills"]
    assert "pnl_usd" in summary["pnl"]
    assert summary["open_orders_after_shutdown"] == 0 and summary["actors_left"] == 0
    assert summary["paper"]["open_orders"] == 0  # the shutdown's cancels landed
    venue = stand_in.state()
    assert venue["private_requests"] == 0, venue["private_routes"]
    assert venue["orders_received"] == 0
    assert "user" not in venue["connections"]


SETTLED = "paper exchange settled"


def _positions_at(records: list[Any], t_ns: int) -> dict[str, int]:
    """Our shares per token from the paper exchange's trades logged before ``t_ns`` (each
    trade once: MATCHED; the bot's orders are ours alone in a dry run)."""
    pos: dict[str, int] = {}
    for r in records:
        v = r.value
        if r.kind == "in" and isinstance(v, TradeEvent) and v.status is TradeStatus.MATCHED \
                and v.ts_recv_ns < t_ns:
            for f in v.maker_fills:
                if f.owner == SELF:
                    sign = 1 if f.side is Side.BUY else -1
                    pos[f.token_id] = pos.get(f.token_id, 0) + sign * f.matched_size_micro
    return pos


def test_a_dry_run_settles_a_window_from_the_reference_when_no_resolution_comes(
        tmp_path: Path) -> None:
    # A venue that never sends market_resolved (as when the bot has unsubscribed at the close):
    # the paper exchange settles each window from the reference against its strike.
    sim = SimProcess(["--window-seconds", "20", "--noise-rate", "20", "--seed", "7",
                      "--assets", "btc", "--no-resolution-messages"])
    sim.start()
    try:
        with DryRun(sim, tmp_path, "discovery.series=[{asset: btc, interval: 20s, windows: 2}]",
                    "quoter.min_seconds_to_close=3", min_left_s=0) as run:
            run.until(lambda: run.fills() > 0, 60, "a paper fill")
            settled_before = run.log().count(SETTLED)
            # The window of that fill (or the next) closes and is settled.
            run.until(lambda: run.log().count(SETTLED) > settled_before, 60,
                      "a window settled from the reference")
            summary = run.stop()
        venue = sim.state()
    finally:
        sim.stop()
    (records,) = read_runs(tmp_path / "events")
    resolutions = [r for r in records if r.kind == "in" and isinstance(r.value, MarketResolved)]
    assert resolutions and all(r.value.from_reference for r in resolutions), resolutions
    # Each settled window paid 1 pUSD per winning share we held at its close, and no more.
    expected = 0
    for r in resolutions:
        held = _positions_at(records, r.value.ts_recv_ns)
        expected += max(0, held.get(r.value.winning_token_id, 0))
    assert round(summary["paper"]["payouts_usd"] * 1e6) == expected
    assert summary["pnl"]["unmarked_positions"] == 0, summary["pnl"]
    assert summary["paper"]["settled_from_reference"] == len(resolutions)
    assert venue["private_requests"] == 0 and venue["orders_received"] == 0
    # The backtest of that log settles the same windows the same way.
    bt = backtest_records(records).summary
    assert bt["paper"]["payouts_usd"] == pytest.approx(summary["paper"]["payouts_usd"], abs=10)
    assert bt["log"]["skipped_recorded_fills"].get("MarketResolved", 0) == len(resolutions)


@pytest.mark.parametrize(("venue_lines", "overrides", "error"), [
    ("  private_key: !ENV KEY\n", {}, "venue.private_key: a dry run never uses a key"),
    ("  api_key: !ENV KEY\n  api_secret: !ENV KEY\n  api_passphrase: !ENV KEY\n", {},
     "venue.api_key: a dry run never uses a key or API credentials"),
    ("", {"price_feed.provider": "polybolt"}, "price_feed.provider: 'polybolt' needs API"),
])
def test_a_dry_run_refuses_secrets_and_private_feeds(tmp_path: Path, venue_lines: str,
                                                      overrides: dict[str, object],
                                                      error: str) -> None:
    text = (REPO / "conf" / "dry-run.yaml").read_text().replace("venue:\n",
                                                                "venue:\n" + venue_lines, 1)
    path = tmp_path / "dry.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(str(path), env={"KEY": "0x" + "11" * 32}, overrides=overrides)
    assert any(e.startswith(error) for e in info.value.errors), info.value.errors


def test_paper_mode_on_a_real_venue_points_to_the_dry_run() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(str(REPO / "conf" / "default.yaml"), env={}, overrides={
            "venue.clob_url": "https://clob.polymarket.com"})
    assert any("conf/dry-run.yaml" in e for e in info.value.errors), info.value.errors
