"""Ctrl-C in a terminal: the whole foreground process group gets SIGINT at once.

``bin/polymm run`` starts its simulated venue as a child. The venue must survive the group's
SIGINT so that the bot's shutdown (cancel-all, read-back) still has a venue to talk to, and it
must still die when the bot is SIGKILLed (no orphan left serving a port).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import series_override, wait_until

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
SIM_AT = re.compile(r"simulated venue at (http://127\.0\.0\.1:\d+)")


class Bot:
    """``bin/polymm run`` in a session of its own, as a shell puts a foreground job."""

    def __init__(self, tmp: Path) -> None:
        self.summary = tmp / "summary.json"
        self.err_path = tmp / "stderr.txt"
        cmd = [sys.executable, str(ROOT / "bin" / "polymm"), "run", "--summary",
               str(self.summary), "--window-seconds", "120", "--seed", "5",
               "--set", f"event_log.dir={tmp / 'events'}", "--set", "statsd.enabled=false",
               "--set", "sim.assets=[btc]", "--set", series_override(120)]
        self._err = self.err_path.open("wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._err,
                                     start_new_session=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def sim_url(self) -> str:
        def found() -> str | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"the bot exited early:\n{self.stderr()[-3000:]}")
            m = SIM_AT.search(self.stderr())
            return m.group(1) if m else None
        url: str = wait_until(found, 60, "the bot starts its simulated venue")
        return url

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._err.close()


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    b = Bot(tmp_path)
    try:
        yield b
    finally:
        b.close()


def sim_state(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/_sim/state", timeout=5) as resp:
        state: dict[str, Any] = json.loads(resp.read())
    return state


def open_at_venue(url: str) -> int:
    return sum(int(v.get("count", 0)) for v in sim_state(url).get("open_orders", {}).values())


def sim_pid_of(bot_pid: int) -> int:
    """The bot's one child process (the simulated venue), from /proc."""
    kids = [int(p) for t in Path(f"/proc/{bot_pid}/task").iterdir()
            for p in (t / "children").read_text().split()]
    assert len(kids) == 1, kids
    return kids[0]


def gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")  # a zombie no longer serves


def test_sigint_to_the_whole_group_stops_gracefully(bot: Bot) -> None:
    url = bot.sim_url()
    wait_until(lambda: open_at_venue(url) > 0, 60, "orders resting at the venue")
    sim_pid = sim_pid_of(bot.proc.pid)
    os.killpg(bot.proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    try:
        rc = bot.proc.wait(10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"no graceful stop within 10 s of Ctrl-C:\n{bot.stderr()[-3000:]}")
    summary = json.loads(bot.summary.read_text())
    assert rc == 0, bot.stderr()[-3000:]
    assert summary["open_orders_after_shutdown"] == 0
    assert summary["venue_open_orders"] == 0
    assert "reconnecting" not in bot.stderr()
    assert gone(sim_pid), "the bot left its simulated venue running"


def test_sigkilled_bot_takes_its_venue_down(bot: Bot) -> None:
    url = bot.sim_url()
    wait_until(lambda: sim_state(url), 30, "the venue answers")
    sim_pid = sim_pid_of(bot.proc.pid)
    bot.proc.kill()  # only the bot: its venue lives in a session of its own
    bot.proc.wait(10)
    wait_until(lambda: gone(sim_pid), 15, "the orphaned venue stops")
