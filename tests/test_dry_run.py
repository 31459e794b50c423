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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bench.harness import open_market
from messages.errors import ConfigError
from polymm.config import load_config
from sim.process import SimProcess
from tests.e2e import REPO, terminate, wait_until

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


def _fills(err: Path) -> int:
    found = STATUS.findall(err.read_text(errors="replace")) if err.exists() else []
    return int(found[-1]) if found else 0


def _sweep(base_url: str) -> None:
    """Trade through both sides of both outcomes' books (a taker the tape would show)."""
    m = open_market(base_url, min_left_s=30)
    for token in m.token_ids:
        for side, price in (("SELL", "0.01"), ("BUY", "0.99")):
            requests.post(f"{base_url}/_sim/take", timeout=5, json={
                "token_id": token, "side": side, "price": price, "size": "200"})


def test_a_dry_run_quotes_and_fills_on_paper_without_a_private_request(
        stand_in: SimProcess, tmp_path: Path) -> None:
    summary_path, err = tmp_path / "summary.json", tmp_path / "stderr.txt"
    cmd = [sys.executable, str(REPO / "bin" / "polymm"), "run", "--config",
           "conf/dry-run.yaml", "--venue-url", stand_in.base_url,
           "--set", f"event_log.dir={tmp_path / 'events'}", "--set", "statsd.enabled=false",
           "--set", "logging.status_interval_s=1", "--summary", str(summary_path)]
    with err.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=str(REPO), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=fh, start_new_session=True)
        try:
            def dead() -> str:
                return "" if proc.poll() is None else f"the bot exited ({proc.returncode})"

            def tail() -> str:
                return err.read_text(errors="replace")[-2000:]

            wait_until(lambda: "open=" in err.read_text(errors="replace"), 30,
                       "the dry run's first status line", dead=dead, explain=tail)

            def filled() -> bool:
                if _fills(err) > 0:
                    return True
                _sweep(stand_in.base_url)
                return False

            wait_until(filled, 60, "a paper fill", interval=1.0, dead=dead, explain=tail)
            os.killpg(proc.pid, signal.SIGINT)
            rc = proc.wait(30)
        finally:
            terminate(proc, 5, group=True)
    log = err.read_text(errors="replace")
    assert rc == 0, log[-3000:]
    summary: dict[str, Any] = json.loads(summary_path.read_text())
    assert summary["mode"] == "dry_run"
    assert summary["fills"] >= 1 and summary["paper"]["fills"] == summary["fills"]
    assert "pnl_usd" in summary["pnl"]
    assert summary["open_orders_after_shutdown"] == 0 and summary["actors_left"] == 0
    venue = stand_in.state()
    assert venue["private_requests"] == 0, venue["private_routes"]
    assert venue["orders_received"] == 0
    assert "user" not in venue["connections"]


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
