"""One short ``bin/polymm run`` against the simulated venue, then three checks on what it left:

* its log, written to ``logging.file``, holds the bot's log lines (the venue child's are only on
  stderr);
* the INFO lines of the per-message path (feeds, State, Quoter) stay a handful while the run
  carries hundreds of market messages: nothing logs at INFO per tick;
* a tampered event log makes ``bin/polymm replay`` name the first divergence and exit 1.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from journal import read_journal
from tests.e2e import REPO, BotRun, run_bot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LINE = re.compile(r"^\S+ \S+ (?P<level>[A-Z]+)\s+\[(?P<thread>[^\]]*)\] (?P<logger>[\w.]+): ")
MARKET_TYPES = {"BookSnapshot", "BookChange", "BestBidAsk", "LastTrade", "PriceUpdate",
                "TickSizeChanged"}
PER_MESSAGE_LOGGERS = ("actors.ws_feed", "actors.market_feed", "actors.user_feed",
                       "actors.price_feed", "actors.state", "actors.quoter", "trading.",
                       "venue.wire", "runtime.slot")
"""Loggers on the path every market message takes (feed reader, State, Quoter)."""
PER_MESSAGE_INFO_BUDGET = 15
"""Their lifecycle lines (connected, started, stopped ...), whatever the message count."""
MIN_MARKET_MESSAGES = 300


@pytest.fixture(scope="module")
def bot_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BotRun]:
    tmp = tmp_path_factory.mktemp("logrun")
    # Quoting for most of the run wherever in its 30 s window it starts (a late start quotes
    # the current window until 2 s before its close, then the next one).
    run = run_bot(["--duration", "10", "--window-seconds", "30", "--seed", "5",
                   "--set", "sim.noise_rate_per_s=40", "--set", "logging.status_interval_s=2",
                   "--set", "quoter.min_seconds_to_close=2",
                   "--set", f"logging.file={tmp / 'logs' / 'bot.log'}"], tmp, timeout_s=120)
    assert run.rc == 0, run.stderr[-3000:]
    assert run.summary["orders_posted"] > 0, "the run never quoted: nothing to replay"
    return tmp, run


def _log_lines(text: str) -> list[re.Match[str]]:
    return [m for m in map(LINE.match, text.splitlines()) if m]


def test_logging_file_holds_the_bots_log(bot_run: tuple[Path, BotRun]) -> None:
    tmp, run = bot_run
    path = tmp / "logs" / "bot.log"
    assert path.exists(), "logging.file was not written"
    text = path.read_text()
    in_file = [m.string for m in _log_lines(text)]
    bots_on_stderr = [m.string for m in _log_lines(run.stderr)
                      if not m["logger"].startswith("sim.")]
    # The same lines; two threads logging at once may reach the two handlers in either order.
    assert sorted(in_file) == sorted(bots_on_stderr)
    assert any("supervisor: duration of" in line for line in in_file)
    assert sum("INFO  [MainThread] polymm.supervisor: mode=" in line for line in in_file) >= 2


def test_no_info_line_per_market_message(bot_run: tuple[Path, BotRun]) -> None:
    tmp, _ = bot_run
    lines = _log_lines((tmp / "logs" / "bot.log").read_text())
    market = sum(1 for r in read_journal(tmp / "events")
                 if r.kind == "in" and type(r.value).__name__ in MARKET_TYPES)
    assert market >= MIN_MARKET_MESSAGES, f"too quiet a run to tell: {market} market messages"
    hot = [m.string for m in lines if m["level"] == "INFO"
           and m["logger"].startswith(PER_MESSAGE_LOGGERS)]
    assert len(hot) <= PER_MESSAGE_INFO_BUDGET, (market, hot[:40])
    info = [m for m in lines if m["level"] == "INFO"]
    assert len(info) * 10 <= market, (len(info), market)


def _replay(events: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "bin" / "polymm"), "replay", str(events)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def _tamper(src: Path, dst: Path, choose: Callable[[list[dict]], list[int]],
            change: Callable[[dict], None]) -> list[dict]:
    """Copy the journal, rewriting the records ``choose`` picks (indices into all of them, in
    log order) with ``change``, every other line byte for byte; returns the picked records as
    they were."""
    shutil.copytree(src, dst)
    files = sorted(dst.glob("events-*.jsonl"), key=lambda f: int(f.stem.split("-")[1]))
    lines = [(f, line) for f in files for line in f.read_bytes().splitlines(keepends=True)]
    records = [orjson.loads(line) for _, line in lines]
    picked = choose(records)
    before = [orjson.loads(lines[i][1]) for i in picked]
    for i in picked:
        change(records[i])
        lines[i] = (lines[i][0], orjson.dumps(records[i]) + b"\n")
    for f in files:
        f.write_bytes(b"".join(line for g, line in lines if g == f))
    return before


def test_replay_of_a_tampered_log_names_the_first_divergence(bot_run: tuple[Path, BotRun],
                                                              tmp_path: Path) -> None:
    tmp, _ = bot_run
    clean = _replay(tmp / "events")
    assert clean.returncode == 0 and "first divergence: none" in clean.stdout, clean.stdout

    def second_and_fourth_quoting(records: list[dict]) -> list[int]:
        quoting = [i for i, r in enumerate(records) if r["k"] == "quote" and r["v"]["quotes"]]
        return [quoting[1], quoting[3]]

    def one_tick_higher(rec: dict) -> None:
        rec["v"]["quotes"][0]["price_pips"] += 100

    changed = _tamper(tmp / "events", tmp_path / "quotes", second_and_fourth_quoting,
                      one_tick_higher)
    out = _replay(tmp_path / "quotes")
    assert out.returncode == 1, out.stdout + out.stderr
    first = changed[0]
    assert (f"first divergence: snapshot seq {first['v']['seq']} (logged at ts {first['ts']})"
            in out.stdout), out.stdout
    assert "result: DIVERGED" in out.stdout


def test_replay_of_a_tampered_order_decision_names_it(bot_run: tuple[Path, BotRun],
                                                       tmp_path: Path) -> None:
    tmp, _ = bot_run

    def first_pass_with_posts(records: list[dict]) -> list[int]:
        return [next(i for i, r in enumerate(records) if r["k"] == "order"
                     and r["v"].get("op") == "pass" and r["v"]["posts"])]

    def drop_a_post(rec: dict) -> None:
        rec["v"]["posts"] = rec["v"]["posts"][1:]  # a post the diff did make, gone

    changed = _tamper(tmp / "events", tmp_path / "orders", first_pass_with_posts, drop_a_post)
    out = _replay(tmp_path / "orders")
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"first divergence: order manager pass at ts {changed[0]['ts']}" in out.stdout, \
        out.stdout
    assert "result: DIVERGED" in out.stdout
