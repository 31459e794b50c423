"""Market channel (protocol §1) frames to market messages.

One conversion function per message type; :func:`decode_market` dispatches on ``event_type``.
``book`` is converted in :mod:`venue.wire_book` (the REST ``/book`` reply shares it). The
``book`` and ``price_change`` paths are the hot ones (tens of thousands of frames a second on a
busy subscription), so they trade a little brevity for speed: globals bound to locals, no
function call per level (the price memo read inline), sides looked up in a dict instead of
calling ``Side(...)``, and their messages built with :func:`~venue.wire_common.slot_setters`
instead of the frozen dataclasses' slow ``__init__``. Pure functions; the memos are shared
between reader threads (see their notes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from orjson import JSONDecodeError
from orjson import loads as _loads

from messages import (
    BestBidAsk,
    BookChange,
    BookSnapshot,
    ConditionId,
    LastTrade,
    LevelChange,
    MarketAnnounced,
    MarketResolved,
    Side,
    TickSizeChanged,
    TokenId,
)
from venue.numbers import PIPS_MEMO, parse_int, parse_micro, parse_pips, parse_pips_num
from venue.wire_book import book_event
from venue.wire_common import (
    CONVERSION_ERRORS,
    MAX_FRAME_BYTES,
    WireError,
    decode_events,
    field_error,
    load_frame,
    need_str,
    parse_ms,
    slot_setters,
)

__all__ = ["MarketMessage", "decode_market"]

MarketMessage = (BookSnapshot | BookChange | TickSizeChanged | LastTrade | BestBidAsk
                 | MarketAnnounced | MarketResolved)

SIDES: Final[dict[str, Side]] = {"BUY": Side.BUY, "SELL": Side.SELL}
_new = object.__new__


def _side(x: object, where: str) -> Side:
    side = SIDES.get(x) if type(x) is str else None
    if side is None:
        raise WireError("bad_value", f"{where}: side {x!r} is not BUY or SELL")
    return side


_CHANGE_FIELDS: Final = ("condition_id", "changes", "ts_event_ms", "ts_recv_ns")
_LEVEL_FIELDS: Final = ("token_id", "side", "price_pips", "size_micro", "best_bid_pips",
                        "best_ask_pips")
_CHANGE_SET: Final = slot_setters(BookChange, _CHANGE_FIELDS)
_LEVEL_SET: Final = slot_setters(LevelChange, _LEVEL_FIELDS)


def _price_change(ev: dict[str, Any], ts_recv_ns: int) -> BookChange:
    """``price_change`` (current format, or the legacy one-asset ``changes``) → BookChange."""
    pget = PIPS_MEMO.get
    pp = parse_pips
    pm = parse_micro
    sides = SIDES
    new = _new
    level_cls = LevelChange
    set_token, set_side, set_price, set_size, set_bid, set_ask = _LEVEL_SET
    f = "market"
    try:
        cid = ev["market"]
        if type(cid) is not str:
            raise TypeError("market is not a string")
        f = "timestamp"
        ts = ev["timestamp"]
        ts = int(ts) if type(ts) is str and ts.isdigit() and ts.isascii() else parse_ms(ts)
        f = "price_changes"
        entries = ev.get("price_changes")
        legacy_token = None
        if entries is None:
            # Format before 2025-09-15: one asset per frame, entries under ``changes``.
            f = "asset_id"
            legacy_token = need_str(ev["asset_id"])
            f = "changes"
            entries = ev["changes"]
        changes = []
        for e in entries:
            token = e["asset_id"] if legacy_token is None else legacy_token
            if type(token) is not str:
                raise TypeError("asset_id is not a string")
            side = sides.get(e["side"])
            if side is None:
                side = _side(e["side"], f"price_change.{f}")
            p = e["price"]
            price = pget(p)
            if price is None:
                price = pp(p)
            # best_bid/best_ask: an empty side is sent as "0"/"1"; absent (legacy) is None.
            bb = e.get("best_bid")
            if bb:
                bid = pget(bb)
                if bid is None:
                    bid = pp(bb)
            else:
                bid = None
            ba = e.get("best_ask")
            if ba:
                ask = pget(ba)
                if ask is None:
                    ask = pp(ba)
            else:
                ask = None
            lc = new(level_cls)
            set_token(lc, token)
            set_side(lc, side)
            set_price(lc, price)
            set_size(lc, pm(e["size"]))
            set_bid(lc, bid)
            set_ask(lc, ask)
            changes.append(lc)
    except CONVERSION_ERRORS as exc:
        raise field_error("price_change", f, exc) from None
    bc = new(BookChange)
    set_cid, set_changes, set_ts, set_recv = _CHANGE_SET
    set_cid(bc, cid)
    set_changes(bc, tuple(changes))
    set_ts(bc, ts)
    set_recv(bc, ts_recv_ns)
    return bc


def _tick_size_change(ev: dict[str, Any], ts_recv_ns: int) -> TickSizeChanged:
    f = "asset_id"
    try:
        token = need_str(ev["asset_id"])
        f = "market"
        cid = need_str(ev["market"])
        f = "old_tick_size"
        old = parse_pips_num(ev["old_tick_size"])
        f = "new_tick_size"
        new = parse_pips_num(ev["new_tick_size"])
        f = "timestamp"
        ts = parse_ms(ev["timestamp"])
    except CONVERSION_ERRORS as exc:
        raise field_error("tick_size_change", f, exc) from None
    return TickSizeChanged(token_id=TokenId(token), condition_id=ConditionId(cid),
                           old_tick_pips=old, new_tick_pips=new, ts_event_ms=ts,
                           ts_recv_ns=ts_recv_ns)


def _last_trade_price(ev: dict[str, Any], ts_recv_ns: int) -> LastTrade:
    f = "asset_id"
    try:
        token = need_str(ev["asset_id"])
        f = "market"
        cid = need_str(ev["market"])
        f = "price"
        price = parse_pips(ev["price"])
        f = "size"
        size = parse_micro(ev["size"])
        f = "side"
        side = _side(ev["side"], "last_trade_price.side")
        f = "fee_rate_bps"
        fee = ev.get("fee_rate_bps", "0")
        fee_bps = fee if type(fee) is int else parse_int(fee)
        f = "timestamp"
        ts = parse_ms(ev["timestamp"])
    except CONVERSION_ERRORS as exc:
        raise field_error("last_trade_price", f, exc) from None
    return LastTrade(token_id=TokenId(token), condition_id=ConditionId(cid), price_pips=price,
                     size_micro=size, side=side, fee_rate_bps=fee_bps, ts_event_ms=ts,
                     ts_recv_ns=ts_recv_ns)


def _best_bid_ask(ev: dict[str, Any], ts_recv_ns: int) -> BestBidAsk:
    f = "asset_id"
    try:
        token = need_str(ev["asset_id"])
        f = "market"
        cid = need_str(ev["market"])
        # An absent, null or empty best price means that side of the book is empty.
        f = "best_bid"
        bb = ev.get("best_bid")
        bid = parse_pips(bb) if bb else None
        f = "best_ask"
        ba = ev.get("best_ask")
        ask = parse_pips(ba) if ba else None
        f = "timestamp"
        ts = parse_ms(ev["timestamp"])
    except CONVERSION_ERRORS as exc:
        raise field_error("best_bid_ask", f, exc) from None
    return BestBidAsk(token_id=TokenId(token), condition_id=ConditionId(cid), best_bid_pips=bid,
                      best_ask_pips=ask, ts_event_ms=ts, ts_recv_ns=ts_recv_ns)


def _new_market(ev: dict[str, Any], ts_recv_ns: int) -> MarketAnnounced:
    f = "market"
    try:
        cid = need_str(ev["market"])
        f = "slug"
        slug = need_str(ev.get("slug", ""))
        f = "assets_ids"
        raw_ids = ev.get("assets_ids")
        if raw_ids is None:
            raw_ids = ev.get("clob_token_ids", [])
        if type(raw_ids) is not list:
            raise TypeError("assets_ids is not an array")
        token_ids = tuple(TokenId(need_str(t)) for t in raw_ids)
        f = "timestamp"
        ts = parse_ms(ev["timestamp"])
    except CONVERSION_ERRORS as exc:
        raise field_error("new_market", f, exc) from None
    return MarketAnnounced(condition_id=ConditionId(cid), slug=slug, token_ids=token_ids,
                           ts_event_ms=ts, ts_recv_ns=ts_recv_ns)


def _market_resolved(ev: dict[str, Any], ts_recv_ns: int) -> MarketResolved:
    f = "market"
    try:
        cid = need_str(ev["market"])
        f = "winning_asset_id"
        winner = need_str(ev["winning_asset_id"])
        f = "winning_outcome"
        outcome = need_str(ev.get("winning_outcome", ""))
        f = "timestamp"
        ts = parse_ms(ev["timestamp"])
    except CONVERSION_ERRORS as exc:
        raise field_error("market_resolved", f, exc) from None
    return MarketResolved(condition_id=ConditionId(cid), winning_token_id=TokenId(winner),
                          winning_outcome=outcome, ts_event_ms=ts, ts_recv_ns=ts_recv_ns)


_HANDLERS: Final[dict[str, Callable[[dict[str, Any], int], MarketMessage]]] = {
    "book": book_event,
    "price_change": _price_change,
    "tick_size_change": _tick_size_change,
    "last_trade_price": _last_trade_price,
    "best_bid_ask": _best_bid_ask,
    "new_market": _new_market,
    "market_resolved": _market_resolved,
}


def decode_market(frame: bytes | str, ts_recv_ns: int, *,
                  max_bytes: int = MAX_FRAME_BYTES) -> list[MarketMessage]:
    """Decode one market-channel frame (an event object or an array of them).

    ``PONG`` and empty frames give ``[]``. Raises :class:`WireError` (only) on anything
    malformed; in an array, one bad event fails the whole frame.
    """
    # load_frame inlined for the common case (a frame of JSON within the limit).
    try:
        doc = _loads(frame) if len(frame) <= max_bytes else load_frame(frame, max_bytes)
    except JSONDecodeError:
        doc = load_frame(frame, max_bytes)
    if type(doc) is dict:
        # Fast path for the common single-event frame; everything else takes the general one.
        et = doc.get("event_type")
        handler = _HANDLERS.get(et) if type(et) is str else None
        if handler is not None:
            return [handler(doc, ts_recv_ns)]
    return decode_events(doc, ts_recv_ns, _HANDLERS, "market")
