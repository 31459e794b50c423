"""The journal codec (every message type round-trips) and the EventLog actor's files."""

from __future__ import annotations

import enum
import threading
import types
import typing

import orjson
import pytest

import messages
from actors.event_log import EventLog, JournalWriter
from polymm.errors import PolymmError
from polymm.journal import (
    decode,
    encode,
    encode_lines,
    journal_files,
    measure_write_rate,
    read_journal,
    registered,
)
from tests.fakes import make_event_log_config, make_market, make_markets_changed


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
    mc = make_markets_changed([make_market()])
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
            sink.append("in", messages.TimerTick(name=tag, ts_recv_ns=k))

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
    for k in range(10):
        sink.append("in", messages.KillSwitch(on=True, reason=f"r{k}", ts_recv_ns=k))
    assert ref.proxy().flush().get(timeout=10) is True
    recs = list(read_journal(log_dir))
    assert [r.value.reason for r in recs] == [f"r{k}" for k in range(10)]
    assert ref.proxy().stats().get(timeout=5)["events_logged"] == 10


def test_rotation_by_size_and_numbering_continues_across_runs(log_dir):
    ref, sink = start_log(log_dir, rotate_bytes=4096, batch_size=8)
    for k in range(300):
        sink.append("in", messages.TimerTick(name="x", ts_recv_ns=k))
    ref.stop()
    files = journal_files(log_dir)
    assert len(files) > 3
    assert all(f.stat().st_size < 4096 + 8 * 200 for f in files)
    assert [r.value.ts_recv_ns for r in read_journal(log_dir)] == list(range(300))
    ref, sink = start_log(log_dir)  # a second run never overwrites the first
    sink.append("in", messages.TimerTick(name="second", ts_recv_ns=0))
    ref.stop()
    after = journal_files(log_dir)
    assert after[:-1] == files and after[-1].name == f"events-{len(files) + 1}.jsonl"


def test_appends_after_stop_are_dropped_not_blocking(log_dir):
    ref, sink = start_log(log_dir)
    ref.stop()
    sink.append("in", messages.TimerTick(name="late", ts_recv_ns=0))
    assert list(read_journal(log_dir)) == []


def test_unencodable_event_is_skipped_alone(log_dir):
    w = JournalWriter(log_dir).start()
    s = w.sink("test")
    s.append("in", {"big": 1 << 70})  # beyond orjson's 64-bit integers
    s.append("in", messages.TimerTick(name="ok", ts_recv_ns=1))
    w.close()
    recs = list(read_journal(log_dir))
    assert [r.value.name for r in recs] == ["ok"] and w.encode_errors == 1


# -- reading ----------------------------------------------------------------------------------


def _write_lines(path, n):
    path.write_bytes(b"".join(
        orjson.dumps({"ts": k, "k": "in", "src": "s",
                      "v": encode(messages.TimerTick(name="x", ts_recv_ns=k))}) + b"\n"
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
    from polymm.errors import ConfigError

    with pytest.raises(ConfigError, match=r"event_log\.dir"):
        EventLog(make_event_log_config(dir=""))


def test_measure_write_rate_smoke():
    r = measure_write_rate(2000, batch_size=128)
    assert r["events"] == 2000 and r["events_per_s"] > 0 and r["bytes_per_event"] > 100
