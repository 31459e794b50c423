"""Our inventory per token, kept from the user channel's ``trade`` events: the one ledger.

A trade arrives once per status change (protocol §2): MATCHED, MINED and RETRYING count as
provisional fills, CONFIRMED makes them final, FAILED undoes the match (the inventory reverts).
Each trade id is tracked through that lifecycle, so repeats are no-ops and a CONFIRMED or FAILED
seen without an earlier MATCHED still lands right (a FAILED seen first is remembered, so a late
MATCHED of it counts nothing). Which fills are ours: the ``maker_fills`` whose ``owner`` is our
API key, and the top-level fill when ``trader_side`` is TAKER (in any case) and the top-level
``owner`` is ours.

The State's model (the Quoter's inventory skew) and the OrderManager's tracker (the risk check)
each keep an instance of this ledger, fed the same trade events in the same order, so both see
the same inventory under the same rules.

Cash is in micro-pUSD: a BUY pays size x price, a SELL receives it. A taker fill pays the
taker fee of its market's ``feeSchedule`` (``trading.fees``; known once the market is, through
``set_fee_schedule``): a BUY on top of the notional, a SELL out of it. Makers pay none; their
fills' fee-equivalent is the base of the estimated maker rebate, which is reported but never
booked (the venue pays it daily, off the order flow).

Collateral that came back (``PositionsMerged``, ``PositionsRedeemed`` from the Treasury) takes
the tokens off the positions and adds the pUSD to ``merged_micro`` / ``redeemed_micro``; each
transaction counts once. PnL marked to a price is
``cash + merged + redeemed + position x mark``. A long position's cost is its size at the
average price paid: what the risk limit ``max_notional_usd`` counts for it.

Pure code: no threads, no clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from messages.ids import (
    PIPS_PER_UNIT,
    ConditionId,
    OrderHash,
    Side,
    TokenId,
    TradeId,
)
from messages.treasury import PositionsMerged, PositionsRedeemed
from messages.user import TradeEvent, TradeStatus
from trading.fees import NO_FEES, FeeSchedule, maker_rebate_estimate_micro, taker_fee_micro

TERMINAL_MEMORY = 20_000
"""How many finished (CONFIRMED/FAILED) trade ids are remembered to make repeats no-ops."""

TAKER = "TAKER"


class _Stage(Enum):
    PROVISIONAL = 1
    CONFIRMED = 2
    FAILED = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Fill:
    """One of our fills in a trade: signed size (BUY +) and signed cash (BUY -), net of the
    taker fee ``fee_micro`` (0 for a maker fill, whose would-be fee is ``fee_equivalent_micro``,
    the base of the rebate estimate)."""

    order_id: OrderHash
    trade_id: TradeId
    condition_id: ConditionId
    token_id: TokenId
    side: Side
    price_pips: int
    size_micro: int
    fee_micro: int = 0
    fee_equivalent_micro: int = 0

    @property
    def signed_micro(self) -> int:
        return self.size_micro if self.side is Side.BUY else -self.size_micro

    @property
    def cash_micro(self) -> int:
        notional = self.size_micro * self.price_pips // PIPS_PER_UNIT
        return (-notional if self.side is Side.BUY else notional) - self.fee_micro


@dataclass(frozen=True, slots=True)
class FillChange:
    """What one trade event changed: fills that now stand (``added``), provisional fills made
    final (``confirmed``) and fills undone by a FAILED (``undone``)."""

    added: tuple[Fill, ...] = ()
    confirmed: tuple[Fill, ...] = ()
    undone: tuple[Fill, ...] = ()

    @property
    def tokens(self) -> tuple[TokenId, ...]:
        """Tokens whose position changed, each once, in order."""
        return _tokens_of(self.added + self.confirmed + self.undone)


NO_CHANGE = FillChange()


class TokenPosition:
    """Per-token totals. Every figure is a sum over standing fills, so a FAILED trade can be
    reversed exactly."""

    __slots__ = ("bought_cost_micro", "bought_micro", "cash_micro", "confirmed_micro",
                 "provisional_micro", "sold_micro", "sold_proceeds_micro")

    def __init__(self) -> None:
        self.confirmed_micro = 0
        self.provisional_micro = 0
        self.cash_micro = 0
        self.bought_micro = 0
        self.bought_cost_micro = 0
        self.sold_micro = 0
        self.sold_proceeds_micro = 0

    def add_flow(self, fill: Fill, sign: int) -> None:
        self.cash_micro += sign * fill.cash_micro
        if fill.side is Side.BUY:
            self.bought_micro += sign * fill.size_micro
            self.bought_cost_micro += sign * -fill.cash_micro
        else:
            self.sold_micro += sign * fill.size_micro
            self.sold_proceeds_micro += sign * fill.cash_micro

    def cost_micro(self) -> int:
        """What the long position cost at the average price paid, rounded up; a position with
        no BUY behind it (loaded from REST) is costed at 1 pUSD a share, the most it can be."""
        qty = self.confirmed_micro + self.provisional_micro
        if qty <= 0:
            return 0
        if self.bought_micro <= 0:
            return qty
        return -(-qty * self.bought_cost_micro // self.bought_micro)


class Positions:
    """Positions of one owner (our API key) across tokens.

    Thread ownership: none of its own; the thread of the actor holding it owns it.
    """

    __slots__ = ("_collateral_txs", "_fee_equivalent", "_finished", "_schedules", "_tokens",
                 "_trades", "failed", "fees_micro", "fills", "merged_micro", "owner",
                 "redeemed_micro")

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._tokens: dict[TokenId, TokenPosition] = {}
        self._trades: dict[TradeId, tuple[_Stage, tuple[Fill, ...]]] = {}
        self._finished: deque[TradeId] = deque()
        self._schedules: dict[ConditionId, FeeSchedule] = {}
        self._fee_equivalent: dict[ConditionId, int] = {}
        self._collateral_txs: set[tuple[str, ConditionId]] = set()
        self.fills = 0
        """Our fills that stand (matched or confirmed, not undone by FAILED)."""
        self.failed = 0
        """Our fills undone by a FAILED trade."""
        self.fees_micro = 0
        """Taker fees our standing fills paid."""
        self.merged_micro = 0
        """pUSD that merges of complete sets brought back."""
        self.redeemed_micro = 0
        """pUSD that redemptions of resolved markets brought back."""

    # -- updates -------------------------------------------------------------------------------

    def apply(self, ev: TradeEvent) -> FillChange:
        """Apply one trade status; returns what it changed (``NO_CHANGE``: nothing)."""
        known = self._trades.get(ev.trade_id)
        if known is None:
            fills = self.our_fills(ev)
            if not fills:
                return NO_CHANGE
            return self._first(ev.trade_id, ev.status, fills)
        stage, fills = known
        if stage is not _Stage.PROVISIONAL:
            return NO_CHANGE  # CONFIRMED and FAILED are terminal: later repeats change nothing.
        if ev.status is TradeStatus.CONFIRMED:
            for f in fills:
                pos = self._pos(f.token_id)
                pos.provisional_micro -= f.signed_micro
                pos.confirmed_micro += f.signed_micro
            self._finish(ev.trade_id, _Stage.CONFIRMED, fills)
            return FillChange(confirmed=fills)
        if ev.status is TradeStatus.FAILED:
            for f in fills:
                pos = self._pos(f.token_id)
                pos.provisional_micro -= f.signed_micro
                pos.add_flow(f, -1)
                self._fee_flow(f, -1)
            self.fills -= len(fills)
            self.failed += len(fills)
            self._finish(ev.trade_id, _Stage.FAILED, fills)
            return FillChange(undone=fills)
        return NO_CHANGE  # MATCHED/MINED/RETRYING again: still provisional.

    def _first(self, trade_id: TradeId, status: TradeStatus,
               fills: tuple[Fill, ...]) -> FillChange:
        if status is TradeStatus.FAILED:
            # Never counted, so nothing to undo; remember it so a late MATCHED is ignored.
            self._finish(trade_id, _Stage.FAILED, fills)
            return NO_CHANGE
        confirmed = status is TradeStatus.CONFIRMED
        for f in fills:
            pos = self._pos(f.token_id)
            if confirmed:
                pos.confirmed_micro += f.signed_micro
            else:
                pos.provisional_micro += f.signed_micro
            pos.add_flow(f, 1)
            self._fee_flow(f, 1)
        self.fills += len(fills)
        if confirmed:
            self._finish(trade_id, _Stage.CONFIRMED, fills)
        else:
            self._trades[trade_id] = (_Stage.PROVISIONAL, fills)
        return FillChange(added=fills)

    def _finish(self, trade_id: TradeId, stage: _Stage, fills: tuple[Fill, ...]) -> None:
        self._trades[trade_id] = (stage, fills)
        self._finished.append(trade_id)
        if len(self._finished) > TERMINAL_MEMORY:
            self._trades.pop(self._finished.popleft(), None)

    def _fee_flow(self, f: Fill, sign: int) -> None:
        self.fees_micro += sign * f.fee_micro
        if f.fee_equivalent_micro:
            cid = f.condition_id
            self._fee_equivalent[cid] = (self._fee_equivalent.get(cid, 0)
                                         + sign * f.fee_equivalent_micro)

    def set_fee_schedule(self, condition_id: ConditionId, schedule: FeeSchedule) -> None:
        """The market's ``feeSchedule``, for the fills that arrive from now on (a fill booked
        before its market was known counts no fee: the start-up trades of earlier runs)."""
        self._schedules[condition_id] = schedule

    def apply_merged(self, msg: PositionsMerged) -> tuple[TokenId, ...]:
        """A mined merge: ``amount_micro`` of each token off the positions, as much pUSD back.
        Returns the tokens it moved (none for a transaction seen before)."""
        if not self._first_collateral_tx(msg.tx_hash, msg.condition_id):
            return ()
        for token in msg.token_ids:
            self._pos(token).confirmed_micro -= msg.amount_micro
        self.merged_micro += msg.amount_micro
        return msg.token_ids

    def apply_redeemed(self, msg: PositionsRedeemed) -> tuple[TokenId, ...]:
        """A mined redemption: the burned tokens off the positions, the payout back."""
        if not self._first_collateral_tx(msg.tx_hash, msg.condition_id):
            return ()
        for token, burned in zip(msg.token_ids, msg.burned_micro, strict=True):
            self._pos(token).confirmed_micro -= burned
        self.redeemed_micro += msg.payout_micro
        return msg.token_ids

    def _first_collateral_tx(self, tx_hash: str, condition_id: ConditionId) -> bool:
        key = (tx_hash.lower(), condition_id)  # one relayer batch may carry several markets
        if key in self._collateral_txs:
            return False
        self._collateral_txs.add(key)
        return True

    def load(self, token_id: TokenId, confirmed_micro: int) -> None:
        """Set a token's confirmed position from REST at start-up (provisional fills stay)."""
        self._pos(token_id).confirmed_micro = confirmed_micro

    def our_fills(self, ev: TradeEvent) -> tuple[Fill, ...]:
        """Our part of a trade event: our maker fills, plus the top level when we took (the
        taker pays the fee on each maker's part at that maker's price, as the venue's ledger
        charges it; ``sim.chain_state`` does the same)."""
        sched = self._schedules.get(ev.condition_id, NO_FEES)
        out = [Fill(order_id=OrderHash(m.order_id.lower()), trade_id=ev.trade_id,
                    condition_id=ev.condition_id, token_id=m.token_id, side=m.side,
                    price_pips=m.price_pips, size_micro=m.matched_size_micro,
                    fee_equivalent_micro=taker_fee_micro(m.price_pips, m.matched_size_micro,
                                                         sched))
               for m in ev.maker_fills if m.owner == self.owner and m.matched_size_micro > 0]
        if ev.trader_side.upper() == TAKER and ev.owner == self.owner and ev.size_micro > 0:
            fee = sum(taker_fee_micro(_taker_price(ev, m.token_id, m.price_pips),
                                      m.matched_size_micro, sched)
                      for m in ev.maker_fills if m.matched_size_micro > 0)
            if not ev.maker_fills:
                fee = taker_fee_micro(ev.price_pips, ev.size_micro, sched)
            out.append(Fill(order_id=OrderHash(ev.taker_order_id.lower()),
                            trade_id=ev.trade_id, condition_id=ev.condition_id,
                            token_id=ev.token_id, side=ev.side, price_pips=ev.price_pips,
                            size_micro=ev.size_micro, fee_micro=fee))
        return tuple(out)

    def _pos(self, token_id: TokenId) -> TokenPosition:
        pos = self._tokens.get(token_id)
        if pos is None:
            pos = self._tokens[token_id] = TokenPosition()
        return pos

    # -- queries -------------------------------------------------------------------------------

    def knows(self, trade_id: TradeId) -> bool:
        """Whether this trade id was counted (or seen FAILED) before."""
        return trade_id in self._trades

    def position_micro(self, token_id: TokenId) -> int:
        """Confirmed plus provisional position (signed: long is positive)."""
        pos = self._tokens.get(token_id)
        return 0 if pos is None else pos.confirmed_micro + pos.provisional_micro

    def positions_micro(self) -> dict[TokenId, int]:
        """Confirmed plus provisional position of every token we have had a fill on."""
        return {t: p.confirmed_micro + p.provisional_micro for t, p in self._tokens.items()}

    def cost_micro(self) -> int:
        """pUSD (micro) our long positions cost, at their average prices (see module doc)."""
        return sum(p.cost_micro() for p in self._tokens.values())

    def confirmed_micro(self, token_id: TokenId) -> int:
        pos = self._tokens.get(token_id)
        return 0 if pos is None else pos.confirmed_micro

    def provisional_micro(self, token_id: TokenId) -> int:
        pos = self._tokens.get(token_id)
        return 0 if pos is None else pos.provisional_micro

    def cash_micro(self, token_id: TokenId | None = None) -> int:
        """Cash flow in micro-pUSD of one token's fills, or of all tokens."""
        if token_id is None:
            return sum(p.cash_micro for p in self._tokens.values())
        pos = self._tokens.get(token_id)
        return 0 if pos is None else pos.cash_micro

    def avg_buy_pips(self, token_id: TokenId) -> int | None:
        """Average price paid over the token's standing BUY fills, None without any."""
        pos = self._tokens.get(token_id)
        if pos is None or pos.bought_micro <= 0:
            return None
        return pos.bought_cost_micro * PIPS_PER_UNIT // pos.bought_micro

    def avg_sell_pips(self, token_id: TokenId) -> int | None:
        """Average price received over the token's standing SELL fills, None without any."""
        pos = self._tokens.get(token_id)
        if pos is None or pos.sold_micro <= 0:
            return None
        return pos.sold_proceeds_micro * PIPS_PER_UNIT // pos.sold_micro

    def collateral_micro(self) -> int:
        """pUSD the Treasury brought back: merges plus redemptions."""
        return self.merged_micro + self.redeemed_micro

    def rebate_estimate_micro(self) -> int:
        """The maker rebate our standing maker fills would earn (``trading.fees``), summed
        per market as the venue pays it."""
        return sum(maker_rebate_estimate_micro(v, self._schedules.get(cid, NO_FEES))
                   for cid, v in self._fee_equivalent.items())

    def pnl_micro(self, marks_pips: Mapping[TokenId, int]) -> tuple[int, int]:
        """``(pnl, unmarked)``: cash (fees paid included), collateral brought back, plus
        positions valued at ``marks_pips``, in micro-pUSD. The rebate estimate is not in it.

        A token with a position but no mark is left out of the value and counted in
        ``unmarked``.
        """
        total = self.collateral_micro()
        unmarked = 0
        for token, pos in self._tokens.items():
            total += pos.cash_micro
            qty = pos.confirmed_micro + pos.provisional_micro
            if qty == 0:
                continue
            mark = marks_pips.get(token)
            if mark is None:
                unmarked += 1
            else:
                total += qty * mark // PIPS_PER_UNIT
        return total, unmarked

    def tokens(self) -> Iterable[TokenId]:
        """Every token with any recorded position or cash flow."""
        return self._tokens.keys()

    def __repr__(self) -> str:
        return f"Positions(tokens={len(self._tokens)}, fills={self.fills})"


def _taker_price(ev: TradeEvent, maker_token: TokenId, maker_pips: int) -> int:
    """The price a taker paid against one maker: the maker's, mirrored when the maker was on
    the complementary token (a BUY of Up matched with a BUY of Down)."""
    return maker_pips if maker_token == ev.token_id else PIPS_PER_UNIT - maker_pips


def _tokens_of(fills: tuple[Fill, ...]) -> tuple[TokenId, ...]:
    return tuple(dict.fromkeys(f.token_id for f in fills))
