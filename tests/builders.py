"""Message builders for tests: each takes overrides over a dict of defaults.

``make_market(alias="eth-15m")`` gives a complete, valid ``Market`` with only that field
changed; token ids, condition ids and times default to a fixed btc window so tests stay short.
"""

from __future__ import annotations

from typing import Any, TypeVar

from messages import (
    BestBidAsk,
    BookChange,
    BookSnapshot,
    ConditionId,
    FeedStatus,
    KillSwitch,
    LastTrade,
    LevelChange,
    MakerFill,
    Market,
    MarketResolved,
    MarketsChanged,
    OrderEvent,
    OrderEventType,
    OrderHash,
    PriceSource,
    PriceUpdate,
    Side,
    TickSizeChanged,
    TimerFired,
    TokenId,
    TradeEvent,
    TradeId,
    TradeStatus,
)

OWNER = "owner-key-1"
OTHER = "someone-else"
CID = ConditionId("0x" + "ab" * 32)
UP = TokenId("1111")
DOWN = TokenId("2222")
START_MS = 1_800_000_000_000
END_MS = START_MS + 900_000
T0_NS = START_MS * 1_000_000


T = TypeVar("T")


def _build(cls: type[T], defaults: dict[str, Any], overrides: dict[str, Any]) -> T:
    unknown = set(overrides) - set(defaults)
    if unknown:
        raise TypeError(f"{cls.__name__} builder: unknown fields {sorted(unknown)}")
    return cls(**{**defaults, **overrides})


def make_market(**kw: Any) -> Market:
    return _build(Market, dict(
        condition_id=CID, slug="btc-updown-15m-1800000000", alias="btc-15m",
        question="Bitcoin Up or Down?", token_ids=(UP, DOWN), outcomes=("Up", "Down"),
        version="v1", neg_risk=False, tick_pips=100, min_size_micro=5_000_000,
        start_ms=START_MS, end_ms=END_MS, accepting_orders=True, asset="btc",
        strategy="updown", taker_fee_rate_bps=0, maker_rebate_bps=0, price_to_beat_e8=None,
    ), kw)


def market_n(n: int, **kw: Any) -> Market:
    """The n-th of several distinct markets: own condition id and tokens ``1000+2n, 1001+2n``."""
    cid = ConditionId("0x" + f"{n:02x}" * 32)
    toks = (TokenId(str(1000 + 2 * n)), TokenId(str(1001 + 2 * n)))
    return make_market(**{"condition_id": cid, "token_ids": toks, **kw})


def make_markets_changed(*markets: Market, **kw: Any) -> MarketsChanged:
    return _build(MarketsChanged, dict(
        markets=tuple(markets), added=tuple(m.condition_id for m in markets), removed=(),
        ts_recv_ns=T0_NS), kw)


def make_snapshot(**kw: Any) -> BookSnapshot:
    return _build(BookSnapshot, dict(
        token_id=UP, condition_id=CID, bids=((4800, 30_000_000), (4900, 20_000_000)),
        asks=((5200, 25_000_000), (5300, 60_000_000)), hash="0x", ts_event_ms=START_MS,
        ts_recv_ns=T0_NS, tick_pips=None, min_size_micro=None), kw)


def make_level(**kw: Any) -> LevelChange:
    return _build(LevelChange, dict(
        token_id=UP, side=Side.BUY, price_pips=5000, size_micro=10_000_000,
        best_bid_pips=None, best_ask_pips=None), kw)


def make_change(*changes: LevelChange, **kw: Any) -> BookChange:
    return _build(BookChange, dict(
        condition_id=CID, changes=tuple(changes), ts_event_ms=START_MS + 1,
        ts_recv_ns=T0_NS + 1_000_000), kw)


def make_tick_change(**kw: Any) -> TickSizeChanged:
    return _build(TickSizeChanged, dict(
        token_id=UP, condition_id=CID, old_tick_pips=100, new_tick_pips=10,
        ts_event_ms=START_MS, ts_recv_ns=T0_NS), kw)


def make_best(**kw: Any) -> BestBidAsk:
    return _build(BestBidAsk, dict(
        token_id=UP, condition_id=CID, best_bid_pips=4900, best_ask_pips=5200,
        ts_event_ms=START_MS, ts_recv_ns=T0_NS), kw)


def make_last_trade(**kw: Any) -> LastTrade:
    return _build(LastTrade, dict(
        token_id=UP, condition_id=CID, price_pips=5000, size_micro=1_000_000, side=Side.BUY,
        fee_rate_bps=0, ts_event_ms=START_MS, ts_recv_ns=T0_NS), kw)


def make_resolved(**kw: Any) -> MarketResolved:
    return _build(MarketResolved, dict(
        condition_id=CID, winning_token_id=UP, winning_outcome="Up", ts_event_ms=END_MS,
        ts_recv_ns=END_MS * 1_000_000, from_reference=False), kw)


def make_price(**kw: Any) -> PriceUpdate:
    return _build(PriceUpdate, dict(
        asset="btc", source=PriceSource.BINANCE, price_e8=100_000 * 10**8,
        ts_event_ms=START_MS, ts_recv_ns=T0_NS, provider="", window_seconds=0, seq=0,
        snapshot=False), kw)


def make_maker_fill(**kw: Any) -> MakerFill:
    return _build(MakerFill, dict(
        order_id=OrderHash("0x" + "11" * 32), owner=OWNER, token_id=UP, side=Side.BUY,
        price_pips=4900, matched_size_micro=10_000_000), kw)


def make_trade(**kw: Any) -> TradeEvent:
    """By default: a taker of someone else's SELL hits our resting BUY of 10 Up at 0.49."""
    return _build(TradeEvent, dict(
        trade_id=TradeId("trade-1"), status=TradeStatus.MATCHED, condition_id=CID,
        token_id=UP, side=Side.SELL, price_pips=4900, size_micro=10_000_000,
        taker_order_id=OrderHash("0x" + "22" * 32), trader_side="MAKER", owner=OWNER,
        maker_fills=(make_maker_fill(),), ts_event_ms=START_MS, ts_recv_ns=T0_NS), kw)


def make_order_event(**kw: Any) -> OrderEvent:
    return _build(OrderEvent, dict(
        order_id=OrderHash("0x" + "11" * 32), condition_id=CID, token_id=UP, side=Side.BUY,
        type=OrderEventType.PLACEMENT, status="LIVE", price_pips=4900,
        original_size_micro=10_000_000, size_matched_micro=0, owner=OWNER,
        ts_event_ms=START_MS, ts_recv_ns=T0_NS), kw)


def make_feed(**kw: Any) -> FeedStatus:
    return _build(FeedStatus, dict(
        feed="market", connected=True, reason="connected", ts_recv_ns=T0_NS, token_ids=()), kw)


def make_kill(**kw: Any) -> KillSwitch:
    return _build(KillSwitch, dict(on=True, reason="test", ts_recv_ns=T0_NS), kw)


def make_timer(**kw: Any) -> TimerFired:
    return _build(TimerFired, dict(name="state", ts_recv_ns=T0_NS), kw)
