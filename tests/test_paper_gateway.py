"""The dry run's gateway: the paper exchange behind the same seam as the CLOB.

The OrderManager must not be able to tell them apart: the same local refusals before signing,
the same typed post and cancel outcomes, and after a cancel's reply the order is no longer
listed, although the paper exchange applies the cancel only after its latency.
"""

from __future__ import annotations

import pytest

from messages import (
    BookSnapshot,
    DesiredQuote,
    OrderEvent,
    OrderEventType,
    RejectReason,
    Side,
)
from tests.builders import CID, DOWN, UP, make_market
from trading.paper_exchange import PaperExchange
from trading.paper_gateway import PaperGateway
from venue.gateway import CancelReply, ClobGateway, PostVerdict, SignedOrder, market_infos
from venue.orders import OrderSigner

KEY = "0x" + "11" * 32
MARKET = make_market()
INFO = market_infos([MARKET])[UP]


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000

    def __call__(self) -> int:
        return self.ms


def gateway(latency_ms: int = 50) -> tuple[PaperGateway, Clock]:
    clock = Clock()
    gw = PaperGateway(PaperExchange(owner="self", latency_ms=latency_ms), post_only=True,
                      wall_ms=clock)
    gw.set_markets([MARKET])
    gw.on_market(BookSnapshot(token_id=UP, condition_id=CID, bids=((4400, 10_000_000),),
                              asks=((4600, 10_000_000),), hash="", ts_event_ms=1_000,
                              ts_recv_ns=0))
    return gw, clock


def q(price: int, size: int = 10_000_000, token: str = UP) -> DesiredQuote:
    return DesiredQuote(condition_id=CID, token_id=token, side=Side.BUY,  # type: ignore[arg-type]
                        price_pips=price, size_micro=size)


@pytest.mark.parametrize(("quote", "tick"), [
    (q(4500), 100),
    (q(4550), 100),  # off the tick
    (q(4500, size=1_000_000), 100),  # below the market's minimum size
    (q(4500, size=10_004_000), 100),  # floored to the venue's size step
    (q(0), 100),  # outside [tick, 1 - tick]
])
def test_signing_refuses_what_the_clob_gateway_refuses(quote: DesiredQuote, tick: int) -> None:
    clob = ClobGateway(client=None, signer=OrderSigner(KEY),  # type: ignore[arg-type]
                       maker=OrderSigner(KEY).address, signature_type=0, owner="k",
                       post_only=True)
    paper, _ = gateway()
    a, b = clob.sign(quote, INFO, tick), paper.sign(quote, INFO, tick)
    assert type(a) is type(b)
    if isinstance(a, SignedOrder):
        assert isinstance(b, SignedOrder) and a.quote == b.quote
    else:
        assert (a.reason, a.message) == (b.reason, b.message)  # type: ignore[union-attr]


def test_posts_answer_as_the_venue_would() -> None:
    gw, _ = gateway()
    ok, cross = gw.sign(q(4500), INFO, 100), gw.sign(q(4600), INFO, 100)
    assert isinstance(ok, SignedOrder) and isinstance(cross, SignedOrder)
    assert ok.order_id != cross.order_id
    reply = gw.post([ok, cross])
    assert [o.verdict for o in reply.outcomes] == [PostVerdict.ACCEPTED, PostVerdict.REJECTED]
    assert reply.outcomes[1].reason is RejectReason.POST_ONLY_CROSS


def resting(gw: PaperGateway, clock: Clock, price: int) -> tuple[SignedOrder, list[object]]:
    """A BUY of Up at ``price`` posted, accepted and arrived (the clock moved past the
    latency); the order and what its arrival brought."""
    signed = gw.sign(q(price), INFO, 100)
    assert isinstance(signed, SignedOrder)
    [outcome] = gw.post([signed]).outcomes
    assert outcome.verdict is PostVerdict.ACCEPTED, outcome
    clock.ms += gw.exchange.latency_ms
    return signed, list(gw.advance())


def test_a_canceled_order_is_not_listed_while_its_cancel_is_in_flight() -> None:
    gw, clock = gateway(latency_ms=50)
    signed, _ = resting(gw, clock, 4500)
    assert [o.order_id for o in gw.open_orders()] == [signed.order_id]
    reply = gw.finish_cancel(gw.begin_cancel([signed.order_id]))
    assert reply == CancelReply(canceled=(signed.order_id,))
    assert gw.open_orders() == [] and gw.look_up(signed.order_id) is None
    clock.ms += 60
    gw.advance()  # the cancel takes effect: the paper exchange is done with the order
    assert gw.open_orders() == [] and gw.exchange.matched_micro(signed.order_id) is None


def test_cancel_all_and_the_other_token() -> None:
    gw, _ = gateway(latency_ms=0)
    orders = [gw.sign(q(4500), INFO, 100), gw.sign(q(4000, token=DOWN), INFO, 100)]
    assert all(isinstance(o, SignedOrder) for o in orders)
    gw.post(orders)  # type: ignore[arg-type]
    gw.advance()
    assert len(gw.open_orders()) == 2
    assert len(gw.cancel_all().canceled) == 2  # type: ignore[union-attr]
    assert gw.open_orders() == []
    assert gw.heartbeat() is None and gw.tick_size(UP) == 100
    assert gw.tick_size("999") is not None and not isinstance(gw.tick_size("999"), int)


def test_finishing_lands_what_is_in_flight() -> None:
    gw, clock = gateway(latency_ms=50)
    _, arrived = resting(gw, clock, 4500)
    assert [e.type for e in arrived if isinstance(e, OrderEvent)] == [OrderEventType.PLACEMENT]
    gw.cancel_all()
    assert gw.summary()["open_orders"] == 1  # its cancel is in flight
    events = gw.finish()
    assert [e.type for e in events if isinstance(e, OrderEvent)] == [
        OrderEventType.CANCELLATION]
    assert gw.summary()["open_orders"] == 0 and gw.open_orders() == []
