"""Fault scenario, end to end: ``bin/polymm run --faults chaos`` (issue 6, the done-when run).

The whole program as an operator runs it (it starts its own simulated venue), shortened to fit
the suite: 30 s windows and a faster chaos profile (``conf/faults/chaos_fast.yaml``: every
socket fault, REST fault and tick change at rates that fire several times in the run). It must
exit 0 with zero open orders at the venue, zero duplicate and zero unknown orders, and a run
summary that counts the injected faults and the recoveries. ``bin/polymm run --faults chaos
--duration 120`` is the same check at the profile's own rates.
"""

from __future__ import annotations

import pytest

from tests.e2e import run_bot, series_override

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(150)]

def test_chaos_run_exits_clean_and_counts_faults_and_recoveries(tmp_path):
    args = ["--faults", "chaos_fast", "--duration", "45", "--window-seconds", "30",
            "--set", series_override(30), "--set", "quoter.min_seconds_to_close=8"]
    for feed in ("market_feed", "price_feed"):
        args += ["--set", f"{feed}.liveness_timeout_s=3", "--set", f"{feed}.ping_interval_s=1"]
    for feed in ("market_feed", "user_feed", "price_feed"):
        args += ["--set", f"{feed}.reconnect_max_s=2"]
    run = run_bot(args, tmp_path, timeout_s=120)
    s = run.summary
    assert run.rc == 0, run.stderr[-3000:]
    assert s["open_orders_after_shutdown"] == 0
    assert s["venue_open_orders"] == 0
    assert s["duplicate_orders"] == 0 and s["venue"]["duplicates"] == 0
    assert s["unknown_orders"] == 0
    assert s["orders_posted"] > 0
    faults = s["faults_injected"]
    assert sum(faults.values()) >= 5, faults
    assert faults.get("socket_drop", 0) >= 1 and faults.get("tick_change", 0) >= 1, faults
    rec = s["recoveries"]
    assert sum(rec["reconnects_by_feed"].values()) >= 1, rec
    assert rec["retry_after_violations"] == {}, rec
    assert rec["unknown_outcome_left"] == 0
    assert s["orders_canceled_by_window_close"] == 0
