"""``bin/polymm replay PATH [--from T] [--to T]``: recompute and compare every decision."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from journal import journal_files
from messages.errors import PolymmError

if TYPE_CHECKING:
    from journal import Record

HELP = "replay an event log through the same logic and compare every decision"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="an event log file or directory (var/events)")
    p.add_argument("--from", dest="t_from", help="compare decisions from T (unix s or ISO)")
    p.add_argument("--to", dest="t_to", help="compare decisions up to T (unix s or ISO)")


def parse_time(text: str | None, flag: str) -> int | None:
    """Unix seconds (int or float) or an ISO-8601 time → ns."""
    if text is None:
        return None
    try:
        return int(float(text) * 1e9)
    except ValueError:
        pass
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1e9)
    except ValueError:
        raise PolymmError(f"{flag}: expected unix seconds or an ISO time, got {text!r}") from None


def runs_of(records: Iterable[Record]) -> list[list[Record]]:
    """Split a journal into runs: each ``start`` record (a new ``polymm run``) opens one.

    A directory holds every run that wrote to it (a restart after a crash appends a new file),
    and each run has its own State and snapshot numbering, so each is replayed on its own.
    Records before the first ``start`` stay with the first run.
    """
    runs: list[list[Record]] = [[]]
    for r in records:
        if r.kind == "start" and any(x.kind == "start" for x in runs[-1]):
            runs.append([])
        runs[-1].append(r)
    return [r for r in runs if r]


def run(args: argparse.Namespace) -> int:
    from journal import read_journal
    from polymm.replay import replay_records

    t_from = parse_time(args.t_from, "--from")
    t_to = parse_time(args.t_to, "--to")
    if t_from is not None and t_to is not None and t_from > t_to:
        raise PolymmError("--from is after --to")
    path = Path(args.path)
    if not path.exists():
        raise PolymmError(f"{path}: no such file or directory")
    if path.is_dir() and not journal_files(path):
        raise PolymmError(f"{path}: no event log files (events-<n>.jsonl) in it")
    reader = read_journal(path)
    try:
        runs = runs_of(reader)
    except OSError as exc:
        raise PolymmError(f"{exc.filename or path}: cannot read: "
                          f"{exc.strerror or type(exc).__name__}") from None
    if not runs:
        raise PolymmError(f"{path}: the event log is empty")
    ok = True
    for i, records in enumerate(runs, 1):
        if len(runs) > 1:
            print(f"== run {i} of {len(runs)}")
        try:
            report = replay_records(records, t_from_ns=t_from, t_to_ns=t_to)
        except PolymmError:
            raise
        except Exception as exc:  # a well-formed line holding a record replay cannot use
            raise PolymmError(f"{path}: run {i}: a record cannot be replayed: "
                              f"{type(exc).__name__}: {exc}") from None
        for line in report.lines():
            print(line)
        ok = ok and report.ok
    if reader.torn_lines:
        print(f"torn final lines skipped: {reader.torn_lines}")
    print("result:", "OK, all decisions match" if ok else "DIVERGED")
    return 0 if ok else 1
