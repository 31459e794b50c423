"""The order planner's rules, table-driven, without an actor, a venue or a clock.

Each case drives ``OrderPlanner.run_pass`` against a scripted venue (``Venue``: accepts
everything unless a case says otherwise) and checks the steps the pass asked for, in order,
and what the planner concluded: pass sequencing, the pipelined cancel filter, suppression of
refused quotes, reading replies (unknown outcomes, refusals, back-off), batching and budgets,
the kill switch, and the tick refresh.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from messages import (
    DesiredQuote,
    DesiredQuotes,
    GateReason,
    MarketDecision,
    OrderHash,
    RejectReason,
    Side,
    TickSizeChanged,
)
from tests.builders import market_n
from trading.order_report import Outbox
from trading.order_steps import (
    Cancel,
    CancelEverything,
    FetchTick,
    FinishCancel,
    Post,
    Sign,
    Step,
    Steps,
)
from trading.order_tracker import OrderState
from trading.params import OrderParams, RiskLimits
from trading.planner import OrderPlanner
from trading.rate_budget import CANCEL, POST
from venue.gateway import (
    CancelReply,
    PostOutcome,
    PostReply,
    PostVerdict,
    SignedOrder,
    SignRefusal,
    market_infos,
)
from venue.refusals import Refusal

MARKET = market_n(1)
CID = MARKET.condition_id
UP, DOWN = MARKET.token_ids
LIMITS = RiskLimits(max_open_orders_per_market=100, max_position_shares=10_000,
                    max_notional_usd=100_000, max_order_shares=10_000)


def q(price: int, token: str = UP, side: Side = Side.BUY, size: int = 10_000_000) -> DesiredQuote:
    return DesiredQuote(condition_id=CID, token_id=token, side=side, price_pips=price,  # type: ignore[arg-type]
                        size_micro=size)


def desired(seq: int, quotes: list[DesiredQuote]) -> DesiredQuotes:
    return DesiredQuotes(seq=seq, now_ms=0, cause_recv_ns=0, quotes=tuple(quotes),
                         decisions=(MarketDecision(condition_id=CID, gate=GateReason.NONE,
                                                   tick_pips=MARKET.tick_pips),))


HASHES = itertools.count(1)  # every signature is a new order id, as the venue's hashes are
NAMES = {Cancel: "cancel", FinishCancel: "read-cancel", Sign: "sign", Post: "post",
         CancelEverything: "cancel-all", FetchTick: "fetch-tick"}


def name(step: Step) -> str:
    if isinstance(step, Cancel) and not step.wait:
        return "write-cancel"
    return NAMES[type(step)]


@dataclass
class Venue:
    """Answers each step as a venue that takes everything; a case overrides one kind."""

    overrides: dict[str, Callable[[Step], Any]] = field(default_factory=dict)
    seen: list[Step] = field(default_factory=list)

    def answer(self, step: Step) -> Any:
        self.seen.append(step)
        override = self.overrides.get(name(step))
        if override is not None:
            return override(step)
        if isinstance(step, Cancel):
            return CancelReply(canceled=step.ids) if step.wait else ("written", step.ids)
        if isinstance(step, FinishCancel):
            _, ids = step.pending  # type: ignore[misc]
            return CancelReply(canceled=ids)
        if isinstance(step, Sign):
            out = []
            for quote, _market, _tick in step.orders:
                out.append(SignedOrder(order_id=OrderHash(f"0x{next(HASHES):064x}"),
                                       quote=quote, body=b"{}"))
            return out
        if isinstance(step, Post):
            return PostReply(outcomes=tuple(PostOutcome(order_id=o.order_id,
                                                        verdict=PostVerdict.ACCEPTED,
                                                        status="live") for o in step.orders))
        if isinstance(step, CancelEverything):
            return CancelReply()
        return MARKET.tick_pips


def drive(steps: Steps, venue: Venue, at_s: float) -> list[str]:
    """Run a planner generator to its end; the names of the steps it asked for."""
    names: list[str] = []
    try:
        step = next(steps)
        while True:
            names.append(name(step))
            step = steps.send((venue.answer(step), at_s))
    except StopIteration:
        return names


def planner(**params: Any) -> OrderPlanner:
    limits = params.pop("limits", LIMITS)
    p = OrderPlanner(params=OrderParams(**params), limits=limits,
                     owner="self", now_s=0.0, out=Outbox(), wall_ms=lambda: 0)
    p.set_markets(market_infos([MARKET]))
    return p


def settle(p: OrderPlanner, quotes: list[DesiredQuote], t: float = 1.0) -> None:
    """Our orders rest at ``quotes`` (posted and accepted)."""
    p.set_desired(desired(1, quotes))
    assert drive(p.run_pass(t), Venue(), t)[-1] == "post"


def refusal(**kw: Any) -> Refusal:
    return Refusal(**{"reason": RejectReason.OTHER, "message": "refused", **kw})


# -- sequencing -----------------------------------------------------------------------------

@pytest.mark.parametrize(("params", "first", "then", "steps"), [
    ({}, [], [q(4500)], ["sign", "post"]),
    ({}, [q(4500)], [q(4500)], []),  # nothing to change
    ({}, [q(4500)], [q(4000)], ["cancel", "sign", "post"]),  # cancels first, then posts
    ({}, [q(4500)], [], ["cancel"]),
    # Pipelined: the replacement signed, the cancel written, the replacement posted at once,
    # then the cancel's reply read.
    ({"pipeline_replace": True}, [q(4500)], [q(4000)],
     ["sign", "write-cancel", "post", "read-cancel"]),
    # A replacement that could trade with the order being canceled (a SELL Up at or below our
    # BUY Up at 4500) waits for the cancel's reply.
    ({"pipeline_replace": True}, [q(4500)], [q(4500, side=Side.SELL)],
     ["write-cancel", "read-cancel", "sign", "post"]),
    # The Down BUY at 5500 would mint a pair with our Up BUY at 4500: also held back.
    ({"pipeline_replace": True}, [q(4500)], [q(5500, token=DOWN)],
     ["write-cancel", "read-cancel", "sign", "post"]),
    ({"pipeline_replace": True}, [q(4500)], [q(5400, token=DOWN)],
     ["sign", "write-cancel", "post", "read-cancel"]),
    # More cancels than one request takes: sequential, batch by batch.
    ({"pipeline_replace": True, "cancel_burst": 1}, [q(4500), q(4400)], [],
     ["cancel"]),
])
def test_pass_sequencing(params: dict[str, Any], first: list[DesiredQuote],
                         then: list[DesiredQuote], steps: list[str]) -> None:
    p = planner(**params)
    if first:
        settle(p, first)
    p.set_desired(desired(2, then))
    assert drive(p.run_pass(2.0), Venue(), 2.0) == steps


def test_batches_follow_batch_size_and_the_order_budget() -> None:
    p = planner(batch_size=4, order_burst=6, order_rate_per_s=1)
    p.set_desired(desired(1, [q(4000 + 100 * i) for i in range(10)]))
    venue = Venue()
    assert drive(p.run_pass(0.0), venue, 0.0) == ["sign", "post"]
    # The second batch of 4 exceeds the 2 tokens left: deferred, not split.
    assert [len(s.orders) for s in venue.seen if isinstance(s, Post)] == [4]
    assert drive(p.run_pass(2.0), venue, 2.0) == ["sign", "post"]
    assert [len(s.orders) for s in venue.seen if isinstance(s, Post)] == [4, 4]


# -- suppression ----------------------------------------------------------------------------

@pytest.mark.parametrize(("reason", "sent_again"), [
    (RejectReason.POST_ONLY_CROSS, False),  # says something about the quote: held back
    (RejectReason.BALANCE, False),
    (RejectReason.SERVER, True),  # says nothing about it: tried again
    (RejectReason.TIMEOUT, True),
])
def test_a_refused_quote_waits_for_new_desired_quotes(reason: RejectReason,
                                                      sent_again: bool) -> None:
    p = planner()
    p.set_desired(desired(1, [q(4500)]))
    reject = Venue(overrides={"post": lambda s: PostReply(outcomes=tuple(
        PostOutcome(order_id=o.order_id, verdict=PostVerdict.REJECTED, reason=reason,
                    message="no") for o in s.orders))})  # type: ignore[attr-defined]
    assert drive(p.run_pass(1.0), reject, 1.0) == ["sign", "post"]
    assert p.stats()["rejects"] == {reason.value: 1}
    assert (drive(p.run_pass(2.0), Venue(), 2.0) == ["sign", "post"]) is sent_again
    p.set_desired(desired(2, [q(4500)]))  # re-priced (here: the same price) by the Quoter
    assert drive(p.run_pass(3.0), Venue(), 3.0)[-2:] == (["sign", "post"] if not sent_again
                                                        else [])


def test_a_quote_refused_before_signing_is_reported_and_suppressed() -> None:
    p = planner()
    p.set_desired(desired(1, [q(4500)]))
    refuse = Venue(overrides={"sign": lambda s: [
        SignRefusal(quote=o[0], reason=RejectReason.MIN_SIZE, message="too small")
        for o in s.orders]})  # type: ignore[attr-defined]
    assert drive(p.run_pass(1.0), refuse, 1.0) == ["sign"]
    assert p.stats()["rejects"] == {"min_size": 1}
    assert drive(p.run_pass(2.0), Venue(), 2.0) == []


# -- reading replies ------------------------------------------------------------------------

@pytest.mark.parametrize(("post_refusal", "state", "posts_blocked"), [
    # No reply, or a 5xx: the venue may have taken them: looked up, never re-sent.
    (refusal(reason=RejectReason.TIMEOUT, no_reply=True, maybe_acted=True), OrderState.UNKNOWN,
     False),
    (refusal(reason=RejectReason.SERVER, maybe_acted=True, status=500), OrderState.UNKNOWN,
     False),
    # Refused (429, or never sent): rejected, and posting backs off.
    (refusal(reason=RejectReason.RATE_LIMITED, blocks=(POST,), retry_after_s=5.0, status=429),
     OrderState.REJECTED, True),
    (refusal(reason=RejectReason.SERVER, blocks=(POST,)), OrderState.REJECTED, True),
    (refusal(reason=RejectReason.INVALID, status=400), OrderState.REJECTED, False),
])
def test_a_refused_post(post_refusal: Refusal, state: OrderState, posts_blocked: bool) -> None:
    p = planner()
    p.set_desired(desired(1, [q(4500)]))
    venue = Venue(overrides={"post": lambda s: PostReply(refusal=post_refusal)})
    assert drive(p.run_pass(1.0), venue, 1.0) == ["sign", "post"]
    # A rejected order is finished: the tracker forgets it.
    assert [o.state for o in p.tracker.orders()] == (
        [] if state is OrderState.REJECTED else [state])
    assert sum(p.stats()["rejects"].values()) == (state is OrderState.REJECTED)
    assert p.backoff.allowed(POST, 1.5) is not posts_blocked
    # Nothing goes again at once: in flight (unknown), backing off, or refused for this quote.
    assert drive(p.run_pass(1.5), Venue(), 1.5) == []
    # New desired quotes after the back-off: a refused quote is posted again; an order whose
    # outcome is unknown still holds its level until it is looked up.
    p.set_desired(desired(2, [q(4500)]))
    assert drive(p.run_pass(10.0), Venue(), 10.0) == (
        [] if state is OrderState.UNKNOWN else ["sign", "post"])


@pytest.mark.parametrize(("cancel_outcome", "state", "cancels_blocked"), [
    (refusal(reason=RejectReason.TIMEOUT, no_reply=True, maybe_acted=True),
     OrderState.CANCEL_PENDING, False),
    (refusal(reason=RejectReason.TOO_EARLY, blocks=(POST, CANCEL), retry_after_s=2.0,
             status=425), OrderState.LIVE, True),
    (CancelReply(not_canceled={}), OrderState.CANCEL_PENDING, False),
])
def test_a_cancel_outcome(cancel_outcome: Any, state: OrderState,
                          cancels_blocked: bool) -> None:
    p = planner()
    settle(p, [q(4500)])
    p.set_desired(desired(2, []))
    assert drive(p.run_pass(2.0), Venue(overrides={"cancel": lambda s: cancel_outcome}),
                 2.0) == ["cancel"]
    assert [o.state for o in p.tracker.orders()] == [state]
    assert p.backoff.allowed(CANCEL, 2.5) is not cancels_blocked
    # An order whose cancel is pending is not canceled again; a refused one is, once allowed.
    expected = ["cancel"] if state is OrderState.LIVE else []
    assert drive(p.run_pass(10.0), Venue(), 10.0) == expected


def test_strays_are_canceled_and_forgotten_once_gone() -> None:
    p = planner()
    p.new_strays(["0xABC"])
    venue = Venue()
    assert drive(p.run_pass(1.0), venue, 1.0) == ["cancel"]
    assert venue.seen[0] == Cancel((OrderHash("0xabc"),))
    assert p.strays == set()
    assert drive(p.run_pass(2.0), Venue(), 2.0) == []


# -- the kill switch and halts --------------------------------------------------------------

def test_the_kill_switch_halts_and_cancels_everything() -> None:
    limits = RiskLimits(max_open_orders_per_market=100, max_position_shares=10_000,
                        max_notional_usd=100_000, max_order_shares=10_000, kill_max_rejects=2)
    p = planner(limits=limits)
    venue = Venue(overrides={"post": lambda s: PostReply(refusal=refusal(
        reason=RejectReason.BALANCE, status=400))})
    p.set_desired(desired(1, [q(4500)]))
    assert drive(p.run_pass(1.0), venue, 1.0) == ["sign", "post"]
    p.set_desired(desired(2, [q(4400)]))
    assert drive(p.run_pass(2.0), venue, 2.0) == ["sign", "post", "cancel-all"]
    assert p.halted is not None and p.halted.startswith("kill switch")
    p.set_desired(desired(3, [q(4300)]))
    assert drive(p.run_pass(3.0), Venue(), 3.0) == []  # halted: nothing posts
    assert p.resume("operator")
    assert drive(p.run_pass(4.0), Venue(), 4.0) == ["sign", "post"]


def test_a_halt_defers_its_cancel_all_inside_a_retry_after() -> None:
    p = planner()
    p.backoff.block((CANCEL,), 1.0, 5.0)
    assert drive(p.halt("operator", 2.0), Venue(), 2.0) == []
    assert drive(p.halt("operator", 7.0), Venue(), 7.0) == ["cancel-all"]


# -- the tick -------------------------------------------------------------------------------

def test_a_tick_rejection_fetches_the_tick_for_the_state() -> None:
    p = planner()
    p.set_desired(desired(1, [q(4500)]))
    venue = Venue(overrides={
        "post": lambda s: PostReply(outcomes=tuple(
            PostOutcome(order_id=o.order_id, verdict=PostVerdict.REJECTED,
                        reason=RejectReason.TICK, message="breaks minimum tick size rule")
            for o in s.orders)),  # type: ignore[attr-defined]
        "fetch-tick": lambda s: 1000})
    assert drive(p.run_pass(1.0), venue, 1.0) == ["sign", "post", "fetch-tick"]
    [changed] = p.out.to_state
    assert isinstance(changed, TickSizeChanged)
    assert (changed.token_id, changed.old_tick_pips, changed.new_tick_pips) == (
        UP, MARKET.tick_pips, 1000)


def test_a_pipelined_cancel_refused_after_signing_posts_nothing_it_signed() -> None:
    """The pipelined replace signs first, then writes the cancel: when that write is refused
    the signed replacements are never posted nor tracked; the pass goes on as a sequential
    one (signing afresh)."""
    p = planner(pipeline_replace=True)
    settle(p, [q(4500)])
    p.set_desired(desired(2, [q(4000)]))
    venue = Venue(overrides={"write-cancel": lambda s: refusal()})
    assert drive(p.run_pass(2.0), venue, 2.0) == ["sign", "write-cancel", "sign", "post"]
    posted = [o.order_id for s in venue.seen if isinstance(s, Post) for o in s.orders]
    # The order still resting (its cancel was refused) and the one posted; nothing else.
    assert len(posted) == 1 and posted[0] in {o.order_id for o in p.tracker.live_orders()}
    assert len(p.tracker.live_orders()) == 2 and not p.tracker.in_flight_posts()
