"""``bin/polymm bench --profile``: py-spy's folded stacks summarised into own and inclusive
CPU shares, and a real profiled run of a scenario (timings never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.profile import summarize

ROOT = Path(__file__).resolve().parent.parent

FOLDED = [
    "<module> (bin/polymm:28);run (bench/sign.py:40);sign (venue/orders.py:120) 6\n",
    "<module> (bin/polymm:28);run (bench/sign.py:41);sign (venue/orders.py:125) 2\n",
    "<module> (bin/polymm:28);run (bench/sign.py:44);digest (venue/eip712.py:80) 2\n",
    "_bootstrap (threading.py:995);Thread.run (threading.py:975);_loop (actors/x.py:9) 10\n",
    "_bootstrap (threading.py:995);Thread.run (threading.py:975);Condition.wait "
    "(threading.py:320) 80\n",
    "not a folded line\n",
]


def test_summarize_counts_functions_not_lines() -> None:
    s = summarize(FOLDED, top=10)
    assert s["samples"] == 20 and s["waiting_pct"] == 80.0
    assert s["own_pct"] == [["_loop (actors/x.py)", 50.0], ["sign (venue/orders.py)", 40.0],
                            ["digest (venue/eip712.py)", 10.0]]
    inclusive = dict((name, pct) for name, pct in s["inclusive_pct"])
    assert inclusive["run (bench/sign.py)"] == 50.0
    assert inclusive["sign (venue/orders.py)"] == 40.0
    assert s["threads_pct"] == [["main thread", 50.0], ["_loop (actors/x.py)", 50.0]]


def test_summarize_of_nothing_is_empty() -> None:
    assert summarize([]) == {"samples": 0, "waiting_pct": 0.0, "own_pct": [],
                             "inclusive_pct": [], "threads_pct": []}


def test_profiled_decode_run_writes_folded_stacks_and_a_summary(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "polymm"), "bench", "decode", "--repeats", "1",
         "--json", "--profile", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    obj = json.loads(proc.stdout.strip().splitlines()[-1])
    assert obj["scenario"] == "decode:profile"
    assert (tmp_path / "decode.folded").stat().st_size > 0
    assert obj["samples"] > 0 and obj["own_pct"] and obj["inclusive_pct"]
    # The scenario's own figures come through, and the decoder shows up in the profile.
    assert json.loads(obj["figures"])["scenario"] == "decode"
    assert any("venue/wire" in name for name, _ in obj["inclusive_pct"])
