"""User channel (protocol §2) frames to order and trade events.

Sizes arrive in shares and become micro-units; prices become pips. ``timestamp`` is the event
time; when a frame lacks it, ``created_at`` (orders) or ``match_time``/``matchtime``/
``last_update`` (trades) stand in. The protocol gives ``timestamp`` in milliseconds and the
others in seconds, but the venue has sent trades whose ``timestamp`` is in seconds and orders
whose ``created_at`` is in milliseconds, so every one of them goes through
:func:`~venue.wire_common.epoch_ms`, which tells the unit by magnitude (seconds < 1e11 ≤ ms <
1e14) and refuses anything larger; a time is never taken in the wrong unit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from messages import (
    ConditionId,
    MakerFill,
    OrderEvent,
    OrderEventType,
    OrderHash,
    TokenId,
    TradeEvent,
    TradeId,
    TradeStatus,
)
from venue.numbers import parse_micro, parse_pips
from venue.wire_common import (
    CONVERSION_ERRORS,
    MAX_FRAME_BYTES,
    WireError,
    decode_events,
    epoch_ms,
    field_error,
    load_frame,
    need_str,
)
from venue.wire_market import SIDES

__all__ = ["UserMessage", "decode_user"]

UserMessage = OrderEvent | TradeEvent

_ORDER_TYPES: Final = {t.value: t for t in OrderEventType}
_TRADE_STATUSES: Final = {s.value: s for s in TradeStatus}
_STATUS_PREFIX: Final = "TRADE_STATUS_"


def _lookup(table: dict[str, Any], x: object, where: str) -> Any:
    value = table.get(x) if type(x) is str else None
    if value is None:
        raise WireError("bad_value", f"{where}: unexpected value {x!r}")
    return value


def _event_ms(ev: dict[str, Any], fallback_keys: tuple[str, ...]) -> int:
    """``timestamp``, else the first of ``fallback_keys`` that is present and not empty, in ms.

    Empty counts as absent: the venue sends ``"created_at": ""`` on a killed FOK order.
    """
    ts = ev.get("timestamp")
    if ts is None or ts == "":
        for key in fallback_keys:
            ts = ev.get(key)
            if ts is not None and ts != "":
                break
        else:
            raise KeyError("timestamp")
    return epoch_ms(ts)


def _order(ev: dict[str, Any], ts_recv_ns: int) -> OrderEvent:
    f = "id"
    try:
        order_id = need_str(ev["id"])
        f = "market"
        cid = need_str(ev["market"])
        f = "asset_id"
        token = need_str(ev["asset_id"])
        f = "side"
        side = _lookup(SIDES, ev["side"], "order.side")
        f = "type"
        type_ = _lookup(_ORDER_TYPES, ev["type"], "order.type")
        f = "status"
        status = need_str(ev["status"])
        f = "price"
        price = parse_pips(ev["price"])
        f = "original_size"
        original = parse_micro(ev["original_size"])
        f = "size_matched"
        # A FOK order killed before any match is sent with "size_matched": "" (the CANCELLATION
        # of the account's own order must not be dropped): empty, like absent, means 0.
        sm = ev.get("size_matched", "")
        matched = 0 if sm == "" else parse_micro(sm)
        f = "owner"
        owner = need_str(ev.get("owner", ""))
        f = "timestamp"
        ts = _event_ms(ev, ("created_at",))
    except CONVERSION_ERRORS as exc:
        raise field_error("order", f, exc) from None
    return OrderEvent(order_id=OrderHash(order_id), condition_id=ConditionId(cid),
                      token_id=TokenId(token), side=side, type=type_, status=status,
                      price_pips=price, original_size_micro=original, size_matched_micro=matched,
                      owner=owner, ts_event_ms=ts, ts_recv_ns=ts_recv_ns)


def _maker_fill(m: dict[str, Any]) -> MakerFill:
    f = "order_id"
    try:
        order_id = need_str(m["order_id"])
        f = "owner"
        owner = need_str(m.get("owner", ""))
        f = "asset_id"
        token = need_str(m["asset_id"])
        f = "side"
        side = _lookup(SIDES, m["side"], "trade.maker_orders.side")
        f = "price"
        price = parse_pips(m["price"])
        f = "matched_amount"
        matched = parse_micro(m["matched_amount"])
    except CONVERSION_ERRORS as exc:
        raise field_error("trade.maker_orders", f, exc) from None
    return MakerFill(order_id=OrderHash(order_id), owner=owner, token_id=TokenId(token),
                     side=side, price_pips=price, matched_size_micro=matched)


def _trade(ev: dict[str, Any], ts_recv_ns: int) -> TradeEvent:
    f = "id"
    try:
        trade_id = need_str(ev["id"])
        f = "status"
        status = need_str(ev["status"])
        if status.startswith(_STATUS_PREFIX):
            status = status[len(_STATUS_PREFIX):]
        trade_status = _lookup(_TRADE_STATUSES, status, "trade.status")
        f = "market"
        cid = need_str(ev["market"])
        f = "asset_id"
        token = need_str(ev["asset_id"])
        f = "side"
        side = _lookup(SIDES, ev["side"], "trade.side")
        f = "price"
        price = parse_pips(ev["price"])
        f = "size"
        size = parse_micro(ev["size"])
        f = "taker_order_id"
        taker_order_id = need_str(ev.get("taker_order_id", ""))
        f = "trader_side"
        trader_side = need_str(ev.get("trader_side", ""))
        f = "owner"
        owner = need_str(ev.get("owner", ""))
        f = "maker_orders"
        makers = ev.get("maker_orders") or []
        if type(makers) is not list:
            raise TypeError("maker_orders is not an array")
        for m in makers:
            if type(m) is not dict:
                raise TypeError("maker_orders entry is not an object")
        f = "timestamp"
        ts = _event_ms(ev, ("match_time", "matchtime", "last_update"))
    except CONVERSION_ERRORS as exc:
        raise field_error("trade", f, exc) from None
    return TradeEvent(trade_id=TradeId(trade_id), status=trade_status,
                      condition_id=ConditionId(cid), token_id=TokenId(token), side=side,
                      price_pips=price, size_micro=size, taker_order_id=OrderHash(taker_order_id),
                      trader_side=trader_side, owner=owner,
                      maker_fills=tuple(_maker_fill(m) for m in makers), ts_event_ms=ts,
                      ts_recv_ns=ts_recv_ns)


_HANDLERS: Final[dict[str, Callable[[dict[str, Any], int], UserMessage]]] = {
    "order": _order,
    "trade": _trade,
}


def decode_user(frame: bytes | str, ts_recv_ns: int, *,
                max_bytes: int = MAX_FRAME_BYTES) -> list[UserMessage]:
    """Decode one user-channel frame (an event object or an array of them).

    ``PONG`` and empty frames give ``[]``. Raises :class:`WireError` (only) on anything
    malformed, including a trade status outside the lifecycle (``bad_value``).
    """
    return decode_events(load_frame(frame, max_bytes), ts_recv_ns, _HANDLERS, "user")
