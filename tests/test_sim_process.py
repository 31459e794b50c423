"""The simulated venue starts, reports itself ready, and stops cleanly (no process, no port)."""

from __future__ import annotations

import signal
import socket
import subprocess

import pytest

from messages.errors import PolymmError
from sim.process import SimProcess
from tests.test_sim_support import BASE_ARGS, KEY_A, Client, current_market

pytestmark = pytest.mark.timeout(60)


def _port_open(base_url: str) -> bool:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex((host, int(port))) == 0


def test_starts_serves_and_stops_cleanly():
    sim = SimProcess([*BASE_ARGS, "--window-seconds", "120"])
    with sim:
        assert sim.base_url.startswith("http://127.0.0.1:")
        assert sim.ws_url == "ws://" + sim.base_url.removeprefix("http://")
        assert current_market(sim)["slug"].startswith("btc-updown-120s-")
        client = Client(sim, KEY_A)
        assert client.call("GET", "/data/orders").json()["next_cursor"] == "LTE="
        proc, base = sim.proc, sim.base_url
        assert proc is not None and sim.running()
    assert proc.returncode == 0  # SIGTERM → clean exit
    assert not _port_open(base)
    assert sim.stop() is None  # idempotent


def test_sigint_also_stops_cleanly():
    sim = SimProcess(BASE_ARGS).start()
    proc = sim.proc
    assert proc is not None
    try:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0
    except subprocess.TimeoutExpired:
        pytest.fail("the simulator ignored SIGINT")
    finally:
        sim.stop()


def test_bad_arguments_fail_start_up_without_leaving_a_process():
    sim = SimProcess(["--window-seconds", "1"], startup_timeout_s=20)
    with pytest.raises(PolymmError, match="exited during start-up"):
        sim.start()
    assert sim.proc is None


def test_unknown_fault_profile_fails_start_up():
    with pytest.raises(PolymmError):
        SimProcess(["--faults", "no-such-profile"], startup_timeout_s=20).start()
