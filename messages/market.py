"""Market-channel data: books, level changes, ticks, trades, market lifecycle.

Every datum carries the venue's time (``ts_event_ms``) and the local receive time
(``ts_recv_ns``, ``time.time_ns()`` on the reader thread that decoded it).
"""

from __future__ import annotations

from dataclasses import dataclass

from messages.ids import ConditionId, Side, TokenId

Level = tuple[int, int]
"""One book level: ``(price_pips, size_micro)``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BookSnapshot:
    """A full book for one token (``book`` event or ``GET /book``).

    ``bids`` are sorted best (highest) first, ``asks`` best (lowest) first.
    """

    token_id: TokenId
    condition_id: ConditionId
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    hash: str
    ts_event_ms: int
    ts_recv_ns: int
    tick_pips: int | None = None
    min_size_micro: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelChange:
    """One entry of a ``price_change``: the new total size at a level (0 removes it).

    ``best_bid_pips``/``best_ask_pips`` are the venue's top of book after the change, used as a
    checksum; an empty side is sent as "0" (bid) or "1" (ask), i.e. 0 or 10000 pips.
    """

    token_id: TokenId
    side: Side
    price_pips: int
    size_micro: int
    best_bid_pips: int | None
    best_ask_pips: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BookChange:
    """A ``price_change`` frame: level replacements, possibly for several tokens."""

    condition_id: ConditionId
    changes: tuple[LevelChange, ...]
    ts_event_ms: int
    ts_recv_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TickSizeChanged:
    """The venue changed a token's tick; orders on the old grid will be rejected."""

    token_id: TokenId
    condition_id: ConditionId
    old_tick_pips: int
    new_tick_pips: int
    ts_event_ms: int
    ts_recv_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LastTrade:
    """A match on the market (``last_trade_price``); ``side`` is the taker's side."""

    token_id: TokenId
    condition_id: ConditionId
    price_pips: int
    size_micro: int
    side: Side
    fee_rate_bps: int
    ts_event_ms: int
    ts_recv_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BestBidAsk:
    """Top of book for one token (``best_bid_ask``, custom feature). None = empty side."""

    token_id: TokenId
    condition_id: ConditionId
    best_bid_pips: int | None
    best_ask_pips: int | None
    ts_event_ms: int
    ts_recv_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketAnnounced:
    """A ``new_market`` event. Informational: discovery polls Gamma, it does not rely on this."""

    condition_id: ConditionId
    slug: str
    token_ids: tuple[TokenId, ...]
    ts_event_ms: int
    ts_recv_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketResolved:
    """A ``market_resolved`` event: the market is over; its remaining orders are canceled.

    ``from_reference``: made by the paper exchange (a dry run, a backtest), which settles an
    up/down window from the reference price against its strike when the window ends; False
    for the venue's own message."""

    condition_id: ConditionId
    winning_token_id: TokenId
    winning_outcome: str
    ts_event_ms: int
    ts_recv_ns: int
    from_reference: bool = False
