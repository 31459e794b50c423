"""The paper exchange's own books of account: positions, cash, fees, resolutions, per market;
and what a resolution settled.

Cash follows ``trading.positions.Positions``' rule to the micro-pUSD (a BUY pays
``size x price // 10_000``, a SELL receives it), so a ``Positions`` fed the exchange's trade
events agrees with this ledger on positions and, fees and payouts aside, on cash. Fees are
paid by taker fills only; a resolution pays 1 pUSD per winning share and 0 per losing one.

Pure code: no threads, no clock. Owned by the paper exchange's caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from messages.ids import PIPS_PER_UNIT, ConditionId, Side, TokenId
from trading.fees import FeeSchedule, maker_rebate_estimate_micro, taker_fee_micro
from trading.paper_events import PaperEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class PaperAccount:
    """Totals of one market, or of all markets.

    ``cash_micro`` is the net flow of every fill, fee and payout (0 at the start);
    ``fee_equivalent_micro`` is the taker fee our maker fills would have cost, the base of
    ``rebate_estimate_micro`` (see ``trading.fees.maker_rebate_estimate_micro``).
    """

    cash_micro: int = 0
    fees_micro: int = 0
    payout_micro: int = 0
    fills: int = 0
    maker_volume_micro: int = 0
    taker_volume_micro: int = 0
    fee_equivalent_micro: int = 0
    rebate_estimate_micro: int = 0

    def __add__(self, other: PaperAccount) -> PaperAccount:
        return PaperAccount(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                               for f in fields(PaperAccount)})


@dataclass(frozen=True, slots=True, kw_only=True)
class Settlement:
    """A market resolved: what it paid, the positions it closed, and the events on the way
    (what was due first, then the cancellations of the resting orders)."""

    condition_id: ConditionId
    winning_token_id: TokenId
    payout_micro: int
    settled_micro: tuple[tuple[TokenId, int], ...]
    events: tuple[PaperEvent, ...]


def winner_from_reference(token_ids: tuple[TokenId, TokenId], final_e8: int,
                          strike_e8: int) -> TokenId:
    """An up/down window's winner: Up iff the final reference price is at or above the strike
    (protocol §4.3, ``priceToBeat``; the simulated venue's rule too)."""
    return token_ids[0] if final_e8 >= strike_e8 else token_ids[1]


def notional_micro(price_pips: int, size_micro: int) -> int:
    """pUSD (micro) that ``size_micro`` shares at ``price_pips`` cost, as ``Positions`` counts."""
    return size_micro * price_pips // PIPS_PER_UNIT


class PaperLedger:
    """Positions per token and accounts per market."""

    __slots__ = ("_accounts", "_positions", "_schedules")

    def __init__(self) -> None:
        self._positions: dict[TokenId, int] = {}
        self._accounts: dict[ConditionId, PaperAccount] = {}
        self._schedules: dict[ConditionId, FeeSchedule] = {}

    def set_schedule(self, condition_id: ConditionId, schedule: FeeSchedule) -> None:
        self._schedules[condition_id] = schedule

    def fill(self, *, condition_id: ConditionId, token_id: TokenId, side: Side,
             price_pips: int, size_micro: int, maker: bool) -> int:
        """Book one fill; returns the fee charged (0 for a maker)."""
        schedule = self._schedules.get(condition_id, FeeSchedule())
        fee_like = taker_fee_micro(price_pips, size_micro, schedule)
        notional = notional_micro(price_pips, size_micro)
        signed = size_micro if side is Side.BUY else -size_micro
        self._positions[token_id] = self._positions.get(token_id, 0) + signed
        fee = 0 if maker else fee_like
        flow = (-notional if side is Side.BUY else notional) - fee
        self._add(condition_id, PaperAccount(
            cash_micro=flow, fees_micro=fee, fills=1,
            maker_volume_micro=size_micro if maker else 0,
            taker_volume_micro=0 if maker else size_micro,
            fee_equivalent_micro=fee_like if maker else 0))
        return fee

    def settle(self, condition_id: ConditionId, token_ids: tuple[TokenId, TokenId],
               winning_token_id: TokenId) -> tuple[int, dict[TokenId, int]]:
        """Close both tokens' positions at 1 (the winner) or 0; returns (payout, the positions
        settled). A short position pays 1 per share of the winner."""
        settled: dict[TokenId, int] = {}
        payout = 0
        for token in token_ids:
            qty = self._positions.pop(token, 0)
            settled[token] = qty
            if token == winning_token_id:
                payout += qty  # 1 pUSD per share: micro-shares are micro-pUSD
        self._add(condition_id, PaperAccount(cash_micro=payout, payout_micro=payout))
        return payout, settled

    def _add(self, condition_id: ConditionId, delta: PaperAccount) -> None:
        self._accounts[condition_id] = self._accounts.get(condition_id, PaperAccount()) + delta

    # -- queries -------------------------------------------------------------------------------

    def position_micro(self, token_id: TokenId) -> int:
        return self._positions.get(token_id, 0)

    def positions_micro(self) -> dict[TokenId, int]:
        """Every non-zero position (signed micro-shares)."""
        return {t: q for t, q in self._positions.items() if q}

    def account(self, condition_id: ConditionId | None = None) -> PaperAccount:
        """One market's totals, or all markets' (``None``), with the rebate estimated per
        market from its own schedule."""
        ids = list(self._accounts) if condition_id is None else [condition_id]
        total = PaperAccount()
        for cid in ids:
            acc = self._accounts.get(cid, PaperAccount())
            rebate = maker_rebate_estimate_micro(acc.fee_equivalent_micro,
                                                 self._schedules.get(cid, FeeSchedule()))
            total += replace(acc, rebate_estimate_micro=rebate)
        return total

    def pnl_micro(self, marks_pips: Mapping[TokenId, int]) -> tuple[int, int]:
        """``(pnl, unmarked)``: net cash (fees and payouts included) plus open positions at
        ``marks_pips``; positions without a mark are left out and counted in ``unmarked``."""
        pnl = self.account().cash_micro
        unmarked = 0
        for token, qty in self._positions.items():
            if not qty:
                continue
            mark = marks_pips.get(token)
            if mark is None:
                unmarked += 1
            else:
                pnl += qty * mark // PIPS_PER_UNIT
        return pnl, unmarked
