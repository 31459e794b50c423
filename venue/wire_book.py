"""Order-book snapshots (protocol §1.3 ``book``, §5.3 ``GET /book``) to :class:`BookSnapshot`.

The market channel's ``book`` event and the REST ``/book`` reply are the same object (the REST
one has no ``event_type``), so both go through :func:`book_event`. It is on the market feed's
hot path (the venue resends a token's whole book after every trade): a memo of recent levels
spares most of the parsing, and the message is built with
:func:`~venue.wire_common.slot_setters` instead of the frozen dataclass's slow ``__init__``.
Pure; the memos are shared between reader threads (see their notes).
"""

from __future__ import annotations

from typing import Any, Final

from messages import BookSnapshot, Level
from venue.numbers import PIPS_MEMO, parse_micro, parse_micro_num, parse_pips, parse_pips_num
from venue.wire_common import CONVERSION_ERRORS, field_error, need_str, parse_ms, slot_setters

__all__ = ["book_event"]

_new = object.__new__

_LEVEL_MEMO_MAX: Final = 16_384
_LEVEL_MEMO: Final[dict[str, dict[str, Level]]] = {}
"""Price string → size string → level, for about the last ``_LEVEL_MEMO_MAX`` levels parsed (all
dropped when full). The venue resends a token's whole book after every trade, so most levels
of a ``book`` were in the previous one. Only strings that parsed are keys, so a hit needs no
check. Nested rather than keyed by ``(price, size)``: two string lookups cost less than
building, hashing and comparing a tuple key. Shared by reader threads (dict operations are
atomic; a racing insert or clear at worst loses an entry or miscounts one)."""
_level_memo_count = 0


def _levels(raw: Any) -> list[Level]:
    """``[{"price", "size"}, ...]`` to ``(price_pips, size_micro)`` levels, in wire order.

    A memo hit costs two lookups. Anything else (a level not in the memo, a missing field, a
    wrong type) gives ``None`` or raises ``KeyError``/``TypeError`` there, and goes to
    :func:`_level`, which parses the level or raises the precise error.
    """
    memo = _LEVEL_MEMO
    out: list[Level] = []
    for lv in raw:
        try:
            level = memo[lv["price"]].get(lv["size"])
        except (KeyError, TypeError):
            level = None
        out.append(level or _level(lv))
    return out


def _level(lv: Any) -> Level:
    """A level that is not in the memo: check and parse it, and remember it.

    Fails as the decoder always has: a missing price before a missing size, then an unhashable
    price or size (``TypeError``, as a ``(price, size)`` key would), then a bad price before a
    bad size.
    """
    global _level_memo_count
    price = lv["price"]
    size = lv["size"]
    if type(price) is not str or type(size) is not str:
        hash((price, size))
    level = (parse_pips(price), parse_micro(size))
    if _level_memo_count >= _LEVEL_MEMO_MAX:
        _LEVEL_MEMO.clear()
        _level_memo_count = 0
    _LEVEL_MEMO.setdefault(price, {})[size] = level
    _level_memo_count += 1
    return level


_BOOK_FIELDS: Final = ("token_id", "condition_id", "bids", "asks", "hash", "ts_event_ms",
                       "ts_recv_ns", "tick_pips", "min_size_micro")
_BOOK_SET: Final = slot_setters(BookSnapshot, _BOOK_FIELDS)


def book_event(ev: dict[str, Any], ts_recv_ns: int) -> BookSnapshot:
    """A ``book`` object → BookSnapshot, bids best (highest) first, asks best (lowest) first.

    Raises:
        WireError: naming the field that is missing or malformed.
    """
    f = "asset_id"
    try:
        token = ev["asset_id"]
        if type(token) is not str:
            need_str(token)
        f = "market"
        cid = ev["market"]
        if type(cid) is not str:
            need_str(cid)
        f = "timestamp"
        ts = ev["timestamp"]
        ts = int(ts) if type(ts) is str and ts.isdigit() and ts.isascii() else parse_ms(ts)
        f = "bids"
        bids = _levels(ev["bids"])
        f = "asks"
        asks = _levels(ev["asks"])
        f = "hash"
        hash_ = ev.get("hash", "")
        if type(hash_) is not str:
            need_str(hash_)
        f = "tick_size"
        tick = ev.get("tick_size")
        tick_pips = PIPS_MEMO.get(tick) if type(tick) is str else None
        if tick_pips is None and tick is not None:
            tick_pips = parse_pips_num(tick)
        f = "min_order_size"
        min_size = ev.get("min_order_size")
        if type(min_size) is str and min_size.isdigit() and min_size.isascii():
            min_micro: int | None = int(min_size) * 1_000_000  # whole units, as usually sent
        else:
            min_micro = None if min_size is None else parse_micro_num(min_size)
    except CONVERSION_ERRORS as exc:
        raise field_error("book", f, exc) from None
    # The venue's array order is not a contract (protocol §9): sort here, best first.
    bids.sort(reverse=True)
    asks.sort()
    book = _new(BookSnapshot)
    set_token, set_cid, set_bids, set_asks, set_hash, set_ts, set_recv, set_tick, set_min = (
        _BOOK_SET)
    set_token(book, token)
    set_cid(book, cid)
    set_bids(book, tuple(bids))
    set_asks(book, tuple(asks))
    set_hash(book, hash_)
    set_ts(book, ts)
    set_recv(book, ts_recv_ns)
    set_tick(book, tick_pips)
    set_min(book, min_micro)
    return book
