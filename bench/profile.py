"""``bin/polymm bench --profile DIR``: a sampling profile of a scenario, every thread.

The scenario runs in a child ``bin/polymm bench NAME --json`` under ``py-spy record`` (the
``bench`` extra installs it), which samples every thread of that process from outside (no
instrumentation, so the figures it prints are close to an unprofiled run's). The folded stacks
go to ``DIR/NAME.folded`` (feed them to flamegraph.pl or speedscope); :func:`summarize` turns
them into the functions where the samples were, by own time and by inclusive time, and by
thread. py-spy's own idle detection misses threads blocked in a lock with a timeout, so samples
whose innermost Python frame is one of :data:`WAITING` (a lock or condition wait, a socket
read, ``select``, a sleep) are counted apart as ``waiting_pct`` and left out of the rankings:
the shares are of the time the threads were running Python or C code, i.e. competing for the
GIL. (``py-spy --gil`` would keep only the GIL holder's samples, but on CPython 3.11 here it
attributed 99.8 % to the main thread.) Set-up (imports, key derivation, starting the venue) is
in the profile too; the by-thread ranking separates the actors and feeds from it.
The simulated venue is a separate process and is not in the profile.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from messages.errors import PolymmError

PY_SPY_RATE = 500
WAITING: frozenset[str] = frozenset({
    "Condition.wait (threading.py)", "Event.wait (threading.py)",
    "Thread._wait_for_tstate_lock (threading.py)", "Queue.get (queue.py)",
    "recv.<locals>._recv (websocket/_socket.py)", "SocketIO.readinto (socket.py)",
    "FrameReader._need (venue/ws_frames.py)", "FrameReader._skip (venue/ws_frames.py)",
    "BaseSelector.select (selectors.py)", "EpollSelector.select (selectors.py)",
    "PollSelector.select (selectors.py)", "_PollLikeSelector.select (selectors.py)",
    "Popen._wait (subprocess.py)",
    "Popen.wait (subprocess.py)", "Connection._recv (multiprocessing/connection.py)",
    "Connection._poll (multiprocessing/connection.py)", "wait (multiprocessing/connection.py)",
    "SSLSocket.read (ssl.py)", "_yield_gil (journal/writer.py)"})
"""Innermost frames that mean "blocked, not running" (the frame calling the blocking C call)."""
_LINE = re.compile(r"^(?P<stack>.*) (?P<n>\d+)$")
_FRAME_LINE = re.compile(r" \((?P<file>[^()]*):\d+\)$")


def _frame(frame: str) -> str:
    """``fn (path/to/file.py:12)`` → ``fn (path/to/file.py)``: a function, not a line."""
    return _FRAME_LINE.sub(lambda m: f" ({m['file']})", frame.strip())


def summarize(lines: Iterable[str], top: int = 15) -> dict[str, Any]:
    """Own-time and inclusive-time shares (%) of the functions in py-spy's folded output, and
    each thread entry's share (``main thread`` for the rest), over the samples that were not
    waiting (``waiting_pct``: the share of all samples that were).

    Args:
        lines: ``frame;frame;...;leaf COUNT`` lines (``py-spy record --format raw``).
        top: how many functions to list in each ranking.
    """
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = waiting = 0
    for line in lines:
        m = _LINE.match(line.rstrip("\n"))
        if m is None:
            continue
        n = int(m["n"])
        frames = [_frame(f) for f in m["stack"].split(";") if f.strip()]
        if not frames:
            continue
        if frames[-1] in WAITING:
            waiting += n
            continue
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
        # A thread's entry: the frame ``Thread.run`` calls (an actor loop, a feed reader).
        runs = [i for i, f in enumerate(frames) if f.startswith("Thread.run ")]
        threads[frames[runs[0] + 1] if runs and runs[0] + 1 < len(frames)
                else "main thread"] += n

    def share(c: Counter[str]) -> list[list[Any]]:
        return [[name, round(100.0 * k / total, 1)] for name, k in c.most_common(top)]

    seen = total + waiting
    return {"samples": total, "waiting_pct": round(100.0 * waiting / seen, 1) if seen else 0.0,
            "own_pct": share(own) if total else [],
            "inclusive_pct": share(incl) if total else [],
            "threads_pct": share(threads) if total else []}


def profile(name: str, repeats: int, out_dir: Path) -> dict[str, Any]:
    """Run scenario ``name`` under py-spy; returns its figures plus the profile summary."""
    py_spy = shutil.which("py-spy", path=os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if py_spy is None:
        raise PolymmError("--profile needs py-spy (pip install -e '.[bench]', as make does)")
    out_dir.mkdir(parents=True, exist_ok=True)
    folded = out_dir / f"{name}.folded"
    root = Path(__file__).resolve().parent.parent
    cmd = [py_spy, "record", "--format", "raw", "--rate", str(PY_SPY_RATE), "--output",
           str(folded), "--", sys.executable, str(root / "bin" / "polymm"), "bench", name,
           "--json", "--repeats", str(repeats)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    figures = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not folded.exists():
        raise PolymmError(f"py-spy run of {name} failed (exit {proc.returncode}): "
                          f"{proc.stderr.strip()[-500:]}")
    with folded.open() as f:
        summary = summarize(f)
    return {"scenario": f"{name}:profile", "folded": str(folded),
            "figures": figures[-1] if figures else "", **summary}
