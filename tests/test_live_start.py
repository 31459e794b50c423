"""``bin/polymm run --live`` runs pre-flight first and refuses to start on a failure.

Against the simulated venue standing in for Polymarket (a live config whose URLs are its
loopback URLs, the key and the RPC URL from the environment): an unfunded account is refused
with pre-flight's line before any actor starts; a funded, approved one starts, quotes and
stops cleanly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from sim.process import SimProcess
from tests.live_config import live_config
from tests.test_sim_support import start_sim

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    proc = start_sim("--seed", "29", "--window-seconds", "900")
    yield proc
    proc.stop()


def _run(sim: SimProcess, tmp: Path, key: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYMM_")}
    env.update(POLYMM_PRIVATE_KEY=key, POLYMM_RPC_URL=sim.chain_url)
    cmd = [sys.executable, str(REPO / "bin" / "polymm"), "run", "--live", "--config",
           str(live_config(sim, tmp)), "--duration", "3", "--summary", str(tmp / "s.json"),
           "--set", f"event_log.dir={tmp / 'events'}", "--set", "statsd.enabled=false",
           "--set", "discovery.series=[{asset: btc, interval: 15m, windows: 1}]"]
    return subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True, text=True,
                          timeout=120, start_new_session=True)


def test_an_unfunded_account_is_refused_before_anything_starts(sim: SimProcess,
                                                               tmp_path: Path) -> None:
    key = "0x" + "61" * 32
    sim.account(str(Account.from_key(key).address), funded=False)
    done = _run(sim, tmp_path, key)
    assert done.returncode != 0
    assert "pre-flight: collateral:" in done.stderr and "holds 0 pUSD" in done.stderr, \
        done.stderr[-3000:]
    assert "order manager: started" not in done.stderr
    assert not (tmp_path / "s.json").exists()


def test_a_funded_account_passes_and_runs(sim: SimProcess, tmp_path: Path) -> None:
    done = _run(sim, tmp_path, "0x" + "62" * 32)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "pre-flight: passed" in done.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["mode"] == "live" and summary["open_orders_after_shutdown"] == 0
