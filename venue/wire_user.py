"""User channel (protocol §2) frames to order and trade events.

Sizes arrive in shares and become micro-units; prices become pips. ``timestamp`` (ms) is the
event time; when a frame lacks it, the seconds fields (``created_at`` for orders,
``match_time``/``matchtime``/``last_update`` for trades) stand in, scaled to ms.
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
    field_error,
    load_frame,
    need_str,
    parse_ms,
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


def _event_ms(ev: dict[str, Any], seconds_keys: tuple[str, ...]) -> int:
    """``timestamp`` in ms, else the first present seconds field × 1000."""
    ts = ev.get("timestamp")
    if ts is not None:
        return parse_ms(ts)
    for key in seconds_keys:
        secs = ev.get(key)
        if secs is not None:
            return parse_ms(secs) * 1000
    raise KeyError("timestamp")


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
        matched = parse_micro(ev.get("size_matched", "0"))
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
