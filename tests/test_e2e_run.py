"""The main job end to end: ``bin/polymm run`` against the simulated venue it starts.

The bot must quote both sides of the current window, get fills, roll to the next window
without leaving orders on the expired one, exit 0 with zero open orders at the venue, and its
event log must replay with every decision matching.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from journal import read_journal

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _run(tmp_path: Path, *args: str, timeout: float = 150) -> tuple[int, dict, str]:
    summary = tmp_path / "summary.json"
    cmd = [sys.executable, str(ROOT / "bin" / "polymm"), "run", "--summary", str(summary),
           "--set", f"event_log.dir={tmp_path / 'events'}", "--set", "statsd.enabled=false",
           *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    data = json.loads(summary.read_text()) if summary.exists() else {}
    return proc.returncode, data, proc.stderr


@pytest.fixture(scope="module")
def rollover_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    # 30 s windows and a 50 s run: at least one rollover. A busy noise trader makes fills likely.
    rc, summary, err = _run(tmp, "--window-seconds", "30", "--duration", "50", "--seed", "3",
                            "--set", "sim.noise_rate_per_s=20",
                            "--set", "quoter.min_seconds_to_close=5",
                            "--set", "quoter.half_spread_pips=100")
    return tmp, rc, summary, err


def test_run_exits_clean_with_nothing_left_at_the_venue(rollover_run):
    _, rc, summary, err = rollover_run
    assert rc == 0, err[-3000:]
    assert summary["open_orders_after_shutdown"] == 0
    assert summary["venue_open_orders"] == 0
    assert summary["actors_left"] == 0
    assert summary["crashed"] == []
    assert summary["duplicate_orders"] == 0
    assert summary["unknown_orders"] == 0
    assert summary["venue"]["signature_failures"] == 0
    assert summary["venue"]["auth_failures"] == 0
    assert summary["orders_posted"] > 0
    assert summary["events_logged"] > 0


def test_run_quotes_both_sides_gets_fills_and_rolls_over(rollover_run):
    tmp, rc, summary, _ = rollover_run
    assert rc == 0
    records = list(read_journal(tmp / "events"))
    markets = {}
    for r in records:
        if r.kind == "in" and type(r.value).__name__ == "MarketsChanged":
            for m in r.value.markets:
                markets[m.condition_id] = m
    posts_by_market: dict[str, set[str]] = defaultdict(set)
    post_ts: dict[str, list[int]] = defaultdict(list)
    order_market: dict[str, str] = {}
    order_size: dict[str, int] = {}
    token_market = {t: cid for cid, m in markets.items() for t in m.token_ids}
    for r in records:
        if r.kind == "order" and r.value.get("op") == "post":
            for o in r.value["orders"]:
                cid = token_market[o["token"]]
                posts_by_market[cid].add(o["token"])
                post_ts[cid].append(r.ts_ns)
                order_market[o["id"]] = cid
                order_size[o["id"]] = o["size_micro"]
    # Both outcomes quoted in at least two windows (the first and the one after rollover).
    both = [cid for cid, toks in posts_by_market.items() if len(toks) == 2]
    assert len(both) >= 2, {markets[c].slug: len(t) for c, t in posts_by_market.items()}
    assert summary["fills"] > 0 or summary["venue"]["fills"] > 0
    # No post on a market after its close, and every order on an expired market was gone
    # (canceled or filled) by its close: nothing left resting on an expired window.
    gone: dict[str, int] = {}
    filled: dict[str, int] = defaultdict(int)
    fills_seen: set[tuple[str, str]] = set()
    for r in records:
        if (r.kind == "out" and type(r.value).__name__ == "OrderFilled"
                and (r.value.order_id, r.value.trade_id) not in fills_seen):
            fills_seen.add((r.value.order_id, r.value.trade_id))
            filled[r.value.order_id] += r.value.size_micro
            if filled[r.value.order_id] >= order_size.get(r.value.order_id, 1 << 62):
                gone.setdefault(r.value.order_id, r.ts_ns)
        if r.kind == "order" and r.value.get("op") == "post_result":
            for res in r.value["results"]:
                if res.get("outcome") != "live":
                    gone.setdefault(res["id"], r.ts_ns)
        if r.kind == "out" and type(r.value).__name__ in ("OrderCanceled",):
            gone.setdefault(r.value.order_id, r.ts_ns)
        if r.kind == "order" and r.value.get("op") == "canceled":
            for oid in r.value["ids"]:
                gone.setdefault(oid, r.ts_ns)
    last_ts = records[-1].ts_ns
    for cid, m in markets.items():
        end_ns = m.end_ms * 1_000_000
        if end_ns > last_ts:
            continue  # still open when the run ended (shutdown canceled those)
        assert all(ts < end_ns for ts in post_ts.get(cid, [])), m.slug
        for oid, ocid in order_market.items():
            if ocid == cid:
                assert oid in gone and gone[oid] <= end_ns + 2_000_000_000, (m.slug, oid)


def test_replay_of_the_run_matches_every_decision(rollover_run):
    tmp, rc, _, _ = rollover_run
    assert rc == 0
    proc = subprocess.run([sys.executable, str(ROOT / "bin" / "polymm"), "replay",
                           str(tmp / "events")], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "first divergence: none" in proc.stdout
