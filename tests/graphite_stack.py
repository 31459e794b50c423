"""A real carbon-cache and graphite-web on 127.0.0.1 for the metrics tier (no tests here).

:func:`install` runs ``scripts/install-graphite.sh`` (Debian's graphite-carbon and graphite-web;
a quick check when they are there) and says why the tier must be skipped when they cannot be
installed on this machine. :class:`GraphiteStack` writes a carbon and a graphite-web config
into a directory of its own (the test's temp dir: whisper files, logs and sqlite db stay there),
starts both through ``tests/graphite_run.py`` on the system python, and waits for them: carbon's
plaintext and cache-query ports on free loopback ports, graphite-web on a port it picks. Both
stop with :meth:`GraphiteStack.stop`, when this process dies (their stdin is a pipe from it),
or after ``lifetime_s``.

Thread ownership: one test thread drives a stack (start, render, find, stop).
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import IO, Any

from tests.loopback_http import free_port

ROOT = Path(__file__).resolve().parent.parent
INSTALL_SCRIPT = ROOT / "scripts" / "install-graphite.sh"
RUNNER = Path(__file__).resolve().with_name("graphite_run.py")
SYSTEM_PYTHON = "/usr/bin/python3"
CANNOT_INSTALL = 3  # install-graphite.sh: not installable on this machine
INSTALL_TIMEOUT_S = 900.0
HTTP_TIMEOUT_S = 10.0


def install() -> str | None:
    """Install Graphite if needed. None when it is there; else why the tier is skipped.

    A script that installed the packages but left them broken is a failure, not a skip.
    """
    proc = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True,
                          timeout=INSTALL_TIMEOUT_S, check=False)
    if proc.returncode == CANNOT_INSTALL:
        why = (proc.stderr.strip().splitlines() or ["no reason given"])[-1]
        return f"Graphite tier skipped: {why}"
    if proc.returncode != 0:
        raise RuntimeError(f"install-graphite.sh failed ({proc.returncode}):\n"
                           f"{proc.stdout}{proc.stderr}")
    return None


CARBON_CONF = """\
[cache]
STORAGE_DIR = {storage}
LOCAL_DATA_DIR = {whisper}
WHITELISTS_DIR = {storage}/lists
LOG_DIR = {storage}/log/carbon
PID_DIR = {storage}
ENABLE_LOGROTATION = False
DATABASE = whisper
# A test run creates a few hundred series at once: no create/update throttling.
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = {line_port}
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = {pickle_port}
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = {query_port}
# Tags would be posted to a graphite-web on port 80; carbon's own metrics are not queried.
ENABLE_TAGS = False
CARBON_METRIC_INTERVAL = 0
ENABLE_MANHOLE = False
ENABLE_AMQP = False
USE_FLOW_CONTROL = True
LOG_UPDATES = False
LOG_CREATES = False
LOG_CACHE_HITS = False
LOG_CACHE_QUEUE_SORTS = False
CACHE_WRITE_STRATEGY = sorted
"""

# One archive at the StatsD daemon's flush interval (the README's rule: the finest retention
# equals flushInterval), long enough for the dashboard's default range.
SCHEMAS = """\
[polymm]
pattern = .*
retentions = {retention}
"""

AGGREGATION = """\
[default]
pattern = .*
xFilesFactor = 0
aggregationMethod = average
"""

WEB_SETTINGS = """\
# graphite-web's local_settings for one test run (written by tests/graphite_stack.py).
SECRET_KEY = "polymm-test-only"
STORAGE_DIR = {storage!r}
WHISPER_DIR = {whisper!r}
STANDARD_DIRS = [{whisper!r}]
CONF_DIR = {conf!r}
LOG_DIR = {storage!r} + "/log/webapp"
INDEX_FILE = {storage!r} + "/index"
LOG_ROTATION = False
DEFAULT_XFILES_FACTOR = 0
CARBONLINK_HOSTS = ["127.0.0.1:{query_port}"]
DATABASES = {{"default": {{"NAME": {storage!r} + "/graphite.db",
                          "ENGINE": "django.db.backends.sqlite3"}}}}
"""


class GraphiteStack:
    """carbon-cache and graphite-web for one test module, under ``root``.

    Args:
        root: an empty directory for config, whisper files and logs.
        retention: the whisper schema (``1s:2h`` with a 1 s StatsD flush).
        lifetime_s: both processes stop by themselves after this long.
    """

    def __init__(self, root: Path, *, retention: str = "1s:2h",
                 lifetime_s: float = 900.0) -> None:
        self.root = root
        self.retention = retention
        self.lifetime_s = lifetime_s
        self.line_port = 0
        self.query_port = 0
        self.url = ""
        self._procs: list[tuple[str, subprocess.Popen[bytes], IO[bytes]]] = []

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, timeout_s: float = 60.0) -> GraphiteStack:
        deadline = time.monotonic() + timeout_s
        try:
            conf = self._write_config()
            carbon = self._spawn("carbon", ["carbon", "--config", str(conf / "carbon.conf")])
            self._read_ready("carbon", carbon, deadline)
            web = self._spawn("web", ["web", "--settings-dir", str(self.root / "web")])
            port = self._read_ready("web", web, deadline)
            self.url = f"http://127.0.0.1:{port}"
            for port in (self.line_port, self.query_port):
                self._wait_port("carbon", carbon, port, deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        procs, self._procs = self._procs, []
        for _, proc, _ in reversed(procs):
            if proc.stdin is not None:
                proc.stdin.close()  # the leash: the runner stops its process
        for _, proc, log in reversed(procs):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()
            log.close()

    def __enter__(self) -> GraphiteStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _write_config(self) -> Path:
        storage, conf, web = self.root / "storage", self.root / "conf", self.root / "web"
        whisper = storage / "whisper"
        for d in (whisper, storage / "log" / "webapp", storage / "lists", conf, web):
            d.mkdir(parents=True, exist_ok=True)
        self.line_port, pickle_port, self.query_port = free_port(), free_port(), free_port()
        (conf / "carbon.conf").write_text(CARBON_CONF.format(
            storage=storage, whisper=whisper, line_port=self.line_port,
            pickle_port=pickle_port, query_port=self.query_port))
        (conf / "storage-schemas.conf").write_text(SCHEMAS.format(retention=self.retention))
        (conf / "storage-aggregation.conf").write_text(AGGREGATION)
        (web / "polymm_graphite_settings.py").write_text(WEB_SETTINGS.format(
            storage=str(storage), whisper=str(whisper), conf=str(web),
            query_port=self.query_port))
        return conf

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(RUNNER), *args, "--lifetime-s", str(self.lifetime_s)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd=str(self.root),
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"})
        self._procs.append((name, proc, log))
        return proc

    def _read_ready(self, name: str, proc: subprocess.Popen[bytes], deadline: float) -> int:
        out = proc.stdout
        assert out is not None
        buf = b""
        with selectors.DefaultSelector() as sel:
            sel.register(out, selectors.EVENT_READ)
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"graphite {name} not ready in time:\n{self.log_tail()}")
                if not sel.select(left):
                    continue
                chunk = os.read(out.fileno(), 4096)
                if not chunk:
                    raise RuntimeError(f"graphite {name} exited during start-up "
                                       f"({proc.wait(5)}):\n{self.log_tail()}")
                buf += chunk
        line = buf.split(b"\n", 1)[0].decode()
        if not line.startswith("READY "):
            raise RuntimeError(f"graphite {name} said {line!r}:\n{self.log_tail()}")
        return int(line.split()[1])

    def _wait_port(self, name: str, proc: subprocess.Popen[bytes], port: int,
                   deadline: float) -> None:
        pause = threading.Event()
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"graphite {name} exited ({proc.returncode}):\n"
                                   f"{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"graphite {name}: port {port} not open in time:\n"
                                   f"{self.log_tail()}")
            pause.wait(0.1)

    def alive(self) -> str:
        """'' while both run; else which one exited, with the logs."""
        for name, proc, _ in self._procs:
            if proc.poll() is not None:
                return f"graphite {name} exited ({proc.returncode}):\n{self.log_tail()}"
        return ""

    def log_tail(self, n: int = 2500) -> str:
        parts = []
        for name in ("carbon", "web"):
            path = self.root / f"{name}.log"
            if path.exists():
                parts.append(f"--- {name}.log\n{path.read_text(errors='replace')[-n:]}")
        for path in sorted((self.root / "storage" / "log").rglob("*.log")):
            text = path.read_text(errors="replace")
            if "exception" in path.name and text:
                parts.append(f"--- {path.name}\n{text[-n:]}")
        return "\n".join(parts)

    # -- graphite-web's HTTP API ---------------------------------------------------------------

    def _get(self, path: str, params: list[tuple[str, str]]) -> Any:
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as resp:
            return json.loads(resp.read())

    def render(self, target: str, frm: str = "-1h", until: str = "now") -> list[dict[str, Any]]:
        """``/render?format=json``: ``[{"target", "datapoints": [[value|None, ts], ...]}]``."""
        series: list[dict[str, Any]] = self._get("/render", [
            ("target", target), ("from", frm), ("until", until), ("format", "json")])
        return series

    def find(self, query: str) -> list[str]:
        """``/metrics/find``: the names (last segments) a Grafana query variable lists."""
        nodes: list[dict[str, Any]] = self._get("/metrics/find", [("query", query)])
        return sorted(str(n["text"]) for n in nodes)

    def index(self) -> list[str]:
        """``/metrics/index.json``: every series graphite-web can read."""
        names: list[str] = self._get("/metrics/index.json", [])
        return names


def non_null(series: list[dict[str, Any]]) -> int:
    """How many non-null data points a render reply holds."""
    return sum(1 for s in series for v, _ in s.get("datapoints", []) if v is not None)
