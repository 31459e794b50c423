"""Graphite test helpers: a plaintext (carbon) listener and a parser for dashboard targets.

``GraphiteListener`` is a TCP server on 127.0.0.1 that collects the ``<path> <value> <ts>``
lines a StatsD daemon's graphite backend sends at each flush; tests wait on it with deadlines
(a condition variable, never a sleep). ``series_paths`` pulls the series paths out of a Graphite
target expression, and ``glob_regex`` turns a Graphite glob into a regex, so a test can check
which received series a dashboard query would show.
"""

from __future__ import annotations

import re
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Point:
    path: str
    value: float
    ts: int


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        for raw in self.rfile:
            parts = raw.decode("utf-8", "replace").split()
            if len(parts) != 3:
                self.server.owner.bad_lines.append(raw.decode("utf-8", "replace"))
                continue
            try:
                point = Point(parts[0], float(parts[1]), int(float(parts[2])))
            except ValueError:
                self.server.owner.bad_lines.append(raw.decode("utf-8", "replace"))
                continue
            self.server.owner.add(point)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: GraphiteListener


class GraphiteListener:
    """Collects Graphite plaintext lines on ``127.0.0.1:<port>`` (port 0 picks a free one).

    Thread ownership: connection threads append under ``_cond``; readers take snapshots under
    it. ``start``/``stop`` belong to the test.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), _Handler, bind_and_activate=True)
        self._server.owner = self
        self._cond = threading.Condition()
        self._points: list[Point] = []
        self.bad_lines: list[str] = []
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="GraphiteListener", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> GraphiteListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def add(self, point: Point) -> None:
        with self._cond:
            self._points.append(point)
            self._cond.notify_all()

    def points(self) -> list[Point]:
        with self._cond:
            return list(self._points)

    def values(self, path: str) -> list[float]:
        """Every value received for ``path``, in arrival order."""
        return [p.value for p in self.points() if p.path == path]

    def wait_for(self, predicate: Callable[[list[Point]], bool], timeout: float) -> bool:
        """Wait until ``predicate(points)`` holds or ``timeout`` passes; returns whether it held."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self._points):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True


# -- dashboard targets ---------------------------------------------------------------------------

_PATH_START = re.compile(r"(?<![\w.$'\"])stats\.")


def dashboard_panels(dash: dict[str, Any]) -> list[dict[str, Any]]:
    """A Grafana dashboard's panels, those inside collapsed rows included, rows left out."""
    out = []
    for p in dash["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))  # a collapsed row keeps its panels inside
    return [p for p in out if p.get("type") != "row"]


def series_paths(target: str) -> list[str]:
    """The series paths in a Graphite target, braces expanded.

    ``aliasByNode(stats.timers.p.x.{a,b}.upper_99, 7)`` gives ``stats.timers.p.x.a.upper_99``
    and ``stats.timers.p.x.b.upper_99``. A path runs from ``stats.`` to the first ``,`` or ``)``
    outside braces; quoted strings (aliases, intervals) are never paths.
    """
    out: list[str] = []
    for m in _PATH_START.finditer(target):
        i, depth = m.start(), 0
        while i < len(target):
            c = target[i]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            elif depth == 0 and (c in ",)" or c.isspace()):
                break
            i += 1
        out.extend(expand_braces(target[m.start():i]))
    return out


def expand_braces(path: str) -> Iterator[str]:
    """``a.{b,c}.d`` → ``a.b.d``, ``a.c.d`` (no nesting, as Graphite)."""
    m = re.search(r"\{([^{}]*)\}", path)
    if m is None:
        yield path
        return
    for alt in m.group(1).split(","):
        yield from expand_braces(path[:m.start()] + alt + path[m.end():])


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A Graphite glob as a regex: ``*`` stays within one segment, ``{a,b}`` alternates."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(r"[^.]*")
        elif c == "{":
            j = pattern.index("}", i)
            out.append("(?:" + "|".join(re.escape(a) for a in pattern[i + 1:j].split(",")) + ")")
            i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")
