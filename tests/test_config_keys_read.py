"""Config keys that were validated but read by nothing: ``logging.file`` now writes the log
there; ``quoter.strategy`` is gone (the strategy is the market's) and a config that still sets
it is told so, instead of being silently ignored.
"""

from __future__ import annotations

import faulthandler
import logging
import signal
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from messages.errors import ConfigError
from polymm.commands.run import redact_logs, setup_logging
from polymm.config import load_config
from tests.fakes import FakeCreds

ROOT = Path(__file__).resolve().parent.parent


# -- quoter.strategy ------------------------------------------------------------------------


def test_quoter_strategy_in_a_config_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    conf = tmp_path / "polymm.yaml"
    conf.write_text("mode: paper\nquoter:\n  strategy: bands\n  half_spread_pips: 150\n")
    with pytest.raises(ConfigError) as info:
        load_config(conf, env={})
    (error,) = info.value.errors
    assert error.startswith("quoter.strategy: no longer a setting: the strategy is per market")
    assert "discovery.slugs[].strategy" in error


def test_quoter_strategy_override_is_refused_too() -> None:
    with pytest.raises(ConfigError, match=r"quoter\.strategy: no longer a setting"):
        load_config(env={}, overrides={"quoter.strategy": "updown"})


def test_shipped_configs_load_and_have_no_quoter_strategy() -> None:
    cfg = load_config(env={})
    assert not hasattr(cfg.quoter, "strategy")
    assert "strategy" not in (ROOT / "conf" / "live.yaml").read_text().split("quoter:")[1] \
        .split("\n\n")[0]


# -- logging.file ---------------------------------------------------------------------------


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Undo what ``setup_logging``/``redact_logs`` do to this process's root logger."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    filters = {h: list(h.filters) for h in handlers}
    try:
        yield
    finally:
        for h in list(root.handlers):
            if h not in handlers:
                root.removeHandler(h)
                h.close()
        for h, fs in filters.items():
            h.filters[:] = fs
        root.setLevel(level)
        faulthandler.unregister(signal.SIGUSR1)


def _cfg(file: str | None) -> types.SimpleNamespace:
    return types.SimpleNamespace(logging=types.SimpleNamespace(level="INFO", file=file))


def test_logging_file_gets_every_line_in_the_bots_format_secrets_masked(
        tmp_path: Path, root_logging: None) -> None:
    path = tmp_path / "var" / "logs" / "polymm.log"  # its directory does not exist yet
    setup_logging(_cfg(str(path)))
    creds = FakeCreds()
    redact_logs(types.SimpleNamespace(creds=creds))  # what run does right after
    log = logging.getLogger("polymm.test")
    log.warning("venue said: bad key %s", creds.api_key)
    log.info("an info line")
    text = path.read_text()
    assert "WARNING [MainThread] polymm.test: venue said: bad key ********" in text
    assert "INFO  [MainThread] polymm.test: an info line" in text
    assert creds.api_key not in text


def test_logging_file_appends_to_what_is_there(tmp_path: Path, root_logging: None) -> None:
    path = tmp_path / "polymm.log"
    path.write_text("earlier run\n")
    setup_logging(_cfg(str(path)))
    logging.getLogger("polymm.test").warning("this run")
    lines = path.read_text().splitlines()
    assert lines[0] == "earlier run" and lines[-1].endswith("polymm.test: this run")


def test_unwritable_logging_file_is_a_config_error_naming_the_key(
        tmp_path: Path, root_logging: None) -> None:
    with pytest.raises(ConfigError, match=r"logging\.file: .*: cannot open for appending"):
        setup_logging(_cfg(str(tmp_path)))  # a directory


def test_run_with_an_unwritable_logging_file_stops_before_starting_anything(
        tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bin" / "polymm"), "run",
                           "--set", f"logging.file={tmp_path}",
                           "--set", f"event_log.dir={tmp_path / 'events'}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "logging.file:" in proc.stderr and "cannot open for appending" in proc.stderr
    assert "Traceback" not in proc.stderr and "simulated venue" not in proc.stderr
