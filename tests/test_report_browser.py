"""``bin/polymm report``: the page, as a real browser (headless Chromium) sees it.

The report of the recorded dry run (``tests/test_backtest.py`` records it, once per session) is
opened with ``chromium --headless --dump-dom file://.../report.html``; from the DOM the browser
built: one ``<img>`` per figure (a market each, then inventory, cumulative PnL and markouts),
each a non-empty base64 PNG; every key number's cell equal to the value ``bin/polymm backtest
--json`` prints for the same log and ``--set``; and the embedded summary equal to that JSON.
Chromium comes from ``scripts/install-chromium.sh`` (Debian's ``chromium``); where it cannot be
installed, the test is skipped with the script's reason.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from bench.recording import Recording
from tests.e2e import REPO
from tests.test_backtest import shared_recording

CHROMIUM = "/usr/bin/chromium"
SETS = ["--set", "quoter.size_shares=8"]

# Element id → where the backtest's JSON holds the value (kept apart from polymm.report's own
# table, so a wrong path there fails here).
NUMBERS = {
    "fills": ("fills",),
    "volume-shares": ("volume", "shares"),
    "volume-usd": ("volume", "usd"),
    "pnl-total": ("pnl", "total_usd"),
    "pnl-spread": ("pnl", "spread_captured_usd"),
    "pnl-inventory": ("pnl", "inventory_usd"),
    "pnl-resolutions": ("pnl", "resolutions_usd"),
    "pnl-fees": ("pnl", "fees_usd"),
    "pnl-rebate": ("pnl", "rebate_estimate_usd"),
    "pnl-with-rebate": ("pnl", "total_with_rebate_usd"),
    "max-inventory": ("max_inventory_shares",),
    "quoting-fraction": ("quoting_fraction",),
    "markout-1s": ("markouts", "1s", "mean_pips"),
    "markout-10s": ("markouts", "10s", "mean_pips"),
    "markout-60s": ("markouts", "60s", "mean_pips"),
}


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Dom(HTMLParser):
    """What the checks read from the dumped DOM: images, cells by id, scripts by id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str]] = []
        self.text_by_id: dict[str, str] = {}
        self._open: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "img":
            self.images.append(a)
        if tag in VOID:  # no end tag follows
            return
        self._open.append(a.get("id"))
        if a.get("id"):
            self.text_by_id[a["id"]] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for ident in self._open:
            if ident:
                self.text_by_id[ident] += data


@pytest.fixture(scope="module")
def chromium() -> str:
    done = subprocess.run(["bash", str(REPO / "scripts" / "install-chromium.sh")],
                          capture_output=True, text=True, timeout=1200, check=False)
    if done.returncode == 3:
        pytest.skip(f"headless Chromium cannot be installed here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stdout + done.stderr
    return CHROMIUM


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    return shared_recording(tmp_path_factory)


def polymm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "bin" / "polymm"), *args], cwd=str(REPO),
                          capture_output=True, text=True, timeout=180, check=False)


def dump_dom(browser: str, page: Path, profile: Path) -> str:
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                           "--no-first-run", f"--user-data-dir={profile}", "--dump-dom",
                           page.as_uri()], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0 and "</html>" in done.stdout, done.stderr[-3000:]
    return done.stdout


def value_at(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        obj = obj[key]
    return obj


@pytest.mark.e2e
@pytest.mark.timeout(1500)  # its fixtures may install Chromium (apt) and record a dry run
def test_the_report_shows_every_figure_and_the_backtests_numbers(
        chromium: str, recording: Recording, tmp_path: Path) -> None:
    made = polymm("report", str(recording.events), "--out", str(tmp_path / "out"), *SETS)
    assert made.returncode == 0, made.stderr
    page = Path(made.stdout.strip())
    assert page == tmp_path / "out" / "report.html" and page.is_file()
    bt = polymm("backtest", str(recording.events), "--json", *SETS)
    assert bt.returncode == 0, bt.stderr
    expected = json.loads(bt.stdout)

    dom = Dom()
    dom.feed(dump_dom(chromium, page, tmp_path / "profile"))

    plots = [img for img in dom.images if "plot" in img.get("class", "").split()]
    want = [f"plot-market-{i}" for i in range(len(expected["markets"]))]
    want += ["plot-inventory", "plot-pnl", "plot-markouts"]
    assert [img.get("id") for img in plots] == want
    for img in plots:
        head, _, data = img["src"].partition(",")
        assert head == "data:image/png;base64" and data, img.get("id")
        png = base64.b64decode(data, validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000, img.get("id")
    assert dom.text_by_id["plot-count"] == str(len(want))

    for ident, path in NUMBERS.items():
        assert json.loads(dom.text_by_id[ident]) == value_at(expected, path), ident
    assert json.loads(dom.text_by_id["backtest-json"]) == expected
