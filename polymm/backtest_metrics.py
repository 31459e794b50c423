"""What a backtest measures as it runs: fills, markouts, inventory, time spent quoting, and (for
the report) the series behind the plots.

The engine (``polymm.backtest_engine``) tells a ``Measures`` each fill, each change of our
resting orders, each market set and each quoting decision, always with the virtual time; the
``Measures`` asks the State's model for the marks it needs. Markouts are taken lazily: a fill at
``t`` queues one look at ``t + h`` per horizon, and the engine calls ``due(now)`` before it
applies anything at ``now``, so each look sees the books as they stood at ``t + h``. A horizon
past the log's end is left out (counted in ``unavailable``).

Sign convention: a markout is what the fill earned against the later mid, per share, so it is
positive when the price moved our way: ``mid(t + h) - price`` for a BUY, ``price - mid`` for a
SELL. The spread captured is the same at ``h = 0`` against the mid just before the fill's
market message (what our quote rested against).

Thread ownership: the backtest's one thread. Integers inside (pips, micro-units); USD and
shares appear only in ``summary``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from messages import ConditionId, DesiredQuotes, Market, OrderFilled, QuoteSnapshot, Side, TokenId
from messages.ids import PIPS_PER_UNIT

HORIZONS_S = (1, 10, 60)
NS = 1_000_000_000


@dataclass(slots=True)
class FillRecord:
    """One fill of ours, with what the markouts found (``None``: no mark, or past the log)."""

    t_ns: int
    condition_id: ConditionId
    token_id: TokenId
    outcome_index: int
    side: Side
    price_pips: int
    size_micro: int
    mid_pips: int | None
    markouts_pips: dict[int, int | None] = field(default_factory=dict)

    def signed(self, mark_pips: int) -> int:
        """What one share earned against ``mark_pips`` (pips, our way positive)."""
        d = mark_pips - self.price_pips
        return d if self.side is Side.BUY else -d


@dataclass(slots=True)
class MarketSeries:
    """One market over time, for the report: the Up token's book top, fair value and our
    quotes in the Up token's prices (a Down BUY at p is an Up ask at 1 - p); ``None`` where a
    value is absent. Appended only when a value changed."""

    t_ns: list[int] = field(default_factory=list)
    fair_pips: list[int | None] = field(default_factory=list)
    bid_pips: list[int | None] = field(default_factory=list)
    ask_pips: list[int | None] = field(default_factory=list)
    our_bid_pips: list[int | None] = field(default_factory=list)
    our_ask_pips: list[int | None] = field(default_factory=list)
    inventory: list[tuple[int, int, int]] = field(default_factory=list)  # t, up, down (micro)


@dataclass(slots=True)
class _Listing:
    market: Market
    listed_ns: int = 0
    since_ns: int | None = None  # listed since (None: not in the set now)
    quoting_ns: int = 0
    resting_since_ns: int | None = None
    max_up: int = 0
    max_down: int = 0
    max_net: int = 0


class Measures:
    """Everything a backtest reports beyond the paper exchange's account.

    Args:
        mark: the State's mark of a token now (book mid, else the last trade; a resolved
            market's payout), ``None`` when there is none.
        trace: keep the report's series (costs memory and time; off for ``--json``).
    """

    def __init__(self, mark: Callable[[TokenId], int | None], *, trace: bool = False) -> None:
        self._mark = mark
        self.trace = trace
        self.fills: list[FillRecord] = []
        self._due: list[tuple[int, int, int]] = []  # (due_ns, fill index, horizon)
        self.unavailable: dict[int, int] = dict.fromkeys(HORIZONS_S, 0)
        self._markets: dict[ConditionId, _Listing] = {}
        self._tokens: dict[TokenId, tuple[ConditionId, int]] = {}
        self.max_position_micro = 0
        self.series: dict[ConditionId, MarketSeries] = {}
        self._last_point: dict[ConditionId, tuple[int | None, ...]] = {}
        self.pnl_series: list[tuple[int, int]] = []  # t, pnl (micro-pUSD)

    # -- inputs ------------------------------------------------------------------------------

    def markets(self, markets: Sequence[Market], now_ns: int) -> None:
        """The market set changed (discovery's ``MarketsChanged``)."""
        wanted = {m.condition_id for m in markets}
        for cid, lst in self._markets.items():
            if cid not in wanted and lst.since_ns is not None:
                self._close(lst, now_ns)
        for m in markets:
            lst = self._markets.setdefault(m.condition_id, _Listing(m))
            lst.market = m
            if lst.since_ns is None:
                lst.since_ns = now_ns
            for i, t in enumerate(m.token_ids):
                self._tokens[t] = (m.condition_id, i)
            if self.trace:
                self.series.setdefault(m.condition_id, MarketSeries())

    def fill(self, ev: OrderFilled, now_ns: int) -> None:
        """A fill of ours (the planner's ``OrderFilled``, MATCHED): its markouts are queued."""
        _, index = self._tokens.get(ev.token_id, (ev.condition_id, 0))
        rec = FillRecord(t_ns=now_ns, condition_id=ev.condition_id, token_id=ev.token_id,
                         outcome_index=index, side=ev.side, price_pips=ev.price_pips,
                         size_micro=ev.size_micro, mid_pips=self._mark(ev.token_id))
        n = len(self.fills)
        self.fills.append(rec)
        for h in HORIZONS_S:
            heapq.heappush(self._due, (now_ns + h * NS, n, h))

    def positions(self, position: Callable[[TokenId], int], now_ns: int,
                  conditions: Iterable[ConditionId]) -> None:
        """Our positions after fills or a settlement in ``conditions``."""
        for cid in conditions:
            lst = self._markets.get(cid)
            if lst is None:
                continue
            up, down = (position(t) for t in lst.market.token_ids)
            lst.max_up = max(lst.max_up, abs(up))
            lst.max_down = max(lst.max_down, abs(down))
            lst.max_net = max(lst.max_net, abs(up - down))
            self.max_position_micro = max(self.max_position_micro, abs(up), abs(down))
            if self.trace and cid in self.series:
                self.series[cid].inventory.append((now_ns, up, down))

    def resting(self, counts: dict[ConditionId, int], now_ns: int) -> None:
        """How many orders of ours rest in each market's book now (absent: none)."""
        for cid, lst in self._markets.items():
            if counts.get(cid, 0) > 0:
                if lst.resting_since_ns is None:
                    lst.resting_since_ns = now_ns
            elif lst.resting_since_ns is not None:
                lst.quoting_ns += now_ns - lst.resting_since_ns
                lst.resting_since_ns = None

    def quoted(self, snap: QuoteSnapshot, desired: DesiredQuotes, now_ns: int) -> None:
        """One quoting decision (report series only)."""
        if not self.trace:
            return
        fair = {d.condition_id: d.fair_up_pips for d in desired.decisions}
        ours: dict[ConditionId, list[int | None]] = {}
        for q in desired.quotes:
            cid_index = self._tokens.get(q.token_id)
            if cid_index is None or q.side is not Side.BUY:
                continue
            slot = ours.setdefault(q.condition_id, [None, None])
            # Up BUY: our bid; Down BUY at p: an Up ask at 1 - p.
            slot[cid_index[1]] = q.price_pips if cid_index[1] == 0 else PIPS_PER_UNIT - q.price_pips
        for view in snap.markets:
            cid = view.market.condition_id
            s = self.series.get(cid)
            if s is None:
                continue
            bid, ask = ours.get(cid, [None, None])
            point = (fair.get(cid), view.up_bid_pips, view.up_ask_pips, bid, ask)
            if self._last_point.get(cid) == point:
                continue
            self._last_point[cid] = point
            s.t_ns.append(now_ns)
            for lst, v in zip((s.fair_pips, s.bid_pips, s.ask_pips, s.our_bid_pips,
                               s.our_ask_pips), point, strict=True):
                lst.append(v)

    def pnl_point(self, now_ns: int, pnl_micro: int) -> None:
        if self.trace:
            self.pnl_series.append((now_ns, pnl_micro))

    def due(self, now_ns: int) -> None:
        """Take every markout due at or before ``now_ns`` from the marks as they stand."""
        while self._due and self._due[0][0] <= now_ns:
            _, n, h = heapq.heappop(self._due)
            rec = self.fills[n]
            mark = self._mark(rec.token_id)
            rec.markouts_pips[h] = None if mark is None else rec.signed(mark)

    def finish(self, end_ns: int) -> None:
        """The log ended at ``end_ns``: close the clocks; markouts not yet due stay out."""
        self.due(end_ns)
        for _, n, h in self._due:
            self.unavailable[h] += 1
            self.fills[n].markouts_pips.setdefault(h, None)
        self._due.clear()
        for lst in self._markets.values():
            if lst.since_ns is not None:
                self._close(lst, end_ns)

    def _close(self, lst: _Listing, now_ns: int) -> None:
        assert lst.since_ns is not None
        lst.listed_ns += now_ns - lst.since_ns
        lst.since_ns = None
        if lst.resting_since_ns is not None:
            lst.quoting_ns += now_ns - lst.resting_since_ns
            lst.resting_since_ns = None

    # -- output ------------------------------------------------------------------------------

    def spread_captured_micro(self) -> tuple[int, int]:
        """``(pUSD micro, fills without a mid)``: each fill against the mid it rested against."""
        total = missing = 0
        for f in self.fills:
            if f.mid_pips is None:
                missing += 1
            else:
                total += f.signed(f.mid_pips) * f.size_micro
        return total // PIPS_PER_UNIT, missing

    def markout_summary(self) -> dict[str, dict[str, Any]]:
        """Per horizon: fills marked, size-weighted mean (pips), total (USD)."""
        out: dict[str, dict[str, Any]] = {}
        for h in HORIZONS_S:
            weighted = size = n = unmarked = 0
            for f in self.fills:
                v = f.markouts_pips.get(h)
                if v is None:
                    unmarked += 1
                    continue
                n += 1
                weighted += v * f.size_micro
                size += f.size_micro
            out[f"{h}s"] = {"fills": n, "mean_pips": round(weighted / size, 2) if size else None,
                            "usd": round(weighted / PIPS_PER_UNIT / 1e6, 6),
                            "unmarked": unmarked - self.unavailable[h],
                            "past_log_end": self.unavailable[h]}
        return out

    def market_summary(self, label: Callable[[Market], str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for lst in self._markets.values():
            out[label(lst.market)] = {
                "listed_s": round(lst.listed_ns / NS, 3),
                "quoting_s": round(lst.quoting_ns / NS, 3),
                "quoting_fraction": round(lst.quoting_ns / lst.listed_ns, 4)
                if lst.listed_ns else 0.0,
                "max_up_shares": lst.max_up / 1e6, "max_down_shares": lst.max_down / 1e6,
                "max_net_shares": lst.max_net / 1e6}
        return out

    def quoting_fraction(self) -> float:
        listed = sum(lst.listed_ns for lst in self._markets.values())
        quoting = sum(lst.quoting_ns for lst in self._markets.values())
        return round(quoting / listed, 4) if listed else 0.0

    def market_of(self, cid: ConditionId) -> Market | None:
        lst = self._markets.get(cid)
        return None if lst is None else lst.market
