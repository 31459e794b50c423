"""``polymm check-config``: the resolved config (secrets masked) or every error, exit 0 / 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from polymm.cli import main
from polymm.config import REPO_ROOT

KEY = "0x" + "cd" * 32


def test_default_config_prints_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# ") and ": OK\n" in out
    assert "\nmode: paper\n" in out and "window_seconds: 120" in out


def test_live_config_masks_secrets(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("POLYMM_PRIVATE_KEY", KEY)
    monkeypatch.setenv("POLYMM_API_KEY", "api-key-1")
    monkeypatch.setenv("POLYMM_API_SECRET", "c2VjcmV0LXNlY3JldA==")
    monkeypatch.setenv("POLYMM_API_PASSPHRASE", "passphrase-1")
    assert main(["check-config", "--config", str(REPO_ROOT / "conf" / "live.yaml")]) == 0
    out = capsys.readouterr().out
    assert "private_key: '********'" in out and "api_secret: '********'" in out
    for secret in (KEY, "c2VjcmV0LXNlY3JldA==", "passphrase-1", "api-key-1"):
        assert secret not in out


def test_errors_are_all_printed_and_exit_1(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("mode: paper\nquoter: {half_spread_pips: 0, sizee_shares: 3}\n")
    assert main(["check-config", "--config", str(p)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"{p}: 2 problems:",
        "  quoter.half_spread_pips: expected >= 1, got 0",
        "  quoter.sizee_shares: unknown key (did you mean 'size_shares'?)",
    ]


def test_override_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--set", "sim.seed=42", "--set", "quoter.taper=false"]) == 0
    out = capsys.readouterr().out
    assert "seed: 42" in out and "taper: false" in out
    assert main(["check-config", "--set", "sim.seed"]) == 1
    assert "expected KEY=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize(("content", "expected"), [
    (None, "no such file"),
    ("mode: paper\nquoter: [\n", "bad.yaml:3:1: YAML error"),
])
def test_unreadable_or_broken_file_is_one_message(tmp_path: Path, content: str | None,
                                                  expected: str) -> None:
    p = tmp_path / "bad.yaml"
    if content is not None:
        p.write_text(content)
    r = subprocess.run([sys.executable, str(REPO_ROOT / "bin" / "polymm"), "check-config",
                        "--config", str(p)], capture_output=True, text=True, timeout=60,
                       check=False)
    assert r.returncode == 1
    assert expected in r.stderr and "Traceback" not in r.stderr and r.stdout == ""
