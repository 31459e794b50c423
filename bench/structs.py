"""Messages as frozen dataclasses (what ``messages/`` uses) against ``msgspec.Struct``.

The question (design §4): would ``msgspec.Struct(frozen=True, kw_only=True)`` be as
fast and simpler than the frozen, slotted dataclasses plus the journal codec's generated dict
makers? Both sides build and encode the same message, a ``BookChange`` with two
``LevelChange`` entries, side by side in one run:

* ``create``: keyword construction of the entries and the frame; ``create_workaround``: the
  decoders' ``object.__new__`` plus slot setters, which they use because the frozen
  dataclass's ``__init__`` is slow (both measured against the same Struct construction).
* ``encode``: one journal line (``{"ts", "k", "src", "v"}`` with the class tag), by
  ``journal.codec.encode_line`` against ``msgspec.json.Encoder`` on a tagged Struct.
* ``decode``: that line back into the message, by ``journal.codec.decode`` against a typed
  ``msgspec.json.Decoder``.

Each figure is messages per second; ``*_ratio`` is msgspec over dataclass (above 1: msgspec is
faster). ``msgspec`` is a bench-only dependency: nothing in the bot imports it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import msgspec
import orjson

from bench.common import Result
from journal.codec import decode, encode_line
from messages import BookChange, ConditionId, LevelChange, Side, TokenId
from venue.wire_common import slot_setters

SCENARIO = "structs"
TARGETS = {
    "create_ratio": "reported: msgspec.Struct / dataclass messages built per second",
    "create_workaround_ratio": "reported: msgspec.Struct / the decoders' object.__new__ + slot "
                               "setters",
    "encode_ratio": "reported: msgspec / journal codec lines encoded per second",
    "decode_ratio": "reported: msgspec / journal codec lines decoded per second",
}

N = 50_000
UP = "7132104567925221259462638553270691275033272857194253228963137931245558399256"
DOWN = "5213104567925221259462638553270691275033272857194253228963137931245558399256"
CID = "0x" + "5f65" * 16


class SLevelChange(msgspec.Struct, frozen=True, kw_only=True):
    token_id: str
    side: Side
    price_pips: int
    size_micro: int
    best_bid_pips: int | None
    best_ask_pips: int | None


class SBookChange(msgspec.Struct, frozen=True, kw_only=True, tag="BookChange"):
    condition_id: str
    changes: tuple[SLevelChange, ...]
    ts_event_ms: int
    ts_recv_ns: int


class SLine(msgspec.Struct):
    ts: int
    k: str
    src: str
    v: SBookChange


def _dataclass(i: int) -> BookChange:
    return BookChange(condition_id=ConditionId(CID), changes=(
        LevelChange(token_id=TokenId(UP), side=Side.BUY, price_pips=4_500 + i % 50,
                    size_micro=10_000_000 + i, best_bid_pips=4_500, best_ask_pips=4_600),
        LevelChange(token_id=TokenId(DOWN), side=Side.SELL, price_pips=5_500 - i % 50,
                    size_micro=10_000_000 + i, best_bid_pips=5_400, best_ask_pips=5_500)),
        ts_event_ms=1_757_908_892_351 + i, ts_recv_ns=1_757_908_892_351_000_000 + i)


_new = object.__new__
_LEVEL = slot_setters(LevelChange, tuple(f.name for f in dataclasses.fields(LevelChange)))
_CHANGE = slot_setters(BookChange, tuple(f.name for f in dataclasses.fields(BookChange)))


def _level_fast(token: str, side: Side, price: int, size: int, bid: int,
                ask: int) -> LevelChange:
    lv = _new(LevelChange)
    for setter, value in zip(_LEVEL, (token, side, price, size, bid, ask), strict=True):
        setter(lv, value)
    return lv


def _workaround(i: int) -> BookChange:
    """The decoders' way: ``object.__new__`` and the slots' own setters (no ``__init__``)."""
    msg = _new(BookChange)
    changes = (_level_fast(UP, Side.BUY, 4_500 + i % 50, 10_000_000 + i, 4_500, 4_600),
               _level_fast(DOWN, Side.SELL, 5_500 - i % 50, 10_000_000 + i, 5_400, 5_500))
    for setter, value in zip(_CHANGE, (CID, changes, 1_757_908_892_351 + i,
                                       1_757_908_892_351_000_000 + i), strict=True):
        setter(msg, value)
    return msg


def _struct(i: int) -> SBookChange:
    return SBookChange(condition_id=CID, changes=(
        SLevelChange(token_id=UP, side=Side.BUY, price_pips=4_500 + i % 50,
                     size_micro=10_000_000 + i, best_bid_pips=4_500, best_ask_pips=4_600),
        SLevelChange(token_id=DOWN, side=Side.SELL, price_pips=5_500 - i % 50,
                     size_micro=10_000_000 + i, best_bid_pips=5_400, best_ask_pips=5_500)),
        ts_event_ms=1_757_908_892_351 + i, ts_recv_ns=1_757_908_892_351_000_000 + i)


def _per_s(fn: Callable[[int], object]) -> Callable[[], float]:
    def run() -> float:
        t0 = time.perf_counter()
        for i in range(N):
            fn(i)
        return N / (time.perf_counter() - t0)
    return run


def _same_content() -> None:
    """Both sides encode the same message to the same JSON (else the race is not fair)."""
    mine = orjson.loads(encode_line(1, "in", "bench", _dataclass(3)))["v"]
    theirs = orjson.loads(msgspec.json.encode(_struct(3)))
    theirs["_t"] = theirs.pop("type")
    if mine != theirs:
        raise RuntimeError(f"structs bench: the two encodings differ: {mine} != {theirs}")


def measure(repeats: int) -> Result:
    """Median messages/s of each side, measured alternately, and their ratios."""
    _same_content()
    result = Result(SCENARIO)
    enc = msgspec.json.Encoder()
    dec = msgspec.json.Decoder(SLine)
    dc_msgs = [_dataclass(i) for i in range(64)]
    st_msgs = [_struct(i) for i in range(64)]
    dc_lines = [encode_line(i, "in", "State-1", m) for i, m in enumerate(dc_msgs)]
    st_lines = [enc.encode(SLine(ts=i, k="in", src="State-1", v=m))
                for i, m in enumerate(st_msgs)]
    cases: list[tuple[str, Callable[[int], object], Callable[[int], object]]] = [
        ("create", _dataclass, _struct),
        ("encode", lambda i: encode_line(i, "in", "State-1", dc_msgs[i % 64]),
         lambda i: enc.encode(SLine(ts=i, k="in", src="State-1", v=st_msgs[i % 64]))),
        ("decode", lambda i: decode(orjson.loads(dc_lines[i % 64])["v"]),
         lambda i: dec.decode(st_lines[i % 64]).v),
    ]
    if _workaround(5) != _dataclass(5):
        raise RuntimeError("structs bench: the decoders' construction builds another message")
    fast = [(_per_s(_workaround)(), _per_s(_struct)()) for _ in range(repeats)]
    a = result.add("create_workaround_per_s", [p[0] for p in fast])
    b = result.add("create_workaround_msgspec_per_s", [p[1] for p in fast])
    result.set("create_workaround_ratio", round(b / a, 3))
    for name, mine, theirs in cases:
        pairs = [(_per_s(mine)(), _per_s(theirs)()) for _ in range(repeats)]
        a = result.add(f"{name}_dataclass_per_s", [p[0] for p in pairs])
        b = result.add(f"{name}_msgspec_per_s", [p[1] for p in pairs])
        result.set(f"{name}_ratio", round(b / a, 3))
    return result


if __name__ == "__main__":
    print(orjson.dumps(measure(5).as_json(), option=orjson.OPT_INDENT_2).decode())
