"""The journal reader: a directory of ``events-<n>.jsonl`` files back into records, in order.

A torn final line of a file (a crash cut it) is skipped and counted; any other bad line is an
error naming the file and line. No threads: the caller's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from journal.codec import FILE_RE, decode
from messages.errors import PolymmError


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """One journal line, decoded. ``value`` is the message (or the raw value if untagged)."""

    ts_ns: int
    kind: str
    src: str
    # A message of any type the codec knows, or a plain JSON value: replay reads it by kind.
    value: Any


def journal_files(path: str | os.PathLike[str]) -> list[Path]:
    """The journal files of a directory in write order, or ``[path]`` for a single file."""
    p = Path(path)
    if not p.is_dir():
        return [p]
    found = [(int(m.group(1)), f) for f in p.iterdir() if (m := FILE_RE.match(f.name))]
    return [f for _, f in sorted(found)]


def next_file_number(directory: str | os.PathLike[str]) -> int:
    """The number for a new journal file: one past the highest present (never overwrite)."""
    p = Path(directory)
    nums = [int(m.group(1)) for f in p.iterdir() if (m := FILE_RE.match(f.name))] \
        if p.is_dir() else []
    return max(nums, default=0) + 1


class JournalReader:
    """Iterates the records of a journal file or directory.

    A torn final line of a file (cut by a crash: the writer ends every line it writes with a
    newline, so a cut line has none) is skipped and counted in ``torn_lines``; any other bad
    line, a complete final one included, raises :class:`PolymmError` naming the file and line.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.files = journal_files(path)
        self.torn_lines = 0
        self.records = 0
        self._it = self._records()

    def __iter__(self) -> JournalReader:
        return self

    def __next__(self) -> Record:
        return next(self._it)

    def _records(self) -> Iterator[Record]:
        for f in self.files:
            with open(f, "rb") as fh:
                for lineno, line in enumerate(fh, 1):
                    if not line.endswith(b"\n"):  # only a file's last line can lack one
                        self.torn_lines += 1
                        break
                    yield self._parse(line, f, lineno)

    def _parse(self, line: bytes, f: Path, lineno: int) -> Record:
        try:
            d = orjson.loads(line)
            rec = Record(ts_ns=d["ts"], kind=d["k"], src=d["src"], value=decode(d["v"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise PolymmError(f"journal {f}: line {lineno} is corrupt: "
                              f"{type(exc).__name__}: {exc}") from None
        self.records += 1
        return rec


def read_journal(path: str | os.PathLike[str]) -> JournalReader:
    """The records of a journal (a directory of ``events-<n>.jsonl`` or one file), in order.

    The returned reader is an iterator; its ``torn_lines`` counts skipped torn final lines.
    """
    return JournalReader(path)
