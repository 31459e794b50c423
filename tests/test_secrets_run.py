"""Secrets never leak: run the bot with known dummy secrets and grep everything it produced.

The signing key sits in an encrypted keystore file whose password comes from the environment
(``venue.keystore_path`` + ``keystore_password: !ENV POLYMM_KEYSTORE_PASSWORD``); the API
key, secret and passphrase are derived from the simulated venue with L1 auth at start, and the
test derives the same ones beforehand to know what to look for. The run logs at DEBUG with raw
frame logging on for every feed (the user and PolyBolt auth frames must show redacted), sends
StatsD to a UDP socket the test binds, and writes its event log and summary. None of the secrets
may appear in stdout, stderr, the event log files, the summary, the StatsD datagrams, nor in
``check-config`` output.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from sim.process import SimProcess
from venue.rest import ClobClient

ROOT = Path(__file__).resolve().parent.parent
KEY = "0x" + "6b1d" * 16  # dummy: only ever signs for the simulated venue
KEYSTORE_PASSWORD = "ks-pass-9f83c1d2e7"
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


class UdpSink:
    """Collects every datagram sent to a loopback UDP port until stopped."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.data: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="udp-sink", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.data.append(self.sock.recv(65536))
            except TimeoutError:
                continue
            except OSError:
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimProcess]:
    with open(tmp_path / "sim.err", "wb") as err:
        proc = SimProcess(["--window-seconds", "120", "--seed", "9", "--assets", "btc",
                           "--noise-rate", "10"], stderr=err).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def udp() -> Iterator[UdpSink]:
    sink = UdpSink()
    try:
        yield sink
    finally:
        sink.stop()


def secrets_of(sim: SimProcess) -> dict[str, str]:
    """Every secret of the run, as it could appear in text."""
    from eth_account import Account

    l1 = ClobClient(sim.base_url, address=Account.from_key(KEY).address, creds=None)
    try:
        creds = l1.derive_api_key(KEY)
    finally:
        l1.close()
    return {"private key": KEY[2:].lower(), "private key (upper)": KEY[2:].upper(),
            "keystore password": KEYSTORE_PASSWORD, "api key": creds.api_key,
            "api secret": creds.secret, "api passphrase": creds.passphrase}


def assert_clean(name: str, blob: bytes, secrets: dict[str, str]) -> None:
    for what, value in secrets.items():
        assert value.encode() not in blob, f"the {what} appears in {name}"


def test_no_secret_in_any_output(sim: SimProcess, udp: UdpSink, tmp_path: Path) -> None:
    from eth_account import Account

    secrets = secrets_of(sim)
    keystore = tmp_path / "keystore.json"
    keystore.write_bytes(orjson.dumps(Account.encrypt(KEY, KEYSTORE_PASSWORD, iterations=2)))
    events = tmp_path / "events"
    summary = tmp_path / "summary.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "POLYMM_KEYSTORE_PASSWORD": KEYSTORE_PASSWORD}
    env.pop("POLYMM_PRIVATE_KEY", None)
    sets = [f"venue.keystore_path={keystore}", f"event_log.dir={events}",
            "statsd.enabled=true", f"statsd.port={udp.port}", "statsd.flush_interval_s=0.2",
            "logging.level=DEBUG", "logging.status_interval_s=2",
            "quoter.min_seconds_to_close=5",
            "market_feed.raw_log_sample=1", "user_feed.raw_log_sample=1",
            "price_feed.raw_log_sample=1"]
    cmd = [sys.executable, str(ROOT / "bin" / "polymm"), "run", "--venue-url", sim.base_url,
           "--duration", "12", "--summary", str(summary)]
    for s in sets:
        cmd += ["--set", s]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=90, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:].decode(errors="replace")

    # The run really did what the grep relies on: raw frames logged, auth frames redacted,
    # orders placed (so the user channel carried our own orders), metrics sent.
    err = proc.stderr
    assert b"polymm.raw.user" in err and b"polymm.raw.market" in err
    assert b'"auth":"********"' in err
    assert orjson.loads(summary.read_bytes())["orders_posted"] > 0
    assert udp.data
    files = sorted(events.glob("events-*.jsonl"))
    assert files and any(b'"OrderEvent"' in f.read_bytes() for f in files)

    assert_clean("stdout", proc.stdout, secrets)
    assert_clean("stderr", err, secrets)
    assert_clean("the run summary", summary.read_bytes(), secrets)
    for f in files:
        assert_clean(f"event log {f.name}", f.read_bytes(), secrets)
    assert_clean("StatsD datagrams", b"\n".join(udp.data), secrets)
    assert_clean("the simulated venue's log", (tmp_path / "sim.err").read_bytes(), secrets)

    # check-config shows the resolved config with secrets masked, for either way of giving
    # the key.
    for extra_env, extra_args in (
            ({"POLYMM_KEYSTORE_PASSWORD": KEYSTORE_PASSWORD},
             ["--set", f"venue.keystore_path={keystore}"]),
            ({"POLYMM_PRIVATE_KEY": KEY}, [])):
        out = subprocess.run([sys.executable, str(ROOT / "bin" / "polymm"), "check-config",
                              *extra_args], cwd=ROOT, capture_output=True, timeout=60,
                             env={**env, **extra_env})
        assert out.returncode == 0, out.stderr.decode(errors="replace")
        assert b"'********'" in out.stdout
        assert_clean("check-config output", out.stdout + out.stderr, secrets)
