"""``GET /data/order/{id}`` and ``GET /data/orders`` objects as ``RemoteOrder`` messages.

The venue's view of our orders, for reconciliation and for resolving a post whose outcome is
unknown. An empty ``size_matched`` means 0 (the venue sends "" for an order never matched);
a malformed object is logged and skipped. Pure code, no threads: the OrderManager's thread
calls it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from messages import ConditionId, OrderHash, RemoteOrder, Side, TokenId
from venue.numbers import parse_micro, parse_pips

logger = logging.getLogger(__name__)


def _micro(value: object) -> int:
    text = str(value)
    return 0 if text == "" else parse_micro(text)


def remote_orders(docs: Iterable[Any]) -> list[RemoteOrder]:
    """``GET /data/order(s)`` objects as ``RemoteOrder``s; malformed entries are logged and
    skipped."""
    out: list[RemoteOrder] = []
    for d in docs:
        try:
            out.append(RemoteOrder(
                order_id=OrderHash(str(d["id"]).lower()),
                condition_id=ConditionId(str(d.get("market", ""))),
                token_id=TokenId(str(d.get("asset_id", ""))),
                side=Side(str(d.get("side", "BUY")).upper()),
                price_pips=parse_pips(str(d.get("price", "0"))),
                original_size_micro=parse_micro(str(d.get("original_size", "0"))),
                size_matched_micro=_micro(d.get("size_matched", "")),
                status=str(d.get("status", "")).upper()))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            logger.error("order manager: malformed order object from the venue: %s", exc)
    return out
