"""The event log's journal: codec (messages to JSON lines and back), reader and writer.

Floor 2: it imports only ``messages``; the ``EventLog`` actor (``actors/event_log.py``) owns a
writer, replay and backtests read with the reader.
"""

from journal.codec import FILE_RE, TAG, decode, encode, encode_line, encode_lines, registered
from journal.reader import JournalReader, Record, journal_files, next_file_number, read_journal
from journal.writer import JournalSink, JournalWriter

__all__ = [
    "FILE_RE",
    "TAG",
    "JournalReader",
    "JournalSink",
    "JournalWriter",
    "Record",
    "decode",
    "encode",
    "encode_line",
    "encode_lines",
    "journal_files",
    "next_file_number",
    "read_journal",
    "registered",
]
