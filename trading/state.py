"""Everything the State actor knows, and the quote snapshots built from it.

``StateModel.apply`` takes every feed event in mailbox order and says whether quoting-relevant
state changed; ``snapshot`` then builds a ``QuoteSnapshot``. Views are immutable and cached per
market and per asset: an event marks only its market or asset dirty, and a snapshot rebuilds
only the dirty views, so an unchanged market hands the Quoter the very same ``MarketView``
object as last time (design §1.2: no per-tick copies of whole state).

Books follow protocol §1.4. A checksum mismatch (``price_change`` best bid/ask after the
frame, or a ``best_bid_ask`` not older than the book) marks the book unsynced and queues one
resync request per token until its next snapshot; a market-feed disconnect unsyncs every book
until its next snapshot. Events outside the current market set are ignored and counted, except
a status update of a trade already counted (its market may have just closed): positions are the
account's and outlive their market. Each market's own fields, its view, marks and status-line
summary live in ``trading.market_state``.

Pure code: no threads, no clock: time comes from the messages and the ``snapshot`` call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from messages.control import FeedStatus, KillSwitch, TimerFired
from messages.ids import ConditionId, TokenId
from messages.market import (
    BestBidAsk,
    BookChange,
    BookSnapshot,
    LastTrade,
    LevelChange,
    MarketResolved,
    TickSizeChanged,
)
from messages.markets import Market, MarketsChanged
from messages.prices import PriceSource, PriceUpdate
from messages.quotes import MarketView, QuoteSnapshot, RefView
from messages.treasury import PositionsMerged, PositionsRedeemed
from messages.user import OrderEvent, TradeEvent
from trading.book import EMPTY_ASK_PIPS, EMPTY_BID_PIPS, Book
from trading.fees import FeeSchedule
from trading.market_state import MarketState, Settlements
from trading.positions import Positions
from trading.strikes import Strikes
from trading.volatility import STREAMS, EwmaVol, RefPrices

_NS_PER_MS = 1_000_000
FEEDS = ("market", "user", "price")


class StateModel:
    """Books, positions, reference prices, strikes and feed health of the traded markets.

    Thread ownership: none of its own; the State actor's thread (or replay) owns it entirely.
    Counters: ``events_applied`` (messages of a known type), ``ignored`` (unknown types and
    events outside the market set), ``unknown_types``, ``checksum_mismatches``,
    ``stale_dropped`` (book events older than the book's snapshot or before any snapshot).
    """

    def __init__(self, *, owner: str, vol_halflife_s: float = 60.0,
                 vol_floor_per_sqrt_s: float = 1e-4) -> None:
        self.positions = Positions(owner)
        self.strikes = Strikes()
        self._vol_args = (vol_halflife_s, vol_floor_per_sqrt_s)
        EwmaVol(*self._vol_args)  # validate the parameters now, not at the first market
        self._markets: dict[ConditionId, MarketState] = {}
        self._tokens: dict[TokenId, tuple[MarketState, int]] = {}
        self._assets: dict[str, RefPrices] = {}
        self._feeds = dict.fromkeys(FEEDS, False)
        self.kill_switch = False
        self.clock_ns = 0
        self.seq = 0
        self._resync_queue: dict[TokenId, None] = {}
        self._resync_pending: set[TokenId] = set()
        self.settlements = Settlements()
        self._views: tuple[MarketView, ...] = ()
        self._refs: tuple[RefView, ...] = ()
        self._set_changed = True
        self.events_applied = 0
        self.ignored = 0
        self.unknown_types = 0
        self.checksum_mismatches = 0
        self.stale_dropped = 0
        self._handlers: dict[type, Callable[[Any], bool]] = {
            MarketsChanged: self._on_markets, BookSnapshot: self._on_snapshot,
            BookChange: self._on_change, TickSizeChanged: self._on_tick,
            LastTrade: self._on_last_trade, BestBidAsk: self._on_best, PriceUpdate: self._on_price,
            MarketResolved: self._on_resolved, OrderEvent: self._on_order,
            TradeEvent: self._on_trade, FeedStatus: self._on_feed, TimerFired: self._on_timer,
            KillSwitch: self._on_kill, PositionsMerged: self._on_collateral,
            PositionsRedeemed: self._on_collateral,
        }

    # -- input ---------------------------------------------------------------------------------

    def apply(self, msg: object) -> bool:
        """Apply one event; True iff quoting-relevant state changed (a snapshot is worth
        publishing)."""
        handler = self._handlers.get(type(msg))
        if handler is None:
            self.unknown_types += 1
            self.ignored += 1
            return False
        ts = getattr(msg, "ts_recv_ns", 0)
        if ts > self.clock_ns:
            self.clock_ns = ts
        self.events_applied += 1
        return handler(msg)

    def take_resync_requests(self) -> tuple[TokenId, ...]:
        """Tokens whose book needs a fresh snapshot since the last call."""
        if not self._resync_queue:
            return ()
        out = tuple(self._resync_queue)
        self._resync_queue.clear()
        return out

    def load_position(self, token_id: TokenId, confirmed_micro: int) -> None:
        """Start-up reconciliation: set a token's confirmed position from REST."""
        self.positions.load(token_id, confirmed_micro)
        self._touch_token(token_id)

    def _on_markets(self, msg: MarketsChanged) -> bool:
        wanted = {m.condition_id: m for m in msg.markets}
        for cid in [c for c in self._markets if c not in wanted]:
            st = self._markets.pop(cid)
            self.settlements.left(st)
            for token in st.market.token_ids:
                self._tokens.pop(token, None)
                self._resync_queue.pop(token, None)
                self._resync_pending.discard(token)
        for cid, market in wanted.items():
            st0 = self._markets.get(cid)
            if st0 is None:
                st = self._markets[cid] = MarketState(market)
                self._tokens[market.token_ids[0]] = (st, 0)
                self._tokens[market.token_ids[1]] = (st, 1)
            else:
                st = st0
                if st.winner is not None:
                    market = dataclasses.replace(market, accepting_orders=False)
                if market != st.market:
                    st.market = market
                    st.dirty = True
                    st.set_tick(None, market.tick_pips)
            if market.asset and market.asset not in self._assets:
                self._assets[market.asset] = RefPrices(market.asset, EwmaVol(*self._vol_args))
            st.refresh_strike(self.strikes)
            self.positions.set_fee_schedule(cid, FeeSchedule.of_market(market))
        # Views follow the order discovery gave.
        self._markets = {cid: self._markets[cid] for cid in wanted}
        assets = {m.asset for m in wanted.values() if m.asset}
        for asset in [a for a in self._assets if a not in assets]:
            del self._assets[asset]
            self.strikes.drop(asset)
        self._set_changed = True
        return True

    def _on_snapshot(self, msg: BookSnapshot) -> bool:
        entry = self._entry(msg.token_id)
        if entry is None:
            return False
        st, i = entry
        book = st.books[i]
        before = (book.top(), book.synced)
        # A book awaiting a resync takes any snapshot: the venue's dump may carry the time of
        # the book's last change, which can be older than the snapshot we doubt.
        if not book.apply_snapshot(msg, force=not book.synced):
            self.stale_dropped += 1
            return False
        self._resync_pending.discard(msg.token_id)
        st.dirty = True
        tick_changed = False
        if msg.tick_pips is not None:
            tick_changed = st.set_tick(i, msg.tick_pips)
        return tick_changed or (book.top(), book.synced) != before

    def _on_frame(self, msg: BookChange) -> bool:
        ts = msg.ts_event_ms
        last: dict[TokenId, tuple[MarketState, Book, LevelChange, object]] = {}
        for ch in msg.changes:
            entry = self._entry(ch.token_id)
            if entry is None:
                continue
            st, i = entry
            book = st.books[i]
            if not book.has_snapshot or ts < book.snapshot_ts_ms:
                self.stale_dropped += 1
                continue
            prev = last.get(ch.token_id)
            top0 = book.top() if prev is None else prev[3]
            book.apply_level(ch.side, ch.price_pips, ch.size_micro, ts)
            last[ch.token_id] = (st, book, ch, top0)
        changed = False
        # The checksum is the venue's top after the change; checking it once per token after
        # the whole frame holds whether the venue means "after this entry" or "after the frame".
        for token, (st, book, ch, top0) in last.items():
            book.recv_ns = max(book.recv_ns, msg.ts_recv_ns)
            st.dirty = True
            if book.top() != top0:
                changed = True
            if not book.checksum_ok(ch.best_bid_pips, ch.best_ask_pips):
                changed |= self._mismatch(token, st, book)
        return changed

    def _on_change(self, msg: BookChange) -> bool:
        """``_on_frame``'s decision for a frame of one level (most are), without its map."""
        if len(msg.changes) != 1:
            return self._on_frame(msg)
        ch = msg.changes[0]
        entry = self._entry(ch.token_id)
        if entry is None:
            return False
        st, i = entry
        moved = st.apply_one_level(i, ch, msg.ts_event_ms, msg.ts_recv_ns)
        if moved is None:
            self.stale_dropped += 1
            return False
        if not st.books[i].checksum_ok(ch.best_bid_pips, ch.best_ask_pips):
            moved |= self._mismatch(ch.token_id, st, st.books[i])
        return moved

    def _on_best(self, msg: BestBidAsk) -> bool:
        entry = self._entry(msg.token_id)
        if entry is None:
            return False
        st, i = entry
        book = st.books[i]
        if not book.has_snapshot:
            return False
        book.recv_ns = max(book.recv_ns, msg.ts_recv_ns)
        st.dirty = True
        # Assumes the venue sends best_bid_ask after the price_change it summarises (the
        # simulated venue does); an older one says nothing about the current book.
        if msg.ts_event_ms < book.last_ts_ms:
            return False
        bid = EMPTY_BID_PIPS if msg.best_bid_pips is None else msg.best_bid_pips
        ask = EMPTY_ASK_PIPS if msg.best_ask_pips is None else msg.best_ask_pips
        if book.checksum_ok(bid, ask):
            return False
        return self._mismatch(msg.token_id, st, book)

    def _mismatch(self, token: TokenId, st: MarketState, book: Book) -> bool:
        self.checksum_mismatches += 1
        if token not in self._resync_pending:
            self._resync_pending.add(token)
            self._resync_queue[token] = None
        was_synced = book.synced
        book.synced = False
        st.dirty = True
        return was_synced

    def _on_tick(self, msg: TickSizeChanged) -> bool:
        entry = self._entry(msg.token_id)
        if entry is None or not entry[0].set_tick(entry[1], msg.new_tick_pips):
            return False
        entry[0].dirty = True
        return True

    def _on_last_trade(self, msg: LastTrade) -> bool:
        entry = self._entry(msg.token_id)
        if entry is not None:
            entry[0].last_trade_pips[entry[1]] = msg.price_pips
        return False  # the book event that follows a trade carries the new levels

    def _on_resolved(self, msg: MarketResolved) -> bool:
        st = self._markets.get(msg.condition_id)
        if st is None or st.winner is not None:  # gone (Settlements marks it), or a repeat
            if st is None and not self.settlements.late(msg):
                self.ignored += 1
            return False
        st.winner = msg.winning_token_id
        st.market = dataclasses.replace(st.market, accepting_orders=False)
        st.dirty = True
        return True

    def _on_price(self, msg: PriceUpdate) -> bool:
        ref = self._assets.get(msg.asset)
        if ref is None or msg.source not in STREAMS or msg.price_e8 <= 0:
            self.ignored += 1
            return False
        changed = ref.apply(msg.source, msg.price_e8, msg.ts_event_ms, msg.ts_recv_ns)
        if msg.source == PriceSource.TWAP and self.strikes.add(msg.asset, msg.ts_event_ms,
                                                               msg.price_e8):
            for st in self._markets.values():
                if st.market.asset == msg.asset:
                    changed |= st.refresh_strike(self.strikes)
        return changed

    def _on_order(self, msg: OrderEvent) -> bool:
        return False  # orders are the OrderManager's; inventory moves only with trades

    def _on_trade(self, msg: TradeEvent) -> bool:
        # Every trade of ours counts, also on markets not (or no longer) quoted: the ledger
        # must match the OrderManager's, which the risk check reads (and start-up trades
        # arrive before the first market set).
        changed = False
        for token in self.positions.apply(msg).tokens:
            changed |= self._touch_token(token)
        return changed

    def _on_collateral(self, msg: PositionsMerged | PositionsRedeemed) -> bool:
        # Like trades: the account's, also after the market left the set.
        tokens = (self.positions.apply_merged(msg) if isinstance(msg, PositionsMerged)
                  else self.positions.apply_redeemed(msg))
        changed = False
        for token in tokens:
            changed |= self._touch_token(token)
        return changed

    def _on_feed(self, msg: FeedStatus) -> bool:
        if msg.feed not in self._feeds:
            self.ignored += 1
            return False
        changed = self._feeds[msg.feed] != msg.connected
        self._feeds[msg.feed] = msg.connected
        if msg.feed == "market" and not msg.connected:
            for st in self._markets.values():
                if st.unsync():
                    st.dirty = True
                    changed = True
        return changed

    def _on_timer(self, msg: TimerFired) -> bool:
        return True  # the clock moved: time to close and feed ages changed

    def _on_kill(self, msg: KillSwitch) -> bool:
        changed = self.kill_switch != msg.on
        self.kill_switch = msg.on
        return changed

    def _entry(self, token: TokenId) -> tuple[MarketState, int] | None:
        entry = self._tokens.get(token)
        if entry is None:
            self.ignored += 1
        return entry

    def _touch_token(self, token: TokenId) -> bool:
        entry = self._tokens.get(token)
        if entry is None:
            return False
        entry[0].dirty = True
        return True

    # -- output --------------------------------------------------------------------------------

    def snapshot(self, now_ns: int, cause_recv_ns: int) -> QuoteSnapshot:
        """The next numbered snapshot; unchanged markets and assets reuse their last view."""
        self.seq += 1
        rebuild = self._set_changed
        for st in self._markets.values():
            if st.dirty or st.view is None:
                st.view = st.build_view(self.positions)
                st.dirty = False
                rebuild = True
        if rebuild:
            self._views = tuple(st.view for st in self._markets.values() if st.view is not None)
        rebuild = self._set_changed
        for ref in self._assets.values():
            if ref.dirty or ref.view is None:
                rebuild = True
        if rebuild:  # a clean view is kept as it is
            self._refs = tuple([ref.build_view() for ref in self._assets.values()])
        self._set_changed = False
        return QuoteSnapshot(seq=self.seq, now_ms=now_ns // _NS_PER_MS,
                             cause_recv_ns=cause_recv_ns, markets=self._views, refs=self._refs,
                             market_feed_up=self._feeds["market"],
                             user_feed_up=self._feeds["user"],
                             price_feed_up=self._feeds["price"], kill_switch=self.kill_switch)

    # -- queries for the actor, the status line and tests -------------------------------------

    def book(self, token_id: TokenId) -> Book | None:
        entry = self._tokens.get(token_id)
        return None if entry is None else entry[0].books[entry[1]]

    def markets(self) -> tuple[Market, ...]:
        return tuple(st.market for st in self._markets.values())

    def feed_up(self, feed: str) -> bool:
        return self._feeds.get(feed, False)

    def marks_pips(self) -> dict[TokenId, int]:
        """A mark per token: the payout once resolved (kept after the market is dropped), else
        the book mid, else the last trade."""
        marks = dict(self.settlements.marks)
        for st in self._markets.values():
            marks.update(st.marks())
        return marks

    def pnl_micro(self) -> tuple[int, int]:
        """``(pnl, unmarked)`` in micro-pUSD over all positions (see ``Positions.pnl_micro``)."""
        return self.positions.pnl_micro(self.marks_pips())

    def market_summaries(self, now_ms: int) -> list[dict[str, Any]]:
        """One small dict per market for the status line."""
        return [st.summary(self.positions, now_ms) for st in self._markets.values()]
