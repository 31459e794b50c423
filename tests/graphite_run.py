"""Runs one Graphite process for the metrics tier, on the SYSTEM python (not the project venv).

Debian's graphite-web and carbon live in /usr/lib/python3/dist-packages, so
``tests/graphite_stack.py`` starts this file with ``/usr/bin/python3``; it imports nothing of
the project's. Two commands:

* ``web --settings-dir D --host H``: graphite-web's WSGI app on ``H`` and a free port, served
  by ``wsgiref`` (one request at a time is all a test needs). Prints ``READY <port>``.
  ``D`` holds ``polymm_graphite_settings.py``, which graphite-web imports as its
  ``local_settings`` (``GRAPHITE_SETTINGS_MODULE``): storage, carbonlink, logs, all per run.
* ``carbon --config C``: ``carbon-cache --debug`` (foreground) with config file ``C``, as a
  child. Prints ``READY <pid>`` once started; the test waits for its ports itself.

Either stops when its standard input closes (the test's end of the pipe: also when the test
process is SIGKILLed), after ``--lifetime-s``, or on SIGTERM; ``carbon`` also when carbon-cache
exits. Thread ownership: the main thread serves (web) or waits on the child (carbon); one
watcher thread reads stdin.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

CARBON_CACHE = "/usr/bin/carbon-cache"
KILL_AFTER_S = 5.0


def _leash(stop: Callable[[], None], lifetime_s: float) -> None:
    """Call ``stop`` when stdin reaches EOF or ``lifetime_s`` passes, whichever is first."""
    def on_eof() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except OSError:
            pass
        stop()

    threading.Thread(target=on_eof, name="leash-stdin", daemon=True).start()
    timer = threading.Timer(lifetime_s, stop)
    timer.daemon = True
    timer.start()


def _web(args: argparse.Namespace) -> int:
    sys.path.insert(0, args.settings_dir)
    os.environ["GRAPHITE_SETTINGS_MODULE"] = "polymm_graphite_settings"
    os.environ["DJANGO_SETTINGS_MODULE"] = "graphite.settings"
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    import django  # type: ignore[import-not-found]
    from django.core.management import call_command  # type: ignore[import-not-found]

    django.setup()
    # /metrics/find (the dashboard's template variables) reads the user tables: a fresh
    # sqlite db per run needs them created.
    call_command("migrate", run_syncdb=True, interactive=False, verbosity=0)
    from graphite.wsgi import application  # type: ignore[import-not-found]

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *a: Any) -> None:
            pass  # one line per render request is noise in the test's log

    server = make_server(args.host, 0, application, handler_class=Quiet)
    # shutdown() blocks until serve_forever returns: call it off the serving thread.
    def stop() -> None:
        threading.Thread(target=server.shutdown, name="web-stop", daemon=True).start()

    _leash(stop, args.lifetime_s)
    signal.signal(signal.SIGTERM, lambda *_: stop())
    print(f"READY {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


def _carbon(args: argparse.Namespace) -> int:
    env = {**os.environ, "GRAPHITE_ROOT": os.path.dirname(os.path.abspath(args.config))}
    child = subprocess.Popen([CARBON_CACHE, f"--config={args.config}", "--debug", "start"],
                             env=env, stdin=subprocess.DEVNULL)
    done = threading.Event()

    def stop() -> None:
        if not done.is_set() and child.poll() is None:
            child.terminate()
            killer = threading.Timer(KILL_AFTER_S, child.kill)
            killer.daemon = True
            killer.start()

    _leash(stop, args.lifetime_s)
    signal.signal(signal.SIGTERM, lambda *_: stop())
    print(f"READY {child.pid}", flush=True)
    try:
        rc = child.wait()
    finally:
        done.set()
    return rc


def main() -> int:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    web = sub.add_parser("web")
    web.add_argument("--settings-dir", required=True)
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--lifetime-s", type=float, required=True)
    carbon = sub.add_parser("carbon")
    carbon.add_argument("--config", required=True)
    carbon.add_argument("--lifetime-s", type=float, required=True)
    args = p.parse_args()
    return _web(args) if args.cmd == "web" else _carbon(args)


if __name__ == "__main__":
    sys.exit(main())
