"""The Treasury actor: merges complete sets and redeems resolved markets, off the hot path.

Signature types 0 and 3: an EOA sends its own Polygon transactions and pays POL for gas
(``venue.chain_tx.EoaSender``); a deposit wallet's owner signs Batches that Polymarket's
relayer executes (``venue.relayer_sender.RelayerSender``, one at a time). Proxies (1) and Safes
(2) would need the relayer's PROXY/SAFE routes, not built: the constructor refuses them. The
identifier logged before anything leaves is the transaction's hash (EOA) or the Batch digest;
the relayer's transactionID and the on-chain hash are recorded once known (``TreasuryTx``).

It never sleeps: a receipt is polled on later cycles; one missing after ``receipt_timeout_s``
is logged as a timeout and still watched (a late receipt is booked; the transaction is given
up once the sender says it was superseded: the account's nonce moved past it). UNVERIFIED
(``venue.contracts``): Protocol V2 (``v2``) markets are merged through the Router but never
redeemed here (their resolution is read through the PositionManager, not the CTF).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from actors.timers import start_timer
from actors.treasury_io import ChainReads, TxSender
from actors.ws_support import LogLimiter
from messages import ConditionId, Market, MarketResolved, MarketsChanged, TimerFired, TradeEvent
from messages.errors import (
    ChainError,
    ConfigError,
    NotSent,
    RelayerRefused,
    Unauthorized,
    VenueError,
)
from messages.ids import MICRO_PER_UNIT
from messages.treasury import TxStatus
from runtime.actor import Actor
from runtime.sinks import EventSink, MetricSink, Tell
from runtime.timer import PeriodicTimer
from trading.params import rng
from trading.treasury import (
    NOTHING,
    Action,
    InFlight,
    Merge,
    Resolution,
    Step,
    TreasuryLedger,
    TreasuryStats,
    plan,
    retry_delay_s,
    steps_for,
    tx_record,
)
from venue.chain import Receipt
from venue.chain_tx import GWEI, GasCaps, SignedTx
from venue.contracts import CTF, contracts_for

logger = logging.getLogger(__name__)

__all__ = ["ChainReads", "Treasury", "TreasuryConfig", "TreasuryStats", "TxSender"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TreasuryConfig:
    """Section ``treasury``: when to merge, how often to look, what a transaction may cost.

    ``enabled``: whether a paper or live run starts the Treasury (a dry run never does: it has
    no wallet; its paper exchange settles resolutions itself).
    ``merge_min_shares``: the least number of complete sets worth a merge. ``max_gas``: gas per
    transaction (estimate plus margin). ``max_fee_gwei`` and ``max_priority_fee_gwei``: the
    EIP-1559 caps per gas (the tip floor is 30 gwei, ``venue.chain_tx``).
    """

    enabled: bool = True
    merge_min_shares: int = field(default=10, metadata=rng(1, 10_000_000))
    interval_s: float = field(default=30.0, metadata=rng(0.05, 3600))
    max_gas: int = field(default=600_000, metadata=rng(21_000, 30_000_000))
    max_fee_gwei: int = field(default=500, metadata=rng(30, 100_000))
    max_priority_fee_gwei: int = field(default=100, metadata=rng(30, 100_000))
    receipt_timeout_s: float = field(default=180.0, metadata=rng(1, 3600))

    def gas_caps(self) -> GasCaps:
        """The caps ``EoaSender`` takes; ``ValueError`` if inconsistent (tip above fee)."""
        return GasCaps(max_gas=self.max_gas, max_fee_per_gas_wei=self.max_fee_gwei * GWEI,
                       max_priority_fee_wei=self.max_priority_fee_gwei * GWEI)


class Treasury(Actor):
    """Returns collateral: merges complete sets, redeems resolved markets (types 0 and 3).

    Thread ownership: the ledger, the markets, the in-flight actions and every counter belong
    to this actor's thread; the ``PeriodicTimer`` thread only tells it
    ``TimerFired(name="treasury")``.
    Chain calls block this thread (bounded by the client's timeouts); nothing waits on it.

    Accepts: ``TradeEvent`` (our fills, the same events the State gets), ``MarketsChanged``
    (markets are remembered after they leave the set while we hold their tokens),
    ``MarketResolved`` (a hint: a cycle now), its ``TimerFired``; ``stats()`` through a proxy.
    Emits: ``PositionsMerged``/``PositionsRedeemed`` to ``sinks`` (the State, the
    OrderManager) once mined; every transaction step as a ``TreasuryTx`` under kind
    ``treasury`` to the event log. On failure: a chain or venue error is counted in
    ``failed``, logged (rate-limited), and its condition retried on a later cycle with a
    back-off; an exception in a handler is logged and counted, never fatal.

    Args:
        config: the ``treasury`` section. owner: our API key (whose fills are ours).
        sender: an ``EoaSender`` over ``chain`` (type 0) or a ``RelayerSender`` (type 3,
            owned here: closed on stop).
        chain: the JSON-RPC reads; owned here, closed on stop.
        signature_type: ``venue.signature_type``; 1 and 2 are refused.
        sinks: where the position messages go.
    """

    TIMER_NAME = "treasury"

    def __init__(self, *, config: TreasuryConfig, owner: str, sender: TxSender,
                 chain: ChainReads, signature_type: int = 0, sinks: Sequence[Tell] = (),
                 event_log: EventSink | None = None, metrics: MetricSink | None = None,
                 clock_s: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        errors = []  # the loader checks each range; these are what a direct caller can miss
        if signature_type not in (0, 3):
            errors.append(f"venue.signature_type: the Treasury supports 0 (EOA) and 3 (deposit "
                          f"wallet), not {signature_type} (proxies and Safes need the relayer's "
                          "PROXY/SAFE routes, not built)")
        elif (signature_type == 3) != bool(sender.relayed):
            errors.append(f"venue.signature_type {signature_type}: the Treasury needs "
                          f"{'a RelayerSender' if signature_type == 3 else 'an EoaSender'}")
        if config.merge_min_shares < 1 or config.interval_s <= 0:
            errors.append("treasury.merge_min_shares/interval_s: expected >= 1 / > 0")
        try:
            config.gas_caps()
        except ValueError as exc:
            errors.append(f"treasury.max_gas/max_fee_gwei/max_priority_fee_gwei: {exc}")
        if errors:
            raise ConfigError(errors)
        self._cfg = config
        self._merge_min = config.merge_min_shares * MICRO_PER_UNIT
        self._sender = sender
        self._chain = chain
        self._sinks = tuple(sinks)
        self._log = event_log
        self._metrics = metrics
        self._clock = clock_s
        self.ledger = TreasuryLedger(owner)
        self._markets: dict[ConditionId, Market] = {}
        self._current: set[ConditionId] = set()
        self._resolved: dict[ConditionId, Resolution] = {}
        self._flight: dict[ConditionId, InFlight] = {}
        self._failures: dict[ConditionId, int] = {}
        self._retry_at: dict[ConditionId, float] = {}
        self._timer: PeriodicTimer | None = None
        self._warn = LogLimiter()
        self.failed = 0

    # -- lifecycle ----------------------------------------------------------------------------

    def on_start(self) -> None:
        self._timer = start_timer(self.actor_ref, self.TIMER_NAME, self._cfg.interval_s)

    def on_stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self._flight:  # their receipts are on chain; the next run's ledger must see them
            logger.warning("treasury: stopping with transactions in flight: %s",
                           ", ".join(f.relay_id or f.tx.tx_hash for f in self._flight.values()))
        self._chain.close()
        close = getattr(self._sender, "close", None)  # a RelayerSender owns its client
        if close is not None:
            close()

    def on_failure(self, *exc_info: object) -> None:
        self.on_stop()

    def on_receive(self, message: object) -> None:
        try:
            if isinstance(message, TradeEvent):
                self.ledger.on_trade(message)
            elif isinstance(message, MarketsChanged):
                self._on_markets(message)
            elif isinstance(message, MarketResolved):
                self.cycle()  # on-chain resolution is the truth; the hint only brings it on
            elif isinstance(message, TimerFired) and message.name == self.TIMER_NAME:
                self.cycle()
        except Exception:
            self.failed += 1
            logger.exception("treasury: %s failed; skipped", type(message).__name__)

    # -- proxy calls --------------------------------------------------------------------------

    def stats(self) -> TreasuryStats:
        return self.ledger.stats(self._markets.values(), self._resolved,
                                 pending=len(self._flight), failed=self.failed)

    def cash_micro(self) -> int:
        """The ledger's pUSD change since its first fill (``TreasuryLedger.cash_micro``)."""
        return self.ledger.cash_micro()

    def cycle(self) -> None:
        """One cycle: poll the receipts in flight; read ``payoutDenominator`` (and the
        numerators) for each v1 condition we hold tokens of that is not known resolved; plan;
        for each action read the wallet's two token balances, build the calls, sign (the hash
        is logged before it leaves) and submit."""
        now = self._clock()
        for cid, f in list(self._flight.items()):
            self._guard(cid, "receipt", self._poll, f, now)
        self._read_resolutions()
        actions = plan(self._markets.values(), self.ledger.holdings(self._markets.values()),
                       self._resolved, merge_min_micro=self._merge_min, busy=self._flight,
                       retry_at_s=self._retry_at, now_s=now)
        if self._sender.relayed:  # the relayer takes one action of a wallet at a time
            actions = actions[:0 if self._flight else 1]
        for a in actions:
            self._guard(a.condition_id, a.kind, self._start, a, now)
        self._prune()
        if self._metrics is not None:
            self._metrics.gauge("treasury.pending", len(self._flight))
            self._metrics.gauge("treasury.redeemable_left_usd",
                                self.stats()["redeemable_left_usd"])

    # -- markets and resolution ---------------------------------------------------------------

    def _on_markets(self, msg: MarketsChanged) -> None:
        self._markets.update((m.condition_id, m) for m in msg.markets)
        self._current = {m.condition_id for m in msg.markets}
        self._prune()

    def _prune(self) -> None:
        """Forget markets that left the set, hold nothing and have nothing in flight."""
        for cid, m in list(self._markets.items()):
            if cid in self._current or cid in self._flight:
                continue
            if all(self.ledger.holding(t) == NOTHING for t in m.token_ids):
                del self._markets[cid]
                for per_condition in (self._resolved, self._failures, self._retry_at):
                    per_condition.pop(cid, None)

    def _read_resolutions(self) -> None:
        for cid, m in self._markets.items():
            if cid in self._resolved or m.version != "v1" or not any(
                    self.ledger.holding(t).held_micro for t in m.token_ids):
                continue
            self._guard(cid, "read", self._read_resolution, cid)

    def _read_resolution(self, cid: ConditionId) -> None:
        den = self._chain.payout_denominator(CTF, cid)
        if den > 0:
            nums = (self._chain.payout_numerator(CTF, cid, 0),
                    self._chain.payout_numerator(CTF, cid, 1))
            self._resolved[cid] = Resolution(den, nums)
            logger.info("treasury: %s resolved on chain, payouts %s/%d", cid, nums, den)

    # -- sending ------------------------------------------------------------------------------

    def _start(self, action: Action, now: float) -> None:
        m = self._markets[action.condition_id]
        tokens, who = contracts_for(m.version, m.neg_risk).ledger, self._sender.address
        chain = (self._chain.erc1155_balance(tokens, who, int(m.token_ids[0])),
                 self._chain.erc1155_balance(tokens, who, int(m.token_ids[1])))
        held = (self.ledger.holding(m.token_ids[0]).held_micro,
                self.ledger.holding(m.token_ids[1]).held_micro)
        steps = steps_for(action, m, held, chain, self._resolved.get(m.condition_id),
                          merge_min_micro=self._merge_min)
        if chain != held and (not isinstance(action, Merge) or not steps):
            self._warn_once(f"treasury: {action.kind} {m.slug}: the ledger holds {held}, "
                            f"the chain {chain}")
        if not steps:
            self._failed(m.condition_id, now, f"{action.kind} {m.slug}: nothing to send")
            return
        self._send(action, m, steps[0], steps[1:], now)

    def _send(self, action: Action, m: Market, step: Step, rest: tuple[Step, ...],
              now: float) -> None:
        try:
            tx = self._sender.sign(step.call)
        except VenueError as exc:
            self._record(action, TxStatus.NOT_SENT, step, error=exc.message)
            self._failed(m.condition_id, now, f"{action.kind} {m.slug}: not sent: {exc.message}")
            return
        if self._metrics is not None:
            self._metrics.incr("treasury.txs")
        self._record(action, TxStatus.SIGNED, step, tx=tx)  # the hash, before it leaves
        f = self._flight[m.condition_id] = InFlight(action, m, step, rest, tx, now)
        self._submit(f, now)

    def _submit(self, f: InFlight, now: float) -> None:
        what = f"{f.action.kind} {f.market.slug}"
        try:
            got = self._sender.submit(f.tx)
        except (ChainError, NotSent, RelayerRefused, Unauthorized) as exc:
            if "nonce too low" in exc.message.lower() and self._settle(f, now):
                return  # ours, mined already: this was a re-submit after no reply
            self._record_f(f, TxStatus.REFUSED, error=exc.message)
            del self._flight[f.action.condition_id]
            self._failed(f.action.condition_id, now, f"{what}: refused: {exc.message}")
            return
        except VenueError as exc:  # no reply, or one we cannot read: it may be in the pool
            self._record_f(f, TxStatus.UNKNOWN, error=exc.message)
            self._warn_once(f"treasury: {what}: submit of {f.tx.tx_hash}: {exc}; polling "
                            "its receipt")
            return
        f.accepted = True
        f.relay_id = got if got != f.tx.tx_hash else ""  # the relayer's transactionID
        self._record_f(f, TxStatus.SENT)

    def _poll(self, f: InFlight, now: float) -> None:
        if self._settle(f, now):
            return
        if not f.accepted:
            self._submit(f, now)  # the same bytes: a node that holds them says "already known"
            return
        if now - f.sent_s < self._cfg.receipt_timeout_s:
            return
        cid, what = f.action.condition_id, f"{f.action.kind} {f.market.slug}"
        if self._sender.superseded(f.tx):
            if not self._settle(f, now):  # the nonce moved on without this transaction
                self._record_f(f, TxStatus.DROPPED)
                del self._flight[cid]
                self._failed(cid, now, f"{what}: {f.tx.tx_hash} dropped")
        elif not f.timed_out:
            f.timed_out = True
            self._record_f(f, TxStatus.TIMEOUT)
            self._failed(cid, now, f"{what}: no receipt for {f.tx.tx_hash} after "
                                   f"{now - f.sent_s:.0f} s; still watching it", back_off=False)

    def _settle(self, f: InFlight, now: float) -> bool:
        """Book ``f``'s receipt if there is one; False while it is not mined."""
        r = self._sender.receipt(f.tx.tx_hash)
        if r is None:
            return False
        cid = f.action.condition_id
        self._record_f(f, TxStatus.MINED if r.ok else TxStatus.REVERTED, receipt=r)
        del self._flight[cid]
        if not r.ok:
            why = getattr(r, "error", "")  # a relayer's STATE_FAILED says why
            self._failed(cid, now, f"{f.action.kind} {f.market.slug}: "
                                   f"{r.tx_hash or f.tx.tx_hash} reverted {why}".rstrip())
            return True
        self._apply(f, r.tx_hash or f.tx.tx_hash)
        if f.rest:
            self._send(f.action, f.market, f.rest[0], f.rest[1:], now)
        else:
            self._failures.pop(cid, None)
            self._retry_at.pop(cid, None)
        return True

    def _apply(self, f: InFlight, tx_hash: str) -> None:
        msg = self.ledger.book(f.action, f.market, f.step, tx_hash, time.time_ns())
        logger.info("treasury: %s %s mined (%s): +%.6f pUSD", f.action.kind, f.market.slug,
                    tx_hash, f.step.payout_micro / MICRO_PER_UNIT)
        for sink in self._sinks:
            try:
                sink(msg)
            except Exception:
                logger.exception("treasury: a sink failed on %s", type(msg).__name__)

    # -- failures and records -----------------------------------------------------------------

    def _guard(self, cid: ConditionId, what: str, fn: Callable[..., None],
               *args: object) -> None:
        """Run one condition's chain work; an error fails that condition only (a failed read
        is counted but holds nothing back: the send that follows would fail on its own)."""
        try:
            fn(*args)
        except (VenueError, ValueError) as exc:  # ValueError: calldata refused an id or amount
            self._failed(cid, self._clock(), f"{what} {cid}: {exc}", back_off=what != "read")

    def _failed(self, cid: ConditionId, now: float, text: str, *, back_off: bool = True
                ) -> None:
        self.failed += 1
        if self._metrics is not None:
            self._metrics.incr("treasury.failed")
        if not back_off:
            self._warn_once(f"treasury: {text}")
            return
        n = self._failures[cid] = self._failures.get(cid, 0) + 1
        delay = retry_delay_s(n, self._cfg.interval_s)
        self._retry_at[cid] = now + delay
        self._warn_once(f"treasury: {text} (failure {n} in a row; retry in {delay:g} s)")

    def _warn_once(self, text: str) -> None:
        n = self._warn.allow()
        if n is not None:
            logger.warning("%s (%d similar suppressed)", text, n)

    def _record(self, action: Action, status: TxStatus, step: Step, *,
                tx: SignedTx | None = None, receipt: Receipt | None = None,
                error: str = "", relay_id: str = "") -> None:
        if self._log is not None:
            self._log.append("treasury", tx_record(action, status, step, tx=tx, receipt=receipt,
                                                   sender=self._sender.address, error=error,
                                                   relay_id=relay_id, ts_ns=time.time_ns()))

    def _record_f(self, f: InFlight, status: TxStatus, *, receipt: Receipt | None = None,
                  error: str = "") -> None:
        self._record(f.action, status, f.step, tx=f.tx, receipt=receipt, error=error,
                     relay_id=f.relay_id)
