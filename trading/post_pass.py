"""The posting half of an order pass: risk → sign → post, and what the venue answered.

Functions over an ``OrderPlanner`` (``trading.planner``), which owns the state they read and
change; each is a generator of ``trading.order_steps`` like the planner's pass. Split from the
planner by concern: the planner decides what to cancel and when to halt, this module what may
be posted and how each reply lands.

Thread ownership: the OrderManager's thread. Pure: times are arguments.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from messages import DesiredQuote, RejectReason, TickSizeChanged, TokenId
from trading.diff import DiffResult, batches
from trading.order_replay import risk_record
from trading.order_steps import FetchTick, Post, Sign, Steps
from trading.rate_budget import POST
from trading.risk import Exposure, check_posts
from venue.gateway import PostOutcome, PostVerdict, SignedOrder, SignRefusal
from venue.refusals import Refusal, entry_blocks

if TYPE_CHECKING:
    from trading.planner import OrderPlanner

logger = logging.getLogger("actors.order_manager")

TICK_REFRESH_MIN_S = 5.0


def post_record(seq: int, signed: Sequence[SignedOrder]) -> dict[str, Any]:
    """The ``post`` record: the orders of one ``POST /orders``, with their hashes."""
    return {"op": "post", "seq": seq,
            "orders": [{"id": s.order_id, "token": s.quote.token_id, "side": s.quote.side.value,
                        "price_pips": s.quote.price_pips, "size_micro": s.quote.size_micro}
                       for s in signed]}


def post_pass(p: OrderPlanner, diff: DiffResult, now_s: float, *, behind: bool = False,
              before_post: Callable[[], Steps] | None = None) -> Steps:
    """Risk → sign → post for the diff's posts. ``behind``: cancels are in flight; a post
    the risk check trims waits for their reply (the next diff) instead of being refused.
    ``before_post``: steps run once, after the first batch is signed and right before it is
    posted (the pipelined replace writes its cancel there); when they return False nothing
    is posted. They do not run if nothing gets that far."""
    if p.halted is not None or not p.backoff.allowed(POST, now_s):
        return
    posts = [q for q in diff.posts
             if q.token_id in p.markets and not p.report.is_suppressed(q)]
    if not posts:
        return
    t = p.tracker
    positions, live, in_flight = t.positions(), t.live_orders(), t.in_flight_posts()
    cost = t.position_cost_micro()
    per_market = t.open_orders_per_market()
    exposure = Exposure.build(positions, live, in_flight, cost)
    min_sizes = {i.condition_id: i.min_size_micro for i in p.markets.values()}
    risk = check_posts(posts, exposure, per_market, p.limits, min_sizes)
    # The pUSD at risk that this check held against risk.max_notional_usd.
    p.out.gauge("risk.notional_usd", exposure.notional_micro / 1e6)
    p.out.record_later(risk_record, posts, positions, cost, live, in_flight, per_market,
                       min_sizes, risk)
    if behind:
        if risk.dropped:
            p.out.incr("orders.replace_waits", len(risk.dropped))
    else:
        for q, why in risk.dropped:
            p.out.incr("risk.trims", dim=why)
            p.report.reject("", q, RejectReason.RISK, why)
    yield from send_posts(p, risk.accepted, now_s, before_post)


def send_posts(p: OrderPlanner, quotes: Sequence[DesiredQuote], now_s: float,
               before_post: Callable[[], Steps] | None = None) -> Steps:
    now_ms = int(now_s * 1000)
    seq = p.desired.seq if p.desired is not None else -1
    for batch in batches(list(quotes), p.params.batch_size):
        if p.halted is not None or not p.backoff.allowed(POST, now_s):
            return
        if not p.order_bucket.try_take(len(batch), now_s):
            logger.debug("order manager: order budget exhausted; deferring %d", len(batch))
            return
        results, at = yield Sign(tuple((q, p.markets[q.token_id],
                                        p.ticks.get(q.token_id, 0)) for q in batch))
        signed: list[SignedOrder] = []
        if before_post is not None and any(not isinstance(r, SignRefusal) for r in results):
            go, before_post = before_post, None
            if not (yield from go()):
                return
        for r in results:
            if isinstance(r, SignRefusal):
                token = r.quote.token_id
                if r.reason is RejectReason.TICK and \
                        at - p.tick_refreshed.get(token, -1e18) >= TICK_REFRESH_MIN_S:
                    # The State's tick may be stale (changed with no feed event).
                    yield from refresh_tick(p, token, at)
                p.report.reject("", r.quote, r.reason, r.message)
            elif not p.tracker.add_pending(r.order_id, r.quote, now_ms):
                logger.error("order manager: order %s already sent once; not sending it "
                             "again", r.order_id[:12])
            else:
                signed.append(r)
        if not signed:
            continue
        p.out.record_later(post_record, seq, tuple(signed))
        p.out.timing_ms("orders.batch_size", len(signed), "post")
        reply, at = yield Post(tuple(signed))
        if reply.refusal is not None:
            post_refused(p, signed, reply.refusal, now_ms, at)
            # A venue that takes no post at all must trip the switch like one that
            # rejects them one by one; the rest of this pass waits for the next one.
            yield from p.halt_if_tripped(at)
            return
        p.backoff.ok(POST)
        yield from apply_post_results(p, signed, reply.outcomes, now_ms, at)
        if (yield from p.halt_if_tripped(at)):
            return


def post_refused(p: OrderPlanner, signed: Sequence[SignedOrder], ref: Refusal, now_ms: int,
                 at_s: float) -> None:
    if ref.maybe_acted:
        # The venue may have taken them: never re-send, look them up.
        logger.warning("order manager: post of %d orders has an unknown outcome: %s",
                       len(signed), ref.message)
        for s in signed:
            p.tracker.post_unknown(s.order_id, now_ms)
            p.kill.record_result(RejectReason.TIMEOUT, now_ms)
        p.out.record({"op": "post_unknown", "ids": [s.order_id for s in signed]})
        return
    reason = p.refused(POST, ref, at_s)
    for s in signed:
        p.tracker.post_rejected(s.order_id, ref.message, duplicate=False, now_ms=now_ms)
        venue_reject(p, s, reason, ref.message, at_s)


def apply_post_results(p: OrderPlanner, signed: Sequence[SignedOrder],
                       outcomes: Sequence[PostOutcome], now_ms: int, at_s: float) -> Steps:
    records = []
    for s, out in zip(signed, outcomes, strict=True):
        h = s.order_id
        if out.verdict is PostVerdict.ACCEPTED:
            tr = p.tracker.post_accepted(h, out.status, now_ms)
            if tr is not None:
                p.report.transition(tr, at_s)
            p.kill.record_result(None, now_ms)
            records.append({"id": h, "outcome": out.status})
        elif out.verdict is PostVerdict.UNKNOWN:
            logger.error("order manager: post of %s has no usable result: %s", h[:12],
                         out.problem)
            p.tracker.post_unknown(h, now_ms)
            p.kill.record_result(RejectReason.TIMEOUT, now_ms)
            records.append({"id": h, "outcome": "unknown"})
        else:
            reason = out.reason or RejectReason.OTHER
            records.append({"id": h, "outcome": "rejected", "reason": reason.value})
            if entry_blocks(reason):
                p.backoff.block((POST,), at_s, out.retry_after_s)
            dup = reason is RejectReason.DUPLICATE
            p.tracker.post_rejected(h, out.message, duplicate=dup, now_ms=now_ms)
            if not dup:
                venue_reject(p, s, reason, out.message, at_s)
            if reason is RejectReason.TICK:
                yield from refresh_tick(p, s.quote.token_id, at_s)
    p.out.record({"op": "post_result", "results": records})


def venue_reject(p: OrderPlanner, s: SignedOrder, reason: RejectReason, msg: str,
                 at_s: float) -> None:
    """A venue refusal: feed the kill switch and report it (the quote is not retried; the
    next desired quotes re-price)."""
    p.kill.record_result(reason, int(at_s * 1000))
    p.report.reject(s.order_id, s.quote, reason, msg)


def refresh_tick(p: OrderPlanner, token: TokenId, now_s: float) -> Steps:
    """A tick rejection: the State's tick may be stale; fetch the venue's (protocol §7.1)
    and hand it to the State, the tick's one owner. The next desired quotes use it."""
    p.tick_refreshed[token] = now_s
    tick, _ = yield FetchTick(token)
    if isinstance(tick, Refusal):
        logger.warning("order manager: tick refresh for %s failed: %s", token[:12],
                       tick.message)
        return
    old = p.ticks.get(token, 0)
    info = p.markets.get(token)
    if tick != old and info is not None:
        logger.info("order manager: tick of %s %s -> %d pips (REST)", token[:12], old, tick)
        p.out.to_state.append(TickSizeChanged(
            token_id=token, condition_id=info.condition_id, old_tick_pips=old,
            new_tick_pips=tick, ts_event_ms=p.wall_ms(), ts_recv_ns=time.time_ns()))

