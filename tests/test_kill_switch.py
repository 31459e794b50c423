"""The manual kill switch: SIGUSR2 to a running bot cancels everything and stops quoting."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from journal import read_journal
from sim.process import SimProcess
from tests.e2e import wait_until

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _open_orders(sim: SimProcess) -> int:
    return sum(int(v.get("count", 0)) for v in sim.state().get("open_orders", {}).values())


def test_sigusr2_cancels_all_and_stops_quoting(tmp_path):
    with SimProcess(["--window-seconds", "60", "--seed", "11"]) as sim:
        summary = tmp_path / "s.json"
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bin" / "polymm"), "run", "--venue-url", sim.base_url,
             "--duration", "25", "--summary", str(summary),
             "--set", "sim.window_seconds=60", "--set", "statsd.enabled=false",
             "--set", f"event_log.dir={tmp_path / 'events'}"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            wait_until(lambda: _open_orders(sim) > 0, 30, "the bot to quote", 0.2)
            proc.send_signal(signal.SIGUSR2)
            wait_until(lambda: _open_orders(sim) == 0, 15, "the kill switch to cancel everything",
                       0.2)
            _out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        assert proc.returncode == 0, err.decode()[-2000:]
        assert _open_orders(sim) == 0
    data = json.loads(summary.read_text())
    assert data["open_orders_after_shutdown"] == 0
    records = list(read_journal(tmp_path / "events"))
    kill = [r.ts_ns for r in records if r.kind == "order" and r.value.get("op") == "cancel_all"
            and "kill switch" in r.value.get("reason", "")]
    assert kill, "no kill-switch cancel-all recorded"
    late_posts = [r for r in records if r.kind == "order" and r.value.get("op") == "post"
                  and r.ts_ns > kill[0]]
    assert late_posts == []
    # The State gated every market too (gate reason kill_switch in the quoter's decisions).
    gates = {d.gate.value for r in records if r.kind == "quote" and r.ts_ns > kill[0]
             for d in r.value.decisions}
    assert gates <= {"kill_switch"}
