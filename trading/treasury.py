"""The Treasury's rules: when to merge complete sets, when to redeem, and what each returns.

A maker that buys both Up and Down holds complete sets; after resolution it holds winning
tokens. Both are pUSD locked away until they are merged (research §10.10) or redeemed (§10.9).
Pure code, time as an argument:

* ``plan`` turns holdings, markets and what is known resolved into actions: ``Merge`` when a
  condition's complete sets reach ``merge_min_micro`` and it is not resolved, ``Redeem`` once it
  is resolved on chain and we hold any of its tokens. Never an action for a condition that has
  one in flight or is backing off after a failure.
* ``merge_steps`` and ``redeem_steps`` turn an action into the contract calls of
  ``venue.calldata`` (for v1 the collateral adapter, never the CTF: §10.1) with what each call
  takes from the wallet and pays back.
* ``TreasuryLedger`` is the Treasury's count of our tokens: a ``trading.positions.Positions``
  fed the same trade events the State gets, less what mined merges and redeems took, plus the
  pUSD they paid. It applies ``PositionsMerged``/``PositionsRedeemed`` exactly as every other
  holder of a ``Positions`` must (see ``messages.treasury``).

Only confirmed fills are merged (a provisional BUY may still fail; a provisional SELL has left
the wallet once mined, so it counts against us), and a condition with provisional fills is not
redeemed until they settle: the chain holds only what was mined (research §10.0 step 4).

Thread ownership: none of its own; the Treasury actor's thread owns every instance.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, TypedDict

from messages.ids import MICRO_PER_UNIT, ConditionId, TokenId
from messages.markets import Market
from messages.treasury import PositionsMerged, PositionsRedeemed, TreasuryTx, TxStatus
from messages.user import TradeEvent
from trading.positions import FillChange, Positions
from venue.calldata import TxCall, merge_call, redeem_calls
from venue.chain import Receipt
from venue.chain_tx import SignedTx
from venue.relayer import RelayReceipt

__all__ = [
    "MAX_BACKOFF_FACTOR",
    "NOTHING",
    "Action",
    "Holding",
    "InFlight",
    "Merge",
    "Redeem",
    "Resolution",
    "Step",
    "TreasuryLedger",
    "TreasuryStats",
    "merge_steps",
    "plan",
    "redeem_steps",
    "retry_delay_s",
    "steps_for",
    "tx_record",
]

MAX_BACKOFF_FACTOR = 32
"""A condition that keeps failing is retried at most every 32 intervals."""


@dataclass(frozen=True, slots=True)
class Holding:
    """One token as the ledger counts it: confirmed (less what merges and redeems took) and
    provisional (matched or mined, not yet confirmed; signed, BUY positive)."""

    confirmed_micro: int = 0
    provisional_micro: int = 0

    @property
    def mergeable_micro(self) -> int:
        """What may be merged now: confirmed, less any provisional SELL (a provisional BUY may
        still fail, so it never counts for us)."""
        return max(0, self.confirmed_micro + min(0, self.provisional_micro))

    @property
    def held_micro(self) -> int:
        return max(0, self.confirmed_micro + self.provisional_micro)


NOTHING = Holding()


@dataclass(frozen=True, slots=True)
class Resolution:
    """A resolved condition's payout vector (``payoutDenominator`` > 0, ``payoutNumerators``
    of Up and Down), read on chain."""

    denominator: int
    numerators: tuple[int, int]

    def pays_micro(self, held: tuple[int, int]) -> int:
        """pUSD (micro) that redeeming ``held`` (Up, Down) pays: per outcome
        ``held × numerator // denominator``, as the Conditional Tokens contract rounds."""
        return sum(n * p // self.denominator for n, p in zip(held, self.numerators,
                                                                strict=True))


@dataclass(frozen=True, slots=True)
class Merge:
    """Merge ``amount_micro`` complete sets of a condition back into pUSD."""

    kind: ClassVar[str] = "merge"
    condition_id: ConditionId
    amount_micro: int


@dataclass(frozen=True, slots=True)
class Redeem:
    """Redeem every token of a resolved condition."""

    kind: ClassVar[str] = "redeem"
    condition_id: ConditionId


Action = Merge | Redeem


@dataclass(frozen=True, slots=True)
class Step:
    """One transaction of an action: the call, the shares of (Up, Down) it takes off our
    ledger, and the pUSD (micro) it pays back."""

    call: TxCall
    burned_micro: tuple[int, int]
    payout_micro: int


def plan(markets: Iterable[Market], holdings: Mapping[TokenId, Holding],
         resolved: Mapping[ConditionId, Resolution], *, merge_min_micro: int,
         busy: Collection[ConditionId], retry_at_s: Mapping[ConditionId, float],
         now_s: float) -> tuple[Action, ...]:
    """The actions to take now, at most one per condition, in market order.

    Args:
        markets: every market we may hold tokens of (ended ones included).
        holdings: per token; a token left out holds nothing.
        resolved: the conditions resolved on chain, with their payouts.
        merge_min_micro: the least number of complete sets worth a merge (> 0).
        busy: conditions with an action in flight.
        retry_at_s: per condition, the earliest time a failed action may be tried again.
        now_s: the time ``retry_at_s`` is compared with.
    """
    if merge_min_micro <= 0:
        raise ValueError(f"merge_min_micro: expected > 0, got {merge_min_micro}")
    out: list[Action] = []
    for m in markets:
        cid = m.condition_id
        if cid in busy or retry_at_s.get(cid, now_s) > now_s:
            continue
        up, down = (holdings.get(t, NOTHING) for t in m.token_ids)
        if cid in resolved:
            settled = up.provisional_micro == 0 and down.provisional_micro == 0
            if settled and (up.held_micro > 0 or down.held_micro > 0):
                out.append(Redeem(cid))
            continue  # merging a resolved condition would only redeem it in two steps
        sets = min(up.mergeable_micro, down.mergeable_micro)
        if sets >= merge_min_micro:
            out.append(Merge(cid, sets))
    return tuple(out)


def retry_delay_s(failures: int, interval_s: float) -> float:
    """How long a condition waits after its ``failures``-th failure in a row: one interval,
    doubling, at most ``MAX_BACKOFF_FACTOR`` intervals (a reverted transaction costs gas)."""
    if failures <= 0:
        return 0.0
    return interval_s * float(min(2 ** (failures - 1), MAX_BACKOFF_FACTOR))


def steps_for(action: Action, market: Market, held_micro: tuple[int, int],
              chain_micro: tuple[int, int], resolution: Resolution | None, *,
              merge_min_micro: int) -> tuple[Step, ...]:
    """The calls of ``action``, given what the ledger (``held_micro``) and the wallet on chain
    (``chain_micro``) hold of (Up, Down). Empty: nothing worth sending.

    A merge is capped by the chain (after a restart the ledger may still count tokens merged
    in an earlier run) and dropped below ``merge_min_micro``; a redeem pays what the chain
    holds (``redeem_steps``).
    """
    if isinstance(action, Merge):
        amount = min(action.amount_micro, *chain_micro)
        if amount <= 0 or amount < min(action.amount_micro, merge_min_micro):
            return ()
        return merge_steps(market, amount)
    if resolution is None:
        return ()
    return redeem_steps(market, held_micro, chain_micro, resolution)


def merge_steps(market: Market, amount_micro: int) -> tuple[Step, ...]:
    """The one call that merges ``amount_micro`` sets of ``market`` (pays as much pUSD)."""
    call = merge_call(market.version, market.neg_risk, market.condition_id, amount_micro)
    return (Step(call, (amount_micro, amount_micro), amount_micro),)


def redeem_steps(market: Market, ledger_micro: tuple[int, int], chain_micro: tuple[int, int],
                 resolution: Resolution) -> tuple[Step, ...]:
    """The calls that redeem ``market``: what they take off the ledger is the ledger's
    holding (``ledger_micro``), what they pay is computed from what the wallet holds on chain
    (``chain_micro``, the amounts the contract burns). No call when the chain holds nothing.

    v1: one adapter call for both outcomes. v2: one Router call per outcome held.
    """
    calls = redeem_calls(market.version, market.neg_risk, market.condition_id, chain_micro)
    if market.version == "v1":
        return tuple(Step(c, ledger_micro, resolution.pays_micro(chain_micro)) for c in calls)
    held = [i for i, n in enumerate(chain_micro) if n > 0]
    steps = []
    for i, c in zip(held, calls, strict=True):
        burned = (ledger_micro[0], 0) if i == 0 else (0, ledger_micro[1])
        paid = chain_micro[i] * resolution.numerators[i] // resolution.denominator
        steps.append(Step(c, burned, paid))
    return tuple(steps)


class TreasuryStats(TypedDict):
    """``Treasury.stats()``: the run summary's and the status's ``collateral`` (pUSD as
    floats: a report, never a decision)."""

    merged_usd: float
    redeemed_usd: float
    redeemable_left_usd: float
    pending: int
    failed: int


class TreasuryLedger:
    """Our tokens as the Treasury counts them (see the module docstring).

    Args:
        owner: our API key (which fills in a trade event are ours).
    """

    __slots__ = ("_burned", "merged_micro", "positions", "redeemed_micro")

    def __init__(self, owner: str) -> None:
        self.positions = Positions(owner)
        self._burned: dict[TokenId, int] = {}
        self.merged_micro = 0
        """pUSD (micro) mined merges paid back."""
        self.redeemed_micro = 0
        """pUSD (micro) mined redeems paid back."""

    def on_trade(self, ev: TradeEvent) -> FillChange:
        return self.positions.apply(ev)

    def apply_merged(self, msg: PositionsMerged) -> None:
        for t in msg.token_ids:
            self._burned[t] = self._burned.get(t, 0) + msg.amount_micro
        self.merged_micro += msg.amount_micro

    def apply_redeemed(self, msg: PositionsRedeemed) -> None:
        for t, n in zip(msg.token_ids, msg.burned_micro, strict=True):
            self._burned[t] = self._burned.get(t, 0) + n
        self.redeemed_micro += msg.payout_micro

    def book(self, action: Action, market: Market, step: Step, tx_hash: str,
             ts_ns: int) -> PositionsMerged | PositionsRedeemed:
        """Apply a mined step of ``action``; the message that tells the other ledgers."""
        if isinstance(action, Merge):
            merged = PositionsMerged(condition_id=market.condition_id,
                                     token_ids=market.token_ids,
                                     amount_micro=step.burned_micro[0], tx_hash=tx_hash,
                                     ts_recv_ns=ts_ns)
            self.apply_merged(merged)
            return merged
        redeemed = PositionsRedeemed(condition_id=market.condition_id,
                                     token_ids=market.token_ids, burned_micro=step.burned_micro,
                                     payout_micro=step.payout_micro, tx_hash=tx_hash,
                                     ts_recv_ns=ts_ns)
        self.apply_redeemed(redeemed)
        return redeemed

    def holding(self, token_id: TokenId) -> Holding:
        p = self.positions
        return Holding(p.confirmed_micro(token_id) - self._burned.get(token_id, 0),
                       p.provisional_micro(token_id))

    def holdings(self, markets: Iterable[Market]) -> dict[TokenId, Holding]:
        return {t: self.holding(t) for m in markets for t in m.token_ids}

    def cash_micro(self) -> int:
        """Cash flow of every fill plus every pUSD merges and redeems paid back: the change
        of the wallet's pUSD since the fills began (fees aside)."""
        return self.positions.cash_micro() + self.merged_micro + self.redeemed_micro

    def stats(self, markets: Iterable[Market], resolved: Mapping[ConditionId, Resolution], *,
              pending: int, failed: int) -> TreasuryStats:
        left = self.redeemable_micro(markets, resolved)
        return {"merged_usd": self.merged_micro / MICRO_PER_UNIT,
                "redeemed_usd": self.redeemed_micro / MICRO_PER_UNIT,
                "redeemable_left_usd": left / MICRO_PER_UNIT, "pending": pending,
                "failed": failed}

    def redeemable_micro(self, markets: Iterable[Market],
                         resolved: Mapping[ConditionId, Resolution]) -> int:
        """What redeeming every resolved condition we still hold tokens of would pay."""
        total = 0
        for m in markets:
            res = resolved.get(m.condition_id)
            if res is not None:
                up, down = (self.holding(t).held_micro for t in m.token_ids)
                total += res.pays_micro((up, down))
        return total


@dataclass(slots=True)
class InFlight:
    """An action on chain: the step whose transaction ``tx`` is out, the steps after it,
    when it was sent, whether the node took it (False: no reply yet, so the same bytes are
    submitted again), whether its receipt is overdue, and the relayer's transactionID (a
    deposit wallet's batch; "" for an EOA's transaction)."""

    action: Action
    market: Market
    step: Step
    rest: tuple[Step, ...]
    tx: SignedTx
    sent_s: float
    accepted: bool = False
    timed_out: bool = False
    relay_id: str = ""


def tx_record(action: Action, status: TxStatus, step: Step, *, sender: str, ts_ns: int,
              tx: SignedTx | None = None, receipt: Receipt | None = None,
              error: str = "", relay_id: str = "") -> TreasuryTx:
    """The event-log record of one step of one transaction (``messages.treasury``); a
    relayer's receipt (``venue.relayer.RelayReceipt``) adds its transactionID and error."""
    if isinstance(receipt, RelayReceipt):
        relay_id, error = relay_id or receipt.relay_id, error or receipt.error
    return TreasuryTx(
        condition_id=action.condition_id, action=action.kind, status=status,
        tx_hash=tx.tx_hash if tx else "", sender=sender, to=step.call.to,
        data="0x" + step.call.data.hex(), nonce=tx.nonce if tx else -1,
        gas_limit=tx.gas if tx else 0,
        max_fee_per_gas_wei=tx.max_fee_per_gas_wei if tx else 0,
        max_priority_fee_wei=tx.max_priority_fee_wei if tx else 0,
        burned_micro=step.burned_micro, payout_micro=step.payout_micro,
        gas_used=receipt.gas_used if receipt else 0, fee_wei=receipt.fee_wei if receipt else 0,
        block_number=receipt.block_number if receipt else 0, error=error[:300],
        relay_id=relay_id, chain_tx_hash=receipt.tx_hash if receipt else "", ts_recv_ns=ts_ns)

