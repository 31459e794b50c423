"""What the State actor hands the Quoter, and what the Quoter hands the OrderManager.

Both pass through latest-only slots, so each value is a complete target state: dropping an
older one loses nothing. Per-market and per-asset views are immutable and reused by the State
actor when unchanged, so a snapshot is a small tuple of shared objects, not a copy of state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from messages.ids import ConditionId, Side, TokenId
from messages.markets import Market


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketView:
    """Everything quoting needs about one market at one moment.

    Book tops are ``None`` for an empty side. ``tick_pips`` is the live tick (it follows
    ``tick_size_change``), ``None`` when unknown. Positions count confirmed and provisional
    (MATCHED/MINED) fills; FAILED trades are already reversed. ``book_recv_ns`` is the local
    receive time of the last book event for either token (0 = none yet); ``book_synced`` is false
    until both tokens have a snapshot and while a resync is pending.
    """

    market: Market
    tick_pips: int | None
    up_bid_pips: int | None
    up_ask_pips: int | None
    down_bid_pips: int | None
    down_ask_pips: int | None
    book_recv_ns: int
    book_synced: bool
    position_up_micro: int
    position_down_micro: int
    strike_e8: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RefView:
    """Reference prices for one asset; ``*_recv_ns`` is 0 where that stream has no value yet.

    ``sigma_per_sqrt_s`` is the EWMA volatility of log-returns per √second (floats are allowed
    inside the pricing model only).
    """

    asset: str
    binance_e8: int
    binance_recv_ns: int
    chainlink_e8: int
    chainlink_recv_ns: int
    twap_e8: int
    twap_recv_ns: int
    sigma_per_sqrt_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class QuoteSnapshot:
    """All markets' views at one moment, numbered by the State actor.

    ``now_ms`` is the decision clock (the causing event's receive time), never the wall clock,
    so replay reproduces every decision. ``cause_recv_ns`` is the receive time of the event that
    produced this snapshot (the start of the tick-to-order path).
    """

    seq: int
    now_ms: int
    cause_recv_ns: int
    markets: tuple[MarketView, ...]
    refs: tuple[RefView, ...]
    market_feed_up: bool
    user_feed_up: bool
    price_feed_up: bool
    kill_switch: bool = False


class GateReason(StrEnum):
    """Why a market gets no quotes. ``NONE`` = quoting."""

    NONE = "none"
    REF_STALE = "ref_stale"
    BOOK_STALE = "book_stale"
    BOOK_RESYNC = "book_resync"
    USER_FEED_DOWN = "user_feed_down"
    MARKET_FEED_DOWN = "market_feed_down"
    STRIKE_UNKNOWN = "strike_unknown"
    NEAR_CLOSE = "near_close"
    NOT_STARTED = "not_started"
    TICK_UNKNOWN = "tick_unknown"
    NOT_ACCEPTING = "not_accepting"
    KILL_SWITCH = "kill_switch"


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredQuote:
    """One order the strategy wants resting."""

    condition_id: ConditionId
    token_id: TokenId
    side: Side
    price_pips: int
    size_micro: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketDecision:
    """Per-market outcome of one quoting pass: the gate and, when quoting, fair value and the
    tick the quotes are on (the State's live tick: the OrderManager checks and diffs on it, so
    the tick has one owner)."""

    condition_id: ConditionId
    gate: GateReason
    fair_up_pips: int | None = None
    half_spread_pips: int | None = None
    tick_pips: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredQuotes:
    """The complete target: every market in ``decisions`` is managed; its orders that are not
    in ``quotes`` get canceled (a gated market has no quotes, so all its orders go)."""

    seq: int
    now_ms: int
    cause_recv_ns: int
    quotes: tuple[DesiredQuote, ...]
    decisions: tuple[MarketDecision, ...]
