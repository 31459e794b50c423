"""Synthetic market data for benchmarks: one market, realistic decoded events.

Kept apart from the scenarios so ``ingest``, ``tick_to_order`` and ``metrics`` feed the same
shapes. Events carry increasing receive times, as a live feed would.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

from messages import (
    BookChange,
    BookSnapshot,
    ConditionId,
    FeedStatus,
    LevelChange,
    Market,
    MarketsChanged,
    PriceSource,
    PriceUpdate,
    Side,
    TokenId,
)

COND = ConditionId("0x" + "ab" * 32)
UP = TokenId("71321045679252212594626385532706912750332728571942532289631379312455583992563")
DOWN = TokenId("52114319501245915516055106046884209969926127482827954674443846427813813222426")


def market(now_ms: int, *, window_s: int = 900) -> Market:
    start = now_ms - 60_000
    return Market(condition_id=COND, slug="btc-updown-15m-bench", alias="btc-15m",
                  question="Bitcoin Up or Down?", token_ids=(UP, DOWN), outcomes=("Up", "Down"),
                  version="v1", neg_risk=False, tick_pips=100, min_size_micro=5_000_000,
                  start_ms=start, end_ms=start + window_s * 1000, accepting_orders=True,
                  asset="btc", price_to_beat_e8=6_400_000_000_000)


def markets_changed(now_ns: int) -> MarketsChanged:
    m = market(now_ns // 1_000_000)
    return MarketsChanged(markets=(m,), added=(m.condition_id,), removed=(), ts_recv_ns=now_ns)


def feeds_up(now_ns: int) -> list[FeedStatus]:
    """All three feeds connected (quoting is gated until they are)."""
    return [FeedStatus(feed=f, connected=True, reason="connected", ts_recv_ns=now_ns)
            for f in ("market", "user", "price")]


def books(now_ns: int) -> list[BookSnapshot]:
    out = []
    for tok, mid in ((UP, 5000), (DOWN, 5000)):
        bids = tuple((mid - 100 * (i + 1), 100_000_000) for i in range(20))
        asks = tuple((mid + 100 * (i + 1), 100_000_000) for i in range(20))
        out.append(BookSnapshot(token_id=tok, condition_id=COND, bids=bids, asks=asks,
                                hash="", ts_event_ms=now_ns // 1_000_000, ts_recv_ns=now_ns,
                                tick_pips=100, min_size_micro=5_000_000))
    return out


def changes(n: int, *, seed: int = 1,
            start_ns: int | None = None) -> Iterator[BookChange | PriceUpdate]:
    """``n`` consistent ``price_change`` events away from the top (checksums stay right)."""
    rng = random.Random(seed)
    t = start_ns or time.time_ns()
    for i in range(n):
        t += 100_000
        up_px = 5000 - 100 * rng.randint(2, 20)
        dn_px = 5000 + 100 * rng.randint(2, 20)
        size = rng.randint(1, 500) * 1_000_000
        yield BookChange(condition_id=COND, ts_event_ms=t // 1_000_000, ts_recv_ns=t, changes=(
            LevelChange(token_id=UP, side=Side.BUY, price_pips=up_px, size_micro=size,
                        best_bid_pips=4900, best_ask_pips=5100),
            LevelChange(token_id=DOWN, side=Side.SELL, price_pips=dn_px, size_micro=size,
                        best_bid_pips=4900, best_ask_pips=5100)))
        if i % 50 == 0:
            yield PriceUpdate(asset="btc", source=PriceSource.BINANCE,
                            price_e8=6_400_000_000_000 + rng.randint(-10**9, 10**9),
                            ts_event_ms=t // 1_000_000, ts_recv_ns=t)
