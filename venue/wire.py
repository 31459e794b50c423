"""Websocket frames from Polymarket to polymm messages: the one place wire shapes are read.

Each decoder is ``(frame, ts_recv_ns) -> list[message]`` and raises only :class:`WireError`,
whose ``reason`` is a stable metric dimension. Numbers become integers straight from their
decimal strings (:mod:`venue.numbers`). Decoders are pure and hold no state; they run on the
feed actors' reader threads.

- :func:`decode_market` — market channel (§1): books, level changes, ticks, trades, lifecycle.
- :func:`decode_user` — user channel (§2): our orders and trades.
- :func:`decode_polybolt` — PolyBolt reference prices (§3.2), the current feed.
- :func:`decode_rtds` — RTDS reference prices (§3.1), legacy.

The CLOB's REST read replies (``/book``, ``/clob-markets``) are decoded in :mod:`venue.wire_rest`.
"""

from __future__ import annotations

from venue.wire_common import MAX_FRAME_BYTES, WireError
from venue.wire_market import MarketMessage, decode_market
from venue.wire_prices import asset_of, decode_polybolt, decode_rtds
from venue.wire_user import UserMessage, decode_user

__all__ = [
    "MAX_FRAME_BYTES",
    "MarketMessage",
    "UserMessage",
    "WireError",
    "asset_of",
    "decode_market",
    "decode_polybolt",
    "decode_rtds",
    "decode_user",
]
