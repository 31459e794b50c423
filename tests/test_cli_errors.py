"""Bad config, bad command-line arguments and bad event logs: one clear message, non-zero exit,
never a traceback (issue 6). Each case runs ``bin/polymm`` as a subprocess, because only a
real process shows what a user sees (an uncaught exception prints its traceback there).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from journal import encode_line
from polymm.cli import main
from polymm.config import load_config
from polymm.config_modes import is_loopback_url
from polymm.replay import params_record
from polymm.wiring import read_keystore

ROOT = Path(__file__).resolve().parent.parent
DEAD_URL = "http://127.0.0.1:9"  # discard port: nothing listens on loopback there


def polymm(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, str(ROOT / "bin" / "polymm"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})
    return proc.returncode, proc.stdout, proc.stderr


def assert_clear_error(rc: int, err: str, *needles: str) -> None:
    assert rc != 0
    assert "Traceback" not in err, err
    for n in needles:
        assert n in err, err
    # One message: a header line plus its items, or argparse's usage and error lines.
    assert 1 <= len([ln for ln in err.splitlines() if " INFO " not in ln]) <= 6, err


def start_line() -> bytes:
    cfg = load_config(env={})
    rec = params_record(cfg.quoter, cfg.risk, cfg.order_manager, "self")
    return encode_line(1, "start", "MainThread", rec)


def write_journal(directory: Path, *tail: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    p = directory / "events-1.jsonl"
    p.write_bytes(start_line() + b"".join(tail))
    return p


@pytest.mark.parametrize(("args", "needles"), [
    (("run", "--config", "/nonexistent/polymm.yaml"), ("configuration error", "no such file")),
    (("run", "--set", "quoter.half_spread_pips=0"),
     ("quoter.half_spread_pips: expected >= 1, got 0",)),
    (("run", "--set", "quoter.half_spred_pips=10"), ("did you mean 'half_spread_pips'",)),
    (("run", "--set", "=3"), ("expected KEY=VALUE",)),
    (("run", "--live"), ("mode: the config says mode: paper but --live was given",)),
    (("run", "--duration", "abc"), ("usage:", "invalid float value: 'abc'")),
    (("run", "--duration", "-1"), ("--duration: expected > 0",)),
    (("run", "--window-seconds", "3"), ("--window-seconds: expected >= 10",)),
    (("run", "--no-such-flag"), ("unrecognized arguments: --no-such-flag",)),
    (("frobnicate",), ("invalid choice: 'frobnicate'",)),
    (("replay",), ("the following arguments are required: path",)),
    (("replay", "/nonexistent/events"), ("no such file or directory",)),
    (("replay", ".", "--from", "yesterday"), ("--from: expected unix seconds or an ISO time",)),
    (("run", "--venue-url", DEAD_URL, "--duration", "1"),
     ("could not derive or create API credentials", "Connection refused")),
    (("run", "--venue-url", DEAD_URL, "--set", "event_log.dir=/proc/polymm-events"),
     ("event_log.dir: /proc/polymm-events: cannot create",)),
    (("cancel-all", "--venue-url", DEAD_URL), ("could not derive or create API credentials",)),
    (("bench", "no_such_scenario"), ("unknown scenario(s) no_such_scenario",)),
    # Paper mode never talks to a real venue (a throw-away key would get API keys there).
    (("run", "--venue-url", "https://clob.polymarket.com"),
     ("--venue-url: mode paper trades only against the simulated venue on loopback",
      "mode: live with --live")),
    (("cancel-all", "--venue-url", "http://10.1.2.3:8080"),
     ("--venue-url: mode paper trades only against the simulated venue on loopback",)),
    (("run", "--set", "venue.clob_url=https://clob.polymarket.com"),
     ("venue.clob_url: mode paper trades only against the simulated venue on loopback",
      "'https://clob.polymarket.com'")),
    (("run", "--set", "venue.market_ws_url=wss://ws-subscriptions-clob.polymarket.com/ws/market"),
     ("venue.market_ws_url: mode paper trades only against the simulated venue on loopback",)),
])
def test_bad_arguments_and_config_give_one_clear_error(tmp_path: Path, args: tuple[str, ...],
                                                       needles: tuple[str, ...]) -> None:
    rc, _, err = polymm(*args, cwd=ROOT)
    assert_clear_error(rc, err, *needles)


def test_a_bad_config_file_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("mode: paper\nquoter: [1\n")
    rc, _, err = polymm("run", "--config", str(bad), cwd=tmp_path)
    assert_clear_error(rc, err, f"{bad}:3:1: YAML error")
    rc, out, err = polymm("check-config", "--config", str(bad), cwd=tmp_path)
    assert out == ""
    assert_clear_error(rc, err, "1 problem", "YAML error")


def test_a_secret_written_in_the_config_is_refused_without_echoing_it(tmp_path: Path) -> None:
    secret = "0x" + "7d" * 32
    bad = tmp_path / "secret.yaml"
    bad.write_text(f"mode: paper\nvenue: {{private_key: '{secret}'}}\n")
    rc, out, err = polymm("check-config", "--config", str(bad), cwd=tmp_path)
    assert_clear_error(rc, err, "a secret cannot be written in the config file")
    assert secret not in out + err


@pytest.mark.parametrize(("content", "needles"), [
    (b"not a keystore\n", ("not a JSON keystore file",)),
    (b'{"crypto": {"cipher": 1}}', ("malformed keystore",)),
    (b'[1, 2]', ("not a keystore file",)),
])
def test_a_bad_keystore_is_one_config_error(tmp_path: Path, content: bytes,
                                            needles: tuple[str, ...]) -> None:
    ks = tmp_path / "key.json"
    ks.write_bytes(content)
    rc, _, err = polymm("run", "--venue-url", DEAD_URL, "--set", f"venue.keystore_path={ks}",
                        cwd=tmp_path, env={"POLYMM_KEYSTORE_PASSWORD": "pw-cli-errors-1"})
    assert_clear_error(rc, err, "venue.keystore_path", *needles)
    assert "pw-cli-errors-1" not in err


def test_keystore_round_trip_and_wrong_password(tmp_path: Path) -> None:
    from eth_account import Account

    key = "0x" + "3c" * 32
    ks = tmp_path / "key.json"
    ks.write_bytes(orjson.dumps(Account.encrypt(key, "right-pw", iterations=2)))
    assert read_keystore(str(ks), "right-pw") == key
    rc, _, err = polymm("run", "--venue-url", DEAD_URL, "--set", f"venue.keystore_path={ks}",
                        cwd=tmp_path, env={"POLYMM_KEYSTORE_PASSWORD": "wrong-pw"})
    assert_clear_error(rc, err, "wrong password")
    assert "wrong-pw" not in err and key[2:] not in err
    rc, _, err = polymm("check-config", "--set", f"venue.keystore_path={ks}", cwd=tmp_path,
                        env={"POLYMM_KEYSTORE_PASSWORD": ""})
    assert_clear_error(rc, err, "venue.keystore_password: required with keystore_path")


@pytest.mark.parametrize(("tail", "needles"), [
    (b"GARBAGE\n" + encode_line(2, "in", "State", 1), ("line 2 is corrupt", "JSONDecodeError")),
    (b"\x00\x01\xff\xfe\n" + encode_line(2, "in", "State", 1), ("line 2 is corrupt",)),
    (b"[1, 2]\n" + encode_line(2, "in", "State", 1), ("line 2 is corrupt", "TypeError")),
    (b'{"ts": 2, "k": "in"}\n' + encode_line(3, "in", "State", 1),
     ("line 2 is corrupt", "KeyError")),
    (b'{"ts":2,"k":"in","src":"State","v":{"_t":"BookSnapshot","token_id":"1"}}\n',
     ("line 2 is corrupt", "TypeError")),
    (b'{"ts":2,"k":"in","src":"State","v":{"_t":"BookSnapshot","token_id":"1",'
     b'"condition_id":"0x1","bids":[],"asks":[],"ts_event_ms":"x","ts_recv_ns":"y",'
     b'"hash":""}}\n', ("a record cannot be replayed",)),
])
def test_a_bad_event_log_is_one_clear_error(tmp_path: Path, tail: bytes,
                                            needles: tuple[str, ...]) -> None:
    write_journal(tmp_path / "events", tail)
    rc, _, err = polymm("replay", str(tmp_path / "events"), cwd=tmp_path)
    assert_clear_error(rc, err, *needles)


def test_event_log_errors_without_a_start_record_or_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    rc, _, err = polymm("replay", str(tmp_path / "empty"), cwd=tmp_path)
    assert_clear_error(rc, err, "no event log files")
    p = tmp_path / "nostart.jsonl"
    p.write_bytes(encode_line(1, "in", "State", 1))
    rc, _, err = polymm("replay", str(p), cwd=tmp_path)
    assert_clear_error(rc, err, "no 'start' record")


def test_a_torn_final_line_is_skipped_and_replay_passes(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    # What SIGKILL in the middle of a batch write leaves: a line cut short, no newline.
    full = encode_line(2, "in", "State", {"x": 1})
    write_journal(tmp_path / "events", full, full[: len(full) // 2])
    # The restarted run writes a new file in the same directory.
    (tmp_path / "events" / "events-2.jsonl").write_bytes(start_line() + full)
    assert main(["replay", str(tmp_path / "events")]) == 0
    out = capsys.readouterr().out
    assert "== run 2 of 2" in out and "torn final lines skipped: 1" in out
    assert "result: OK" in out


@pytest.mark.parametrize(("url", "loopback"), [
    ("http://127.0.0.1:8080", True), ("ws://127.3.4.5/ws/market", True),
    ("http://localhost:1", True), ("http://[::1]:80/gamma", True),
    ("https://clob.polymarket.com", False), ("http://10.0.0.1", False),
    ("http://127.0.0.1.example.com", False), ("http://[::2]:80", False), ("sim", False),
])
def test_loopback_urls(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback
