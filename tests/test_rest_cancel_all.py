"""``polymm cancel-all`` against the fake CLOB: cancel, verify, exit status."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from polymm.cli import main
from tests.rest_fake import CREDS, PRIVATE_KEY, FakeClob, Seen
from tests.rest_fake import fake as fake  # the fixture


def _config(tmp_path: Path, url: str, mode: str = "paper") -> str:
    ws = "ws" + url[len("http"):]
    p = tmp_path / "cancel.yaml"
    p.write_text(textwrap.dedent(f"""\
        mode: {mode}
        venue:
          clob_url: '{url}'
          gamma_url: '{url}/gamma'
          market_ws_url: '{ws}/ws/market'
          user_ws_url: '{ws}/ws/user'
          polybolt_url: '{ws}/ws/prices'
          rtds_url: '{ws}/rtds'
          private_key: !ENV T_KEY
          api_key: !ENV T_API_KEY
          api_secret: !ENV T_API_SECRET
          api_passphrase: !ENV T_API_PASSPHRASE
        sim: {{enabled: false}}
        """))
    return str(p)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_KEY", PRIVATE_KEY)
    monkeypatch.setenv("T_API_KEY", CREDS.api_key)
    monkeypatch.setenv("T_API_SECRET", CREDS.secret)
    monkeypatch.setenv("T_API_PASSPHRASE", CREDS.passphrase)


def test_cancel_all_then_verify(fake: FakeClob, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    fake.on("DELETE", "/cancel-all", body={"canceled": ["0x1", "0x2"],
                                           "not_canceled": {"0x3": "already matched"}})
    fake.on("GET", "/data/orders", body={"data": [], "next_cursor": "LTE="})
    assert main(["cancel-all", "--config", _config(tmp_path, fake.url)]) == 0
    out = capsys.readouterr().out
    assert "canceled 2 order(s)" in out and "not canceled: 0x3: already matched" in out
    assert "0 order(s) still open" in out
    assert [(r.method, r.path) for r in fake.seen] == [("DELETE", "/cancel-all"),
                                                       ("GET", "/data/orders")]
    assert CREDS.secret not in out and CREDS.passphrase not in out


def test_cancel_one_market_and_orders_left_exit_1(fake: FakeClob, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    market = "0x" + "e" * 64

    def left(req: Seen) -> tuple[int, object, dict[str, str]]:
        assert req.query["market"] == [market]
        return 200, {"data": [{"id": "0x9", "side": "BUY", "price": "0.45",
                               "original_size": "10"}], "next_cursor": "LTE="}, {}

    fake.on("DELETE", "/cancel-market-orders", body={"canceled": [], "not_canceled": {}})
    fake.routes[("GET", "/data/orders")] = left
    assert main(["cancel-all", "--config", _config(tmp_path, fake.url), "--market", market]) == 1
    out = capsys.readouterr().out
    assert "1 order(s) still open" in out and "open: 0x9 BUY 0.45 x 10" in out


def test_live_config_needs_live_flag(fake: FakeClob, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cancel-all", "--config", _config(tmp_path, fake.url, mode="live")]) == 2
    assert "--live was not given" in capsys.readouterr().err
    assert fake.seen == []


def test_venue_errors_are_one_line(fake: FakeClob, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    fake.on("DELETE", "/cancel-all", status=503,
            body={"error": "Trading is currently disabled"})
    assert main(["cancel-all", "--config", _config(tmp_path, fake.url)]) == 1
    assert capsys.readouterr().err.strip() == ("polymm cancel-all: 503: Trading is currently "
                                               "disabled")
