"""The OrderManager's pass and its outcomes: diff, cancels, risk, signing, posts, events.

A mixin of ``OrderManager`` (one concern per module: the actor module handles inputs, timers
and lifecycle; this one turns the desired quotes into REST calls and their results into
events). Everything here runs on the OrderManager's thread and uses its state, declared below.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from actors.order_cancels import OrderCancels
from actors.order_output import OrderOutput
from actors.order_venue import MarketInfo, refuse
from messages import (
    ConditionId,
    DesiredQuote,
    DesiredQuotes,
    OrderCanceled,
    OrderHash,
    OrderPlaced,
    OrderRejected,
    RejectReason,
    Side,
    TickSizeChanged,
    TokenId,
)
from messages.errors import OutcomeUnknown, VenueError
from runtime import trace
from trading.ack_watch import AckWatch
from trading.diff import DiffResult, batches, crosses, diff_orders
from trading.order_replay import diff_record, risk_record
from trading.order_tracker import IN_FLIGHT, OPEN, OrderState, OrderTracker, Transition
from trading.params import OrderParams, RiskLimits
from trading.pricing import SIZE_STEP_MICRO
from trading.rate_budget import POST, Backoff, TokenBucket
from trading.risk import Exposure, KillSwitchMonitor, check_posts
from venue.orders import Order, limit_order_amounts_int, order_body
from venue.post_results import PostVerdict, decode_post_results

logger = logging.getLogger("actors.order_manager")

TICK_REFRESH_MIN_S = 5.0
Quote = tuple[TokenId, Side, int, int]
# Refusals that say nothing about the quote itself: it may be sent again once allowed. Any
# other refusal holds the quote back until the next desired quotes re-price it.
_TRANSIENT = frozenset({RejectReason.RATE_LIMITED, RejectReason.TOO_EARLY,
                        RejectReason.POST_ONLY_MODE, RejectReason.TRADING_DISABLED,
                        RejectReason.SERVER, RejectReason.TIMEOUT})


def qkey(q: DesiredQuote) -> Quote:
    return (q.token_id, q.side, q.price_pips, q.size_micro)


class OrderFlow(OrderCancels):
    """The pass (diff → cancels → diff → risk → sign → post) and its outcomes."""

    # State owned by the OrderManager (set in its ``__init__``).
    tracker: OrderTracker
    out: OrderOutput
    backoff: Backoff
    _params: OrderParams
    _limits: RiskLimits
    _signer: Any
    _client: Any
    _api_key: str
    _maker: str
    _sig_type: int
    _signer_addr: str
    _clock: Callable[[], float]
    _wall_ms: Callable[[], int]
    acks: AckWatch
    _order_bucket: TokenBucket
    _cancel_batch: int
    _kill: KillSwitchMonitor
    _markets: dict[TokenId, MarketInfo]
    _ticks: dict[TokenId, int]
    _tick_refreshed: dict[TokenId, float]
    _recovered_sink: Callable[[Any], None] | None
    _conditions: set[ConditionId]
    _desired: DesiredQuotes | None
    _suppressed: set[Quote]
    _strays: set[OrderHash]
    _halted: str | None
    _posted: int
    _canceled: int
    _rejects: Counter[str]
    # Provided by ``OrderShutdown`` (actors/order_shutdown.py).
    _cancel_all: Callable[[str], bool]

    # -- the pass --------------------------------------------------------------------------

    def run_pass(self) -> None:
        """Diff → cancels → (pipelined: diff → risk → sign → post →) cancel replies → diff →
        risk → sign → post.

        With ``pipeline_replace`` (and cancels that fit one request) the cancels are written,
        not waited for: the replacements are posted at once on the other connection, counted
        against the risk limits together with the orders being canceled, and the cancels'
        reply is read afterwards. Whatever could not go that way (risk trims, a replacement
        that could trade with a canceling order) is posted after the reply, as without it.
        """
        now_s = self._clock()
        pipeline = self._params.pipeline_replace
        diff = self._diff(post_behind=pipeline)
        cause_ns = self._desired.cause_recv_ns if trace.enabled and self._desired else 0
        if cause_ns:
            trace.mark(trace.DIFF, cause_ns)
        cancels = sorted(self._strays | set(diff.cancels))
        if cancels and pipeline and len(cancels) <= self._cancel_batch:
            ids = set(cancels)
            canceling = [o for o in self.tracker.live_orders() if o.order_id in ids]
            started = self._begin_cancels(cancels, now_s)
            if started is not None:
                if cause_ns:
                    trace.mark(trace.CANCEL, cause_ns)
                try:
                    # The diff already posts behind older canceling orders; these are the ones
                    # just canceled (left out of its matching, so its posts stand as they are).
                    posts = tuple(q for q in diff.posts
                                  if not any(crosses(q, o) for o in canceling))
                    self._post_pass(dataclasses.replace(diff, posts=posts), now_s, behind=True)
                finally:
                    self._finish_cancels(started, now_s)
                self._post_pass(self._diff(), now_s)
                return
        elif cancels:
            self._send_cancels(cancels, now_s)
        if cancels:
            if cause_ns:
                trace.mark(trace.CANCEL, cause_ns)
            diff = self._diff()
        self._post_pass(diff, now_s)

    def _post_pass(self, diff: DiffResult, now_s: float, *, behind: bool = False) -> None:
        """Risk → sign → post for the diff's posts. ``behind``: cancels are in flight; a post
        the risk check trims waits for their reply (the next diff) instead of being refused."""
        if self._halted is not None or not self.backoff.allowed(POST, now_s):
            return
        posts = [q for q in diff.posts
                 if q.token_id in self._markets and qkey(q) not in self._suppressed]
        if not posts:
            return
        t = self.tracker
        positions, live, in_flight = t.positions(), t.live_orders(), t.in_flight_posts()
        cost = t.position_cost_micro()
        per_market = t.open_orders_per_market()
        exposure = Exposure.build(positions, live, in_flight, cost)
        min_sizes = {i.condition_id: i.min_size_micro for i in self._markets.values()}
        risk = check_posts(posts, exposure, per_market, self._limits, min_sizes)
        # The pUSD at risk that this check held against risk.max_notional_usd.
        self.out.gauge("risk.notional_usd", exposure.notional_micro / 1e6)
        if self.out.log is not None:
            self.out.record(risk_record(posts, positions, cost, live, in_flight, per_market,
                                     min_sizes, risk))
        if behind:
            if risk.dropped:
                self.out.incr("orders.replace_waits", len(risk.dropped))
        else:
            for q, why in risk.dropped:
                self.out.incr("risk.trims", dim=why)
                self._reject_local(q, RejectReason.RISK, why)
        self._send_posts(risk.accepted, now_s)

    def _diff(self, *, post_behind: bool = False) -> DiffResult:
        t0 = time.perf_counter_ns()
        d = self._desired
        if d is None or self._halted is not None:
            quotes: tuple[DesiredQuote, ...] = ()
            managed: set[ConditionId] = set()
        else:
            managed = {m.condition_id for m in d.decisions} & self._conditions
            quotes = tuple(q for q in d.quotes if q.condition_id in managed)
        t = self.tracker
        live, pending, in_flight = t.live_orders(), t.pending_cancels(), t.in_flight_posts()
        result = diff_orders(quotes, live, pending, in_flight, self._params, managed, self._ticks,
                             post_behind_cancels=post_behind)
        self.out.timing_ms("orders.diff_ms", (time.perf_counter_ns() - t0) / 1e6)
        if self.out.log is not None and (result.cancels or result.posts):
            self.out.record(diff_record(d.seq if d is not None else -1, quotes, live, pending,
                                     in_flight, managed, self._ticks, result,
                                     post_behind=post_behind))
        return result

    def _send_posts(self, quotes: Sequence[DesiredQuote], now_s: float) -> None:
        now_ms = int(now_s * 1000)
        cause_ns = self._desired.cause_recv_ns if self._desired is not None else 0
        for batch in batches(list(quotes), self._params.batch_size):
            if self._halted is not None or not self.backoff.allowed(POST, now_s):
                return
            if not self._order_bucket.try_take(len(batch), now_s):
                logger.debug("order manager: order budget exhausted; deferring %d", len(batch))
                return
            t0 = time.perf_counter_ns()
            signed = [s for s in (self._sign(q, now_ms) for q in batch) if s is not None]
            if not signed:
                continue
            if trace.enabled and cause_ns:
                trace.mark(trace.SIGN, cause_ns)
            self.out.timing_ms("orders.sign_ms", (time.perf_counter_ns() - t0) / 1e6 / len(signed))
            self.out.record({"op": "post", "seq": self._desired.seq if self._desired else -1,
                          "orders": [{"id": h, "token": q.token_id, "side": q.side.value,
                                      "price_pips": q.price_pips, "size_micro": q.size_micro}
                                     for h, q, _ in signed]})
            self.out.timing_ms("orders.batch_size", len(signed), "post")
            body = b"[" + b",".join(b for _, _, b in signed) + b"]"
            t0 = time.perf_counter_ns()
            try:
                results = self._client.post_orders(body)
            except VenueError as exc:
                if isinstance(exc, OutcomeUnknown) or (exc.status >= 500 and exc.status != 503):
                    # The venue may have taken them: never re-send, look them up.
                    logger.warning("order manager: post of %d orders has an unknown outcome: "
                                   "%s", len(signed), exc)
                    for h, _, _ in signed:
                        self.tracker.post_unknown(h, now_ms)
                        self._kill.record_result(RejectReason.TIMEOUT, now_ms)
                    self.out.record({"op": "post_unknown", "ids": [h for h, _, _ in signed]})
                else:
                    reason = self._refused(POST, exc, now_s)
                    for h, q, _ in signed:
                        self.tracker.post_rejected(h, exc.message, duplicate=False,
                                                   now_ms=now_ms)
                        self._reject(h, q, reason, exc.message)
                # A venue that takes no post at all must trip the switch like one that
                # rejects them one by one; the rest of this pass waits for the next one.
                self._halt_if_tripped()
                return
            finally:
                self.out.timing_ms("orders.order_submit_latency_ms",
                             (time.perf_counter_ns() - t0) / 1e6, "post")
                sent_ns = getattr(self._client, "last_send_ns", 0)
                if cause_ns and sent_ns:
                    self.out.timing_ms("orders.tick_to_order_ms", (sent_ns - cause_ns) / 1e6)
                    if trace.enabled:
                        trace.mark(trace.SEND, cause_ns, sent_ns)
                        trace.mark(trace.REPLY, cause_ns,
                                   getattr(self._client, "last_recv_ns", 0))
            self.backoff.ok(POST)
            self._apply_post_results(signed, results, now_s)
            if self._halt_if_tripped():
                return

    def _halt_if_tripped(self) -> bool:
        why = self._kill.tripped()
        if why is not None:
            self._halt(f"kill switch: {why}")
        return why is not None

    def _sign(self, q: DesiredQuote,
              now_ms: int) -> tuple[OrderHash, DesiredQuote, bytes] | None:
        info = self._markets[q.token_id]
        size = q.size_micro - q.size_micro % SIZE_STEP_MICRO
        try:
            maker_amt, taker_amt = limit_order_amounts_int(
                q.side, q.price_pips, size, self._ticks.get(q.token_id, 0),
                min_size_micro=info.min_size_micro)
        except ValueError as exc:
            tick = "tick" in str(exc)
            if tick and self._clock() - self._tick_refreshed.get(q.token_id, -1e18) >= \
                    TICK_REFRESH_MIN_S:
                # The State's tick may be stale (the venue changed it with no feed event).
                self._refresh_tick(q.token_id)
            self._reject_local(q, RejectReason.TICK if tick else RejectReason.MIN_SIZE, str(exc))
            return None
        order = Order.create(maker=self._maker, signer=self._signer_addr, token_id=q.token_id,
                             maker_amount=maker_amt, taker_amount=taker_amt,
                             side=0 if q.side is Side.BUY else 1, timestamp_ms=self._wall_ms(),
                             signature_type=self._sig_type)
        h, sig = self._signer.sign_with_hash(order, exchange=info.exchange,
                                             domain_version=info.domain_version)
        quote = q if size == q.size_micro else dataclasses.replace(q, size_micro=size)
        if not self.tracker.add_pending(h, quote, now_ms):
            logger.error("order manager: order %s already sent once; not sending it again",
                         h[:12])
            return None
        body = order_body(order, sig, owner=self._api_key, post_only=self._params.post_only)
        return OrderHash(h), quote, body

    def _apply_post_results(self, signed: Sequence[tuple[OrderHash, DesiredQuote, bytes]],
                            results: Any, now_s: float) -> None:
        now_ms = int(now_s * 1000)
        outcomes = decode_post_results(results, [h for h, _, _ in signed])
        records = []
        for (h, q, _), out in zip(signed, outcomes, strict=True):
            if out.verdict is PostVerdict.ACCEPTED:
                tr = self.tracker.post_accepted(h, out.status, now_ms)
                if tr is not None:
                    self._on_transition(tr)
                self._kill.record_result(None, now_ms)
                records.append({"id": h, "outcome": out.status})
            elif out.verdict is PostVerdict.UNKNOWN:
                logger.error("order manager: post of %s has no usable result: %s", h[:12],
                             out.problem)
                self.tracker.post_unknown(h, now_ms)
                self._kill.record_result(RejectReason.TIMEOUT, now_ms)
                records.append({"id": h, "outcome": "unknown"})
            else:
                reason = out.reason or RejectReason.OTHER
                records.append({"id": h, "outcome": "rejected", "reason": reason.value})
                if reason in (RejectReason.RATE_LIMITED, RejectReason.TOO_EARLY,
                              RejectReason.POST_ONLY_MODE, RejectReason.TRADING_DISABLED):
                    # From the reply's arrival, as in ``_refused``.
                    self.backoff.block((POST,), max(now_s, self._clock()), out.retry_after_s)
                dup = reason is RejectReason.DUPLICATE
                self.tracker.post_rejected(h, out.message, duplicate=dup, now_ms=now_ms)
                if not dup:
                    self._reject(h, q, reason, out.message)
                if reason is RejectReason.TICK:
                    self._refresh_tick(q.token_id)
        self.out.record({"op": "post_result", "results": records})

    # -- outcomes --------------------------------------------------------------------------

    def _on_transition(self, tr: Transition) -> None:
        o, now_ns = tr.order, time.time_ns()
        if tr.old in IN_FLIGHT and tr.new not in IN_FLIGHT:
            if tr.old is OrderState.UNKNOWN:
                self.out.incr("orders.unknown_resolved")
                logger.info("order manager: order %s resolved: %s", o.order_id[:12],
                            tr.new.value)
            if tr.new in OPEN or tr.new is OrderState.FILLED:
                self._posted += 1
                self.out.incr("orders.posted")
                self._emit(OrderPlaced(order_id=o.order_id, condition_id=o.condition_id,
                                       token_id=o.token_id, side=o.side,
                                       price_pips=o.price_pips, size_micro=o.size_micro,
                                       status=tr.reason or "live", ts_recv_ns=now_ns))
        if tr.new is OrderState.CANCELED:
            self._canceled += 1
            self.out.incr("orders.canceled")
            self._emit(OrderCanceled(order_id=o.order_id, condition_id=o.condition_id,
                                     reason=tr.reason, ts_recv_ns=now_ns))

    def _reject(self, h: str, q: DesiredQuote, reason: RejectReason, msg: str) -> None:
        """A venue refusal: count it, feed the kill switch, do not retry the same quote (the
        next desired quotes re-price)."""
        now_ms = self._now_ms()
        self._kill.record_result(reason, now_ms)
        self._count_reject(h, q, reason, msg)

    def _reject_local(self, q: DesiredQuote, reason: RejectReason, msg: str) -> None:
        self._count_reject("", q, reason, msg)

    def _count_reject(self, h: str, q: DesiredQuote, reason: RejectReason, msg: str) -> None:
        if reason not in _TRANSIENT:
            self._suppressed.add(qkey(q))
        self._rejects[reason.value] += 1
        self.out.incr("orders.rejects", dim=reason.value)
        logger.debug("order manager: %s %s@%d rejected (%s): %s", q.side.value, q.token_id[:8],
                     q.price_pips, reason.value, msg)
        self._emit(OrderRejected(order_id=OrderHash(h), condition_id=q.condition_id,
                                 token_id=q.token_id, reason=reason, message=msg,
                                 ts_recv_ns=time.time_ns()))

    def _refused(self, op: str, exc: VenueError, now_s: float) -> RejectReason:
        """A whole request was refused: ``order_venue.refuse``, from when the refusal came."""
        return refuse(self.backoff, op, exc, max(now_s, self._clock()))

    def _refresh_tick(self, token: TokenId) -> None:
        """A tick rejection: the State's tick may be stale; fetch the authoritative one
        (protocol §7.1) and hand it to the State, the tick's one owner. The next desired
        quotes are priced on it."""
        self._tick_refreshed[token] = self._clock()
        try:
            tick = int(self._client.get_tick_size(token))
        except (VenueError, AttributeError, ValueError, TypeError) as exc:
            logger.warning("order manager: tick refresh for %s failed: %s", token[:12], exc)
            return
        old = self._ticks.get(token, 0)
        info = self._markets.get(token)
        if tick != old and info is not None and self._recovered_sink is not None:
            logger.info("order manager: tick of %s %s -> %d pips (REST)", token[:12], old, tick)
            self._recovered_sink(TickSizeChanged(
                token_id=token, condition_id=info.condition_id, old_tick_pips=old,
                new_tick_pips=tick, ts_event_ms=self._wall_ms(), ts_recv_ns=time.time_ns()))

    def _halt(self, reason: str) -> None:
        if self._halted is None:
            logger.error("order manager: halting quoting: %s", reason)
        self._halted = reason
        self.out.gauge("risk.kill_switch", 1)
        self._cancel_all(reason)

    # -- plumbing --------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _emit(self, event: Any) -> None:
        if type(event) is OrderPlaced and event.status == "live":
            self.acks.placed(event.order_id, self._clock())
        self.out.emit(event)
