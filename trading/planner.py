"""The order planner: desired quotes and venue outcomes in, venue requests and events out.

A pass (``run_pass``) diffs the desired quotes against our orders (``trading.diff``), cancels
first, diffs again, checks the posts against the risk limits (``trading.risk``), has them
signed and posts them in batches, within the rate budgets and the venue's back-off; every
outcome goes to the ``OrderTracker`` and becomes events (``trading.order_report``). The pass is
a generator of ``trading.order_steps`` (see there for the protocol with its driver); inputs
that need no venue are plain methods.

With ``pipeline_replace`` (and cancels that fit one request) the cancels are written, not
waited for: the replacements are risk-checked (counted together with the orders being
canceled) and signed first, then the cancel is written and the replacements posted right
behind it, and the cancels' reply is read afterwards. Whatever could not go that
way (risk trims, a replacement that could trade with a canceling order) is posted after the
reply, as without it.

Thread ownership: the OrderManager's thread. Pure: times are arguments (``now_s``, seconds on
the actor's monotonic clock; ``at_s`` when an outcome arrived).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from messages import (
    PIPS_PER_UNIT,
    ConditionId,
    DesiredQuote,
    DesiredQuotes,
    OrderEvent,
    OrderHash,
    RejectReason,
    Side,
    TokenId,
    TradeEvent,
    TradeStatus,
)
from trading.ack_watch import AckWatch
from trading.diff import DiffResult, batches, crosses, diff_orders
from trading.order_replay import diff_record
from trading.order_report import OrderReport, Outbox
from trading.order_steps import Cancel, CancelEverything, FinishCancel, Steps
from trading.order_tracker import IN_FLIGHT, OPEN, OrderState, OrderTracker, RemoteOrder
from trading.params import OrderParams, RiskLimits
from trading.post_pass import post_pass
from trading.rate_budget import CANCEL, Backoff, TokenBucket
from trading.risk import KillSwitchMonitor
from venue.gateway import CancelReply, MarketInfo
from venue.refusals import Refusal

logger = logging.getLogger("actors.order_manager")

PRESIGN_TICKS = 1
"""How many ticks either side of a desired quote ``presign_candidates`` offers."""

def desired_ticks(desired: DesiredQuotes,
                  markets: dict[TokenId, MarketInfo]) -> dict[TokenId, int]:
    """Each token's tick as the Quoter priced on it (the State's live tick, carried in the
    decisions), for the diff's tolerance and the signing checks."""
    by_market = {d.condition_id: d.tick_pips for d in desired.decisions if d.tick_pips}
    return {t: by_market[i.condition_id] for t, i in markets.items()
            if i.condition_id in by_market}


class OrderPlanner:
    """Our orders' rules: the tracker, rate budgets, back-off, kill switch and strays."""

    def __init__(self, *, params: OrderParams, limits: RiskLimits, owner: str, now_s: float,
                 out: Outbox, wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
                 ) -> None:
        if not 1 <= params.batch_size <= 15:
            raise ValueError(f"order_manager.batch_size: expected 1..15, got {params.batch_size}")
        self.params = params
        self.limits = limits
        self.out = out
        self.report = OrderReport(out, AckWatch(params.user_ack_timeout_s))
        self.tracker = OrderTracker(owner=owner,
                                    resolve_timeout_ms=int(params.resolve_timeout_s * 1000))
        self.order_bucket = TokenBucket(params.order_rate_per_s, params.order_burst, now_s)
        self.cancel_bucket = TokenBucket(params.cancel_rate_per_s, params.cancel_burst, now_s)
        self.cancel_batch = max(1, min(1000, params.cancel_burst))
        self.backoff = Backoff()
        self.kill = KillSwitchMonitor(limits)
        self.markets: dict[TokenId, MarketInfo] = {}
        # The ticks of the latest desired quotes (the State owns the tick).
        self.ticks: dict[TokenId, int] = {}
        self.tick_refreshed: dict[TokenId, float] = {}
        self._conditions: set[ConditionId] = set()
        self.desired: DesiredQuotes | None = None
        self.strays: set[OrderHash] = set()
        self.halted: str | None = None
        self.wall_ms = wall_ms
        # The price each (token, side) quote last moved away from: a likely next price.
        self.left_prices: dict[tuple[TokenId, Side], int] = {}

    # -- inputs without the venue ------------------------------------------------------------

    def set_desired(self, desired: DesiredQuotes) -> None:
        old = self.desired
        if old is not None:
            was = {(q.token_id, q.side): q.price_pips for q in old.quotes}
            for q in desired.quotes:
                p0 = was.get((q.token_id, q.side))
                if p0 is not None and p0 != q.price_pips:
                    self.left_prices[(q.token_id, q.side)] = p0
        self.desired = desired
        self.report.suppressed.clear()
        self.ticks = desired_ticks(desired, self.markets)
        self.out.record({"op": "desired", "seq": desired.seq, "quotes": len(desired.quotes)})

    def set_markets(self, markets: dict[TokenId, MarketInfo]) -> None:
        self.markets = markets
        if self.desired is not None:
            self.ticks = desired_ticks(self.desired, markets)
        self._conditions = {i.condition_id for i in markets.values()}

    def order_event(self, ev: OrderEvent, now_s: float) -> None:
        self.report.acks.seen(ev.order_id)
        tr, stray = self.tracker.on_order_event(ev, int(now_s * 1000))
        if tr is not None:
            self.report.transition(tr, now_s)
        if stray:
            self.new_strays([ev.order_id])

    def trade_event(self, ev: TradeEvent, now_s: float) -> bool:
        """Apply one trade event; whether it added or undid a fill of ours."""
        change, transitions = self.tracker.on_trade_event(ev, int(now_s * 1000))
        fills = [(f, ev.status) for f in change.added]
        fills += [(f, TradeStatus.FAILED) for f in change.undone]
        for f, status in fills:
            self.report.fill(f, status, ev.ts_recv_ns)
        for tr in transitions:
            self.report.transition(tr, now_s)
        return bool(fills)

    def reconciled(self, remote: Sequence[RemoteOrder], now_s: float) -> int:
        """Align the tracker with the venue's open orders; strays get canceled by the next
        pass. Returns how many strays were found."""
        result = self.tracker.reconcile(remote, int(now_s * 1000))
        for tr in result.transitions:
            self.report.transition(tr, now_s)
        self.new_strays(result.strays)
        return len(result.strays)

    def looked_up(self, order_id: OrderHash, found: RemoteOrder | Refusal | None,
                  now_s: float) -> None:
        """The answer to ``GET /data/order``; a failed look-up concludes nothing."""
        now_ms = int(now_s * 1000)
        if isinstance(found, Refusal):
            self.tracker.check_failed(order_id, now_ms)
            return
        tr = self.tracker.resolve(order_id, found, now_ms)
        if tr is not None:
            self.report.transition(tr, now_s)

    def new_strays(self, ids: Sequence[str]) -> None:
        if ids:
            self.out.incr("orders.unknown_orders", len(ids))
            logger.warning("order manager: %d orders at the venue we did not send; canceling",
                           len(ids))
            self.strays.update(OrderHash(i.lower()) for i in ids)

    def resume(self, reason: str) -> bool:
        """The kill switch was released; whether quoting resumes."""
        if self.halted is None:
            return False
        logger.warning("order manager: quoting resumed (%s)", reason)
        self.halted = None
        self.kill.reset()
        self.out.gauge("risk.kill_switch", 0)
        return True

    def presign_candidates(self) -> list[tuple[DesiredQuote, MarketInfo, int]]:
        """The orders the next replace will likely post, most likely first, to be signed
        ahead (``venue.presign``): each desired quote a tick either side and at the price it
        last left, then further ticks out (up to ``PRESIGN_TICKS``). Same market, token, side
        and size as the quote; prices off ``[tick, 1 - tick]`` are left out."""
        d = self.desired
        if d is None or self.halted is not None:
            return []
        rings: list[list[tuple[DesiredQuote, MarketInfo, int]]] = [
            [] for _ in range(max(1, PRESIGN_TICKS))]
        for q in d.quotes:
            info, tick = self.markets.get(q.token_id), self.ticks.get(q.token_id, 0)
            if info is None or not tick or q.condition_id not in self._conditions:
                continue
            p0 = q.price_pips
            prices = [(k - 1, p0 + sign * k * tick)
                      for k in range(1, PRESIGN_TICKS + 1) for sign in (-1, 1)]
            prices.insert(2, (0, self.left_prices.get((q.token_id, q.side), p0)))
            for ring, price in prices:
                if price != p0 and tick <= price <= PIPS_PER_UNIT - tick:
                    rings[ring].append((dataclasses.replace(q, price_pips=price), info, tick))
        return [c for ring in rings for c in ring]

    def gauges(self, now_s: float) -> None:
        counts = self.tracker.counts()
        self.out.gauge("orders.open", sum(counts[s.value] for s in OPEN))
        self.out.gauge("orders.rate_budget_remaining", self.order_bucket.remaining(now_s),
                       "order")
        self.out.gauge("orders.rate_budget_remaining", self.cancel_bucket.remaining(now_s),
                       "cancel")

    def stats(self) -> dict[str, Any]:
        """Counters for the status line and the run summary."""
        counts = self.tracker.counts()
        t, r = self.tracker, self.report
        return {
            "orders_posted": r.posted, "orders_canceled": r.canceled,
            "rejects": dict(r.rejects), "fills": t.fills,
            "duplicate_orders": t.duplicates_prevented + t.duplicates_reported,
            "duplicate_orders_prevented": t.duplicates_prevented,
            "duplicate_orders_reported": t.duplicates_reported,
            "unknown_orders": t.unknown_orders, "unknown_resolved": t.unknown_resolved,
            "open_orders": sum(counts[s.value] for s in OPEN),
            "in_flight": sum(counts[s.value] for s in IN_FLIGHT),
            "unknown_outcome": counts[OrderState.UNKNOWN.value],
            "halted": self.halted or "",
        }

    def refused(self, op: str, ref: Refusal, at_s: float) -> RejectReason:
        """A whole request was refused: back off where the venue says so, from when the
        refusal arrived (a slow reply must not eat into the venue's ``Retry-After``)."""
        if ref.blocks:
            wait = self.backoff.block(ref.blocks, at_s, ref.retry_after_s)
            logger.warning("order manager: %s refused (%s, %s); backing off %s for %.1f s",
                           op, ref.status, ref.reason.value, "+".join(ref.blocks), wait)
        else:
            logger.warning("order manager: %s refused (%s): %s", op, ref.status, ref.message)
        return ref.reason

    # -- the pass -----------------------------------------------------------------------------

    def run_pass(self, now_s: float) -> Steps:
        """Diff → cancels → (pipelined: risk → sign → cancel written → post →) cancel replies
        → diff → risk → sign → post."""
        pipeline = self.params.pipeline_replace
        diff = self.diff(post_behind=pipeline)
        cancels = tuple(sorted(self.strays | set(diff.cancels)))
        if cancels and pipeline and len(cancels) <= self.cancel_batch:
            if self._cancel_allowed(cancels, now_s):
                ids = set(cancels)
                canceling = [o for o in self.tracker.live_orders() if o.order_id in ids]
                self._cancel_sending(cancels, now_s)
                # The diff already posts behind older canceling orders; these are the ones
                # just canceled (left out of its matching, so its posts stand).
                posts = tuple(q for q in diff.posts if not any(crosses(q, o) for o in canceling))
                written: list[tuple[Any, float]] = []

                def write_cancel() -> Steps:
                    # Written once the first replacements are signed, right before they are
                    # posted: the cancel still goes first, and nothing but the post's own
                    # bytes sits between the two writes.
                    pending, at = yield Cancel(cancels, wait=False)
                    written.append((pending, at))
                    return not isinstance(pending, Refusal)

                try:
                    # A DiffResult built directly: dataclasses.replace costs several µs here.
                    behind = DiffResult(cancels=diff.cancels, posts=posts, kept=diff.kept,
                                        waiting=diff.waiting)
                    yield from post_pass(self, behind, now_s, behind=True,
                                         before_post=write_cancel)
                    if not written:  # nothing was posted behind it
                        yield from write_cancel()
                finally:
                    if written and not isinstance(written[0][0], Refusal):
                        reply, at = yield FinishCancel(written[0][0])
                        self.cancel_result(reply, cancels, at)
                pending, at = written[0]
                if not isinstance(pending, Refusal):
                    yield from post_pass(self, self.diff(), now_s)
                    return
                self.cancel_result(pending, cancels, at)
        elif cancels:
            yield from self.send_cancels(cancels, now_s)
        if cancels:
            diff = self.diff()
        yield from post_pass(self, diff, now_s)

    def send_cancels(self, ids: Sequence[OrderHash], now_s: float, *,
                     forced: bool = False) -> Steps:
        """Cancel ``ids`` batch by batch, each within the cancel budget and back-off.
        ``forced`` (shutdown): the budget is spent but never waited for; the back-off is the
        caller's to respect."""
        for batch in batches(list(ids), self.cancel_batch):
            if forced:
                self.cancel_bucket.try_take(len(batch), now_s)  # spent, even when empty
            elif not self._cancel_allowed(batch, now_s):
                return
            self._cancel_sending(batch, now_s)
            reply, at = yield Cancel(batch)
            if not self.cancel_result(reply, batch, at):
                return

    def _cancel_allowed(self, batch: Sequence[str], now_s: float) -> bool:
        if not self.backoff.allowed(CANCEL, now_s):
            return False
        if not self.cancel_bucket.try_take(len(batch), now_s):
            logger.debug("order manager: cancel budget exhausted; deferring %d", len(batch))
            return False
        return True

    def _cancel_sending(self, batch: Sequence[str], now_s: float) -> None:
        self.tracker.cancel_sent(batch, int(now_s * 1000))
        self.out.record({"op": "cancel", "ids": list(batch)})
        self.out.timing_ms("orders.batch_size", len(batch), "cancel")

    def cancel_result(self, outcome: CancelReply | Refusal, batch: Sequence[OrderHash],
                      at_s: float) -> bool:
        """A cancel request's outcome; whether the next batch may still go. No reply leaves
        the orders canceling (looked up later); a refusal means they still rest."""
        if isinstance(outcome, Refusal):
            if outcome.no_reply:
                logger.warning("order manager: cancel of %d orders got no reply: %s",
                               len(batch), outcome.message)
                return True
            self.tracker.cancel_failed(batch)
            self.refused(CANCEL, outcome, at_s)
            return False
        self.backoff.ok(CANCEL)
        self.apply_cancel_reply(outcome, batch, at_s)
        return True

    def apply_cancel_reply(self, reply: CancelReply, batch: Sequence[OrderHash],
                           at_s: float) -> None:
        self.out.record({"op": "canceled", "ids": list(reply.canceled),
                         "not_canceled": dict(reply.not_canceled)})
        for tr in self.tracker.cancel_reply(reply.canceled, reply.not_canceled,
                                            int(at_s * 1000)):
            self.report.transition(tr, at_s)
        done = set(reply.canceled) | set(reply.not_canceled)
        done.update(i for i in batch if i in self.strays)
        gone = self.strays & done
        self.strays -= gone
        self.tracker.forget_strays(gone)

    def diff(self, *, post_behind: bool = False) -> DiffResult:
        t0 = time.perf_counter_ns()
        d = self.desired
        if d is None or self.halted is not None:
            quotes: tuple[DesiredQuote, ...] = ()
            managed: set[ConditionId] = set()
        else:
            managed = {m.condition_id for m in d.decisions} & self._conditions
            quotes = tuple(q for q in d.quotes if q.condition_id in managed)
        t = self.tracker
        live, pending, in_flight = t.live_orders(), t.pending_cancels(), t.in_flight_posts()
        result = diff_orders(quotes, live, pending, in_flight, self.params, managed, self.ticks,
                             post_behind_cancels=post_behind)
        self.out.timing_ms("orders.diff_ms", (time.perf_counter_ns() - t0) / 1e6)
        if result.cancels or result.posts:
            self.out.record_later(diff_record, d.seq if d is not None else -1, quotes, live,
                                  pending, in_flight, managed, self.ticks, result,
                                  post_behind=post_behind)
        return result

    def halt_if_tripped(self, now_s: float) -> Steps:
        why = self.kill.tripped()
        if why is not None:
            yield from self.halt(f"kill switch: {why}", now_s)
        return why is not None

    def halt(self, reason: str, now_s: float) -> Steps:
        """Stop quoting and cancel everything (once the venue allows cancels)."""
        if self.halted is None:
            logger.error("order manager: halting quoting: %s", reason)
        self.halted = reason
        self.out.gauge("risk.kill_switch", 1)
        yield from self.cancel_all(reason, now_s)

    def cancel_all(self, reason: str, now_s: float) -> Steps:
        """``DELETE /cancel-all`` unless the venue's ``Retry-After`` forbids a cancel now (the
        halted pass then cancels everything once it allows). Returns whether it went through."""
        self.out.record({"op": "cancel_all", "reason": reason})
        if not self.backoff.allowed(CANCEL, now_s):
            logger.warning("order manager: cancel-all (%s) deferred: the venue asked us to "
                           "wait %.2f s", reason, self.backoff.until(CANCEL) - now_s)
            return False
        outcome, at = yield CancelEverything(reason)
        if isinstance(outcome, Refusal):
            self.refused(CANCEL, outcome, at)
            logger.error("order manager: cancel-all (%s) failed: %s", reason, outcome.message)
            return False
        self.cancel_all_done(outcome, at)
        return True

    def cancel_all_done(self, reply: CancelReply, at_s: float) -> None:
        self.cancel_bucket.debit(1 + len(reply.canceled), at_s)
        self.apply_cancel_reply(reply, list(self.strays), at_s)
