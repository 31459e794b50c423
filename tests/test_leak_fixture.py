"""The leak fixture of ``tests/conftest.py`` fires: tests that leak on purpose, run by a pytest
in a subprocess with that very conftest, fail their teardown with the leak named; clean tests
pass.

The leaking tests run in another process because a leak is a failure there (and a leaked
non-daemon thread would hold this process open). The last test in the file releases the
threads the earlier ones left blocked, so the subprocess exits by itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

LEAKY = '''
import threading

import pykka

release = threading.Event()
entered_on_stop = threading.Event()


class Leaky(pykka.ThreadingActor):
    pass


class StuckOnStop(pykka.ThreadingActor):
    def on_stop(self):
        entered_on_stop.set()
        release.wait(60)


class Ticking(pykka.ThreadingActor):
    """Stops cleanly itself but leaves its helper thread running (a ticker that is never
    stopped)."""

    def on_start(self):
        threading.Thread(target=release.wait, args=(60,), name="Timer-forgotten",
                         daemon=True).start()


def test_leaks_an_actor():
    Leaky.start()


def test_leaks_a_daemon_thread():
    threading.Thread(target=release.wait, args=(60,), name="leaky-daemon", daemon=True).start()


def test_leaks_a_non_daemon_thread():
    threading.Thread(target=release.wait, args=(60,), name="leaky-worker").start()


def test_leaks_an_actor_thread_that_never_finishes_stopping():
    ref = StuckOnStop.start()
    ref.stop(block=False)
    assert entered_on_stop.wait(10)  # unregistered now, its thread still alive


def test_leaks_an_actor_helper_thread():
    Ticking.start().stop()


def test_clean_actor_and_thread():
    ref = Leaky.start()
    assert ref.is_alive()
    ref.stop()
    done = threading.Event()
    t = threading.Thread(target=done.wait, args=(60,), name="clean-worker")
    t.start()
    done.set()  # the thread is still finishing at teardown: the grace join waits for it


def test_release_everything():
    # Threads left by the tests above were there before this one: not blamed on it.
    release.set()
    for t in threading.enumerate():
        if t is not threading.current_thread() and not t.daemon and t.name != "MainThread":
            t.join(10)
'''

EXPECTED_LEAKS = {
    "test_leaks_an_actor": "leak: actors left running: Leaky (urn:uuid:",
    "test_leaks_a_daemon_thread": "leak: threads left running: leaky-daemon (thread, daemon=True)",
    "test_leaks_a_non_daemon_thread":
        "leak: threads left running: leaky-worker (thread, daemon=False)",
    "test_leaks_an_actor_thread_that_never_finishes_stopping":
        "leak: threads left running: StuckOnStop-",
    "test_leaks_an_actor_helper_thread":
        "leak: threads left running: Timer-forgotten (thread, daemon=True)",
}
CLEAN = ("test_clean_actor_and_thread", "test_release_everything")


def _run_leaky(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_leaky.py").write_text(LEAKY)
    report = tmp_path / "report.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout=60",
         f"--junitxml={report}", "test_leaky.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "POLYMM_TEST_LEAK_GRACE_S": "1"})
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        bad = [c for c in case if c.tag in ("error", "failure")]
        outcomes[case.get("name", "")] = (
            "passed" if not bad else " ".join((c.get("message") or "") + (c.text or "")
                                              for c in bad))
    return proc, outcomes


def test_leaking_tests_fail_with_the_leak_named_and_clean_ones_pass(tmp_path: Path) -> None:
    proc, outcomes = _run_leaky(tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert set(outcomes) == set(EXPECTED_LEAKS) | set(CLEAN), out
    for name, message in EXPECTED_LEAKS.items():
        assert message in outcomes[name], (name, outcomes[name])
    # The actor-thread case names the thread as an actor's (found by its target, not its name).
    assert "(actor StuckOnStop (urn:uuid:" in \
        outcomes["test_leaks_an_actor_thread_that_never_finishes_stopping"]
    for name in CLEAN:
        assert outcomes[name] == "passed", (name, outcomes[name], out)
    assert f"{len(EXPECTED_LEAKS)} errors" in out, out
