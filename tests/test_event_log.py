"""The journal codec (every message type round-trips) and the EventLog actor's files."""

from __future__ import annotations

import bisect
import enum
import errno
import os
import random
import threading
import types
import typing

import orjson
import pytest

import messages
from actors.event_log import EventLog, JournalWriter
from journal import (
    decode,
    encode,
    encode_lines,
    journal_files,
    read_journal,
    registered,
)
from journal.measure import measure_write_rate
from messages.errors import PolymmError
from tests.builders import make_market, make_markets_changed
from tests.fakes import make_event_log_config


def _value(tp, i):
    """A sample value of type ``tp`` (``i`` varies values and picks None for optionals)."""
    if getattr(tp, "__supertype__", None) is not None:
        return _value(tp.__supertype__, i)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = next(a for a in args if a is not type(None))
        return None if i % 2 else _value(inner, i)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return (_value(args[0], i), _value(args[0], i + 2))
        return tuple(_value(a, i) for a in args)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return list(tp)[i % len(tp)]
    if isinstance(tp, type) and hasattr(tp, "__dataclass_fields__"):
        return sample(tp, i)
    return {int: 10**18 + i, str: f"s{i}", bool: bool(i % 2), float: 0.25 + i}[tp]


def sample(cls, i=0):
    hints = typing.get_type_hints(cls)
    return cls(**{n: _value(hints[n], i + k) for k, n in enumerate(cls.__dataclass_fields__)})


def test_registry_covers_every_message_dataclass():
    expected = {getattr(messages, n) for n in messages.__all__
                if hasattr(getattr(messages, n), "__dataclass_fields__")}
    assert expected <= set(registered()) and len(expected) >= 30


@pytest.mark.parametrize("cls", sorted(
    (getattr(messages, n) for n in messages.__all__
     if hasattr(getattr(messages, n), "__dataclass_fields__")), key=lambda c: c.__name__),
    ids=lambda c: c.__name__)
@pytest.mark.parametrize("i", [0, 1])
def test_every_message_round_trips_through_json(cls, i):
    obj = sample(cls, i)
    wire = orjson.loads(orjson.dumps(encode(obj)))
    back = decode(wire)
    assert back == obj and type(back) is cls
    for name in cls.__dataclass_fields__:  # types survive, not just equal values
        assert type(getattr(back, name)) is type(getattr(obj, name)), name


def test_nested_messages_keep_their_types():
    snap = sample(messages.QuoteSnapshot)
    back = decode(orjson.loads(orjson.dumps(encode(snap))))
    assert type(back.markets[0]) is messages.MarketView
    assert type(back.markets[0].market) is messages.Market
    assert type(back.markets[0].market.token_ids) is tuple
    mc = make_markets_changed(make_market())
    assert decode(orjson.loads(orjson.dumps(encode(mc)))) == mc


def test_non_messages_pass_through():
    assert encode({"a": 1}) == {"a": 1} and decode({"a": 1}) == {"a": 1}
    assert decode({"_t": "NoSuchClass", "x": 1}) == {"_t": "NoSuchClass", "x": 1}
    assert decode(5) == 5


def test_batch_encoding_falls_back_when_a_value_contains_the_separator():
    tricky = {"list": [{"ts": 1}, {"ts": 2}]}
    data = encode_lines([(1, "x", "a", tricky), (2, "x", "a", tricky)])
    lines = data.splitlines()
    assert len(lines) == 2 and orjson.loads(lines[1])["v"] == tricky


# -- the actor and its files ----------------------------------------------------------------


@pytest.fixture
def log_dir(tmp_path):
    return tmp_path / "journal"


def start_log(log_dir, **over):
    ref = EventLog.start(make_event_log_config(dir=str(log_dir), **over))
    return ref, ref.proxy().sink().get(timeout=5)


def test_appends_from_many_threads_are_all_on_disk_after_stop(log_dir):
    ref, sink = start_log(log_dir, batch_size=64, flush_interval_ms=10_000)
    n = 5000

    def produce(tag):
        for k in range(n):
            sink.append("in", messages.TimerFired(name=tag, ts_recv_ns=k))

    threads = [threading.Thread(target=produce, args=(f"t{j}",), name=f"P{j} (x)")
               for j in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    ref.stop()  # flush-at-stop: the flush interval never fired
    reader = read_journal(log_dir)
    recs = list(reader)
    assert len(recs) == 3 * n and reader.torn_lines == 0
    for j in range(3):
        mine = [r.value.ts_recv_ns for r in recs if r.value.name == f"t{j}"]
        assert mine == list(range(n))  # per-producer order kept
    assert {r.src for r in recs} == {"P0", "P1", "P2"}
    assert all(r.kind == "in" for r in recs)


def test_flush_makes_events_readable_while_running(log_dir):
    ref, sink = start_log(log_dir, flush_interval_ms=60_000, batch_size=100_000)
    try:
        for k in range(10):
            sink.append("in", messages.KillSwitch(on=True, reason=f"r{k}", ts_recv_ns=k))
        assert ref.proxy().flush().get(timeout=10) is True
        recs = list(read_journal(log_dir))
        assert [r.value.reason for r in recs] == [f"r{k}" for k in range(10)]
        assert ref.proxy().stats().get(timeout=5)["events_logged"] == 10
    finally:
        ref.stop()


def test_rotation_by_size_and_numbering_continues_across_runs(log_dir):
    ref, sink = start_log(log_dir, rotate_bytes=4096, batch_size=8)
    for k in range(300):
        sink.append("in", messages.TimerFired(name="x", ts_recv_ns=k))
    ref.stop()
    files = journal_files(log_dir)
    assert len(files) > 3
    assert all(f.stat().st_size < 4096 + 8 * 200 for f in files)
    assert [r.value.ts_recv_ns for r in read_journal(log_dir)] == list(range(300))
    ref, sink = start_log(log_dir)  # a second run never overwrites the first
    sink.append("in", messages.TimerFired(name="second", ts_recv_ns=0))
    ref.stop()
    after = journal_files(log_dir)
    assert after[:-1] == files and after[-1].name == f"events-{len(files) + 1}.jsonl"


def test_appends_after_stop_are_dropped_not_blocking(log_dir):
    ref, sink = start_log(log_dir)
    ref.stop()
    sink.append("in", messages.TimerFired(name="late", ts_recv_ns=0))
    assert list(read_journal(log_dir)) == []


def test_unencodable_event_is_skipped_alone(log_dir):
    w = JournalWriter(log_dir, batch_size=256, flush_interval_s=0.05,
                      rotate_bytes=64 << 20).start()
    s = w.sink("test")
    s.append("in", {"big": 1 << 70})  # beyond orjson's 64-bit integers
    s.append("in", messages.TimerFired(name="ok", ts_recv_ns=1))
    w.close()
    recs = list(read_journal(log_dir))
    assert [r.value.name for r in recs] == ["ok"] and w.encode_errors == 1


# -- how long a record may wait ----------------------------------------------------------------


class StepClock:
    """A monotonic clock for the writer that advances ``step`` at every read, so that each
    step of the writer's work (an encoding chunk, the checks of a round) costs time."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.mark.parametrize(("batch_size", "interval_s"),
                         [(100_000, 0.2), (8, 0.2), (100_000, 0.05), (5, 0.004)])
def test_every_record_is_written_within_the_flush_interval(log_dir, batch_size, interval_s):
    """The writer's rounds, driven one by one on a fake clock (no thread; nothing depends on
    the wall clock): records arrive at random, in bursts, just after a round and just before
    the next; after each round the file shows what was written. Each record must be in it (in
    the kernel: what survives a SIGKILL) at most ``flush_interval`` after its append, whatever
    the batch size, although every step of the writer's work costs time."""
    clock = StepClock(step=20e-6)
    w = JournalWriter(log_dir, batch_size=batch_size, flush_interval_s=interval_s,
                      rotate_bytes=64 << 20, clock=clock)
    w.open()
    sink = w.sink("sim")
    rng = random.Random(batch_size)
    span = 40 * interval_s
    events = sorted(rng.uniform(0, span) for _ in range(300))
    for t in (0.25 * span, 0.6 * span):  # bursts of 200 at once
        events += [t] * 200
    events.sort()
    appended: list[float] = []
    written_at: dict[int, float] = {}
    path = log_dir / "events-1.jsonl"
    offset = 0
    next_round = clock.now
    i = rounds = 0
    while i < len(events) or len(written_at) < len(appended):
        if i < len(events) and events[i] < next_round:
            clock.now = max(clock.now, events[i])  # an append during a round comes after it
            i += 1
            sink.append("in", messages.TimerFired(name="sim", ts_recv_ns=len(appended)))
            appended.append(clock.now)
            if w.wake.is_set():  # a full batch: the writer's wait ends now
                next_round = clock.now
            continue
        rounds += 1
        assert rounds < 100_000, "the writer never wrote everything"
        clock.now = max(clock.now, next_round)
        wait = w._cycle()
        assert wait is not None
        data = path.read_bytes()
        for line in data[offset:].splitlines():
            written_at[orjson.loads(line)["v"]["ts_recv_ns"]] = clock.now
        offset = len(data)
        next_round = clock.now + wait
        if rng.random() < 0.3:  # the worst moment: just after the writer looked
            bisect.insort(events, clock.now + 1e-9, lo=i)
        if rng.random() < 0.3:
            bisect.insort(events, next_round - 1e-9, lo=i)
    w.close()
    assert sorted(written_at) == list(range(len(appended)))
    late = [(k, written_at[k] - a) for k, a in enumerate(appended)
            if written_at[k] - a > interval_s]
    assert not late, f"{len(late)} records written later than {interval_s} s: {late[:3]}"
    if batch_size > 1000:  # and the lines still go out in batches, not one write each
        assert w.batches < len(appended) / 5


def test_start_record_is_on_disk_and_fsynced_before_the_actor_runs(log_dir, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    cfg = make_event_log_config(dir=str(log_dir), flush_interval_ms=60_000, batch_size=100_000)
    log = EventLog(cfg, start_record={"quoter": {"half_spread_pips": 7}})  # never started
    path = log_dir / "events-1.jsonl"
    recs = list(read_journal(log_dir))
    assert [(r.kind, r.value) for r in recs] == [("start", {"quoter": {"half_spread_pips": 7}})]
    assert synced == [str(path), str(log_dir)]  # the line, and the new file's name
    log.on_stop()  # what the actor's stop would do: closes the file
    assert journal_files(log_dir) == [path] and open_files_under(log_dir) == []


def test_the_writer_continues_the_start_records_file(log_dir):
    ref = EventLog.start(make_event_log_config(dir=str(log_dir), rotate_bytes=1 << 20),
                         start_record={"owner": "me"})
    try:
        sink = ref.proxy().sink().get(timeout=5)
        for k in range(5):
            sink.append("in", messages.TimerFired(name="x", ts_recv_ns=k))
        assert ref.proxy().stats().get(timeout=5)["files"] == 1
    finally:
        ref.stop()
    recs = list(read_journal(log_dir))
    assert [r.kind for r in recs] == ["start"] + ["in"] * 5
    assert recs[0].value == {"owner": "me"} and recs[0].src == "MainThread"
    assert journal_files(log_dir) == [log_dir / "events-1.jsonl"]


def test_a_start_record_that_cannot_be_written_is_an_error_naming_the_directory(
        log_dir, monkeypatch):
    def fsync(fd):  # a disk error cannot be caused here: raise what the kernel would
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(PolymmError, match=r"event_log\.dir: .*journal: cannot write the start "
                                          r"record: Input/output error"):
        EventLog(make_event_log_config(dir=str(log_dir)), start_record={"owner": "me"})
    assert open_files_under(log_dir) == []  # the file it had opened is closed again


def open_files_under(directory):
    """The files under ``directory`` this process has open (Linux ``/proc``)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the descriptor listdir itself used, closed since
            continue
        if target.startswith(str(directory)):
            found.append(target)
    return found


# -- reading ----------------------------------------------------------------------------------


def _write_lines(path, n):
    path.write_bytes(b"".join(
        orjson.dumps({"ts": k, "k": "in", "src": "s",
                      "v": encode(messages.TimerFired(name="x", ts_recv_ns=k))}) + b"\n"
        for k in range(n)))


def test_torn_final_line_is_skipped_and_counted(tmp_path):
    f = tmp_path / "events-1.jsonl"
    _write_lines(f, 3)
    with open(f, "ab") as fh:
        fh.write(b'{"ts": 9, "k": "in", "sr')
    reader = read_journal(tmp_path)
    assert [r.ts_ns for r in reader] == [0, 1, 2] and reader.torn_lines == 1


def test_corrupt_middle_line_names_file_and_line(tmp_path):
    f = tmp_path / "events-1.jsonl"
    _write_lines(f, 3)
    lines = f.read_bytes().splitlines(keepends=True)
    f.write_bytes(lines[0] + b"garbage\n" + lines[1] + lines[2])
    with pytest.raises(PolymmError, match=r"events-1\.jsonl: line 2"):
        list(read_journal(tmp_path))


def test_event_log_config_is_validated():
    from messages.errors import ConfigError

    with pytest.raises(ConfigError, match=r"event_log\.dir"):
        EventLog(make_event_log_config(dir=""))


def test_measure_write_rate_smoke():
    r = measure_write_rate(2000, batch_size=128)
    assert r["events"] == 2000 and r["events_per_s"] > 0 and r["bytes_per_event"] > 100


def test_a_log_from_before_the_renames_reads_back() -> None:
    """``PriceTick`` and ``TimerTick`` were renamed ``PriceUpdate`` and ``TimerFired``: older
    logs carry the old tags and still decode to the messages."""
    from journal.codec import decode
    from messages import PriceUpdate, TimerFired

    old = decode({"_t": "TimerTick", "name": "state", "ts_recv_ns": 5})
    assert old == TimerFired(name="state", ts_recv_ns=5)
    price = decode({"_t": "PriceTick", "asset": "btc", "source": "binance", "price_e8": 1,
                    "ts_event_ms": 2, "ts_recv_ns": 3, "snapshot": False})
    assert isinstance(price, PriceUpdate) and price.price_e8 == 1
