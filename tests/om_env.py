"""The OrderManager test environment: the actor with a fake CLOB client, the real signer, an
injected clock and a recording event log (used by ``test_order_manager`` and
``test_order_pipeline``).

Synchronisation: every ``tell`` is followed by an ask (``stats()``) through the same mailbox,
waited on with a timeout, so the told message has been handled when the ask returns. Timers are
off and driven by telling ``TimerFired``s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from actors.order_manager import OrderManager
from messages import (
    ConditionId,
    DesiredQuote,
    DesiredQuotes,
    GateReason,
    MarketDecision,
    Side,
    SlotReady,
    TimerFired,
    TokenId,
)
from runtime.slot import LatestSlot
from tests.builders import make_markets_changed, market_n
from tests.fakes import Clock, Collector, FakeClobClient, FakeLog, FakeMetrics
from trading.params import OrderParams, RiskLimits
from venue.orders import OrderSigner

KEY = "0x" + "11" * 32
TIMEOUT = 5.0
MARKET = market_n(1)
CID = MARKET.condition_id
UP, DOWN = MARKET.token_ids


class Env:
    def __init__(self) -> None:
        self.client = FakeClobClient()
        self.clock = Clock()
        self.sink = Collector()
        self.metrics = FakeMetrics()
        self.log = FakeLog()
        self.slot: LatestSlot[DesiredQuotes] = LatestSlot("desired")
        self.signer = OrderSigner(KEY)
        self.ref: Any = None
        self.seq = 0

    def start(self, params: OrderParams | None = None, limits: RiskLimits | None = None,
              markets: bool = True, timers: bool = False) -> Env:
        self.ref = OrderManager.start(
            params=params or OrderParams(), limits=limits or RiskLimits(
                max_open_orders_per_market=100, max_position_shares=10_000,
                max_notional_usd=100_000),
            signer=self.signer, client=self.client, owner="self", api_key="api-key-uuid",
            maker=self.signer.address, signature_type=0, desired_slot=self.slot,
            event_log=self.log, metrics=self.metrics, sinks=[self.sink], clock=self.clock,
            recovered_sink=self.sink, timers=timers)
        self.slot.bind(lambda: self.ref.tell(SlotReady()))
        if markets:
            self.tell(make_markets_changed(MARKET))
        return self

    @property
    def proxy(self) -> Any:
        return self.ref.proxy()

    def tell(self, msg: Any) -> dict[str, Any]:
        self.ref.tell(msg)
        return self.stats()

    def stats(self) -> dict[str, Any]:
        return self.proxy.stats().get(timeout=TIMEOUT)

    def desire(self, quotes: list[DesiredQuote], cids: tuple[ConditionId, ...] = (CID,),
               cause_recv_ns: int = 1, tick_pips: int | None = None) -> dict[str, Any]:
        """Desired quotes as the Quoter hands them over: priced on ``tick_pips`` (default:
        the market's listed tick), the State's tick of each market."""
        self.seq += 1
        tick = MARKET.tick_pips if tick_pips is None else tick_pips
        self.slot.put(DesiredQuotes(
            seq=self.seq, now_ms=int(self.clock.t * 1000), cause_recv_ns=cause_recv_ns,
            quotes=tuple(quotes),
            decisions=tuple(MarketDecision(condition_id=c, gate=GateReason.NONE, tick_pips=tick)
                            for c in cids)))
        return self.stats()

    def housekeeping(self) -> dict[str, Any]:
        return self.tell(TimerFired(name="orders", ts_recv_ns=0))

    def calls(self, *names: str) -> list[str]:
        return [c[0] for c in self.client.calls if not names or c[0] in names]


@pytest.fixture
def env() -> Iterator[Env]:
    e = Env()
    yield e
    if e.ref is not None and e.ref.is_alive():
        e.ref.stop(timeout=TIMEOUT)


def q(price: int, token: TokenId = UP, size: int = 10_000_000) -> DesiredQuote:
    return DesiredQuote(condition_id=CID, token_id=token, side=Side.BUY, price_pips=price,
                        size_micro=size)
