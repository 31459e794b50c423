"""Identifier types shared by every message.

Ids are plain strings on the wire; the `NewType`s only make signatures say which id they mean.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NewType

TokenId = NewType("TokenId", str)
"""A CLOB token id (v1 markets) or Protocol V2 position id: a decimal string."""

ConditionId = NewType("ConditionId", str)
"""A market's condition id: ``0x`` + 64 hex digits (the CLOB's ``market``)."""

OrderHash = NewType("OrderHash", str)
"""An order's EIP-712 hash, ``0x`` + 64 lower-case hex digits: the venue's order id."""

TradeId = NewType("TradeId", str)
"""A trade id as the venue sends it (a UUID string)."""


class Side(StrEnum):
    """Order side. ``BUY`` levels are bids, ``SELL`` levels are asks."""

    BUY = "BUY"
    SELL = "SELL"


PIPS_PER_UNIT = 10_000
"""Prices are integer pips: 1 pip = 0.0001 pUSD per share. Every venue tick is a multiple."""

MICRO_PER_UNIT = 1_000_000
"""Sizes and amounts are integer micro-units (1e-6), the venue's base unit."""

E8_PER_UNIT = 100_000_000
"""Reference prices are integers in 1e-8 units of the quote currency (USD)."""
