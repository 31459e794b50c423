"""The kill switch in a total REST outage: every post fails, the OrderManager must halt.

The actor runs against the simulated venue with a fault profile under which every order post
fails: a 500 (an unknown outcome: never re-sent, looked up later) or a 503 post-only refusal
(a whole-request refusal). Both are outcomes the kill switch must count and act on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from actors.order_manager import OrderManager
from messages import DesiredQuote, DesiredQuotes, GateReason, MarketDecision, Side, SlotReady
from runtime.slot import LatestSlot
from sim.process import SimProcess
from tests.builders import make_markets_changed
from tests.fakes import Clock, FakeLog
from tests.test_sim_support import next_market
from trading.params import OrderParams, RiskLimits
from venue.gamma import GammaClient, parse_market
from venue.orders import OrderSigner
from venue.rest import ClobClient

pytestmark = pytest.mark.timeout(120)
KEY = "0x" + "42" * 32
ASK_S = 15.0
OUTAGES = {
    "unknown_outcome": {"rest": {"server_error_rate": 1.0}},
    "refused": {"rest": {"post_only_mode_rate": 1.0, "post_only_retry_after_s": 1}},
}


@dataclass
class Bot:
    sim: SimProcess
    ref: Any
    slot: LatestSlot[DesiredQuotes]
    clock: Clock
    log: FakeLog
    market: Any
    seq: int = 0

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.ref.proxy().stats().get(timeout=ASK_S)
        return stats

    def desire(self, price_pips: int) -> dict[str, Any]:
        """Both tokens bid at a new price: a pass with two fresh posts."""
        self.seq += 1
        self.clock.t += 10  # past any Retry-After of the previous refusal
        up, down = self.market.token_ids
        quotes = tuple(DesiredQuote(condition_id=self.market.condition_id, token_id=t,
                                    side=Side.BUY, price_pips=p, size_micro=10_000_000)
                       for t, p in ((up, price_pips), (down, 9_000 - price_pips)))
        self.slot.put(DesiredQuotes(
            seq=self.seq, now_ms=int(self.clock.t * 1000), cause_recv_ns=0, quotes=quotes,
            decisions=(MarketDecision(condition_id=self.market.condition_id,
                                      gate=GateReason.NONE, tick_pips=self.market.tick_pips),)))
        return self.stats()  # queued behind the slot's wake-up: the pass is done


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    with SimProcess(["--window-seconds", "300", "--seed", "21", "--assets", "btc",
                     "--noise-rate", "0"]) as s:
        yield s


@pytest.fixture
def bot(sim: SimProcess) -> Iterator[Bot]:
    signer = OrderSigner(KEY)
    l1 = ClobClient(sim.base_url, address=signer.address, creds=None)
    creds = l1.derive_api_key(KEY)
    l1.close()
    client = ClobClient(sim.base_url, address=signer.address, creds=creds, timeout_s=2)
    gamma = GammaClient(sim.base_url + "/gamma")
    slug = next_market(sim)["slug"]
    event = gamma.event(slug)
    gamma.close()
    assert event is not None
    market = parse_market(event["markets"][0], event=event, alias="btc", asset="btc",
                          strategy="updown")
    slot: LatestSlot[DesiredQuotes] = LatestSlot("desired")
    clock, log = Clock(), FakeLog()
    limits = RiskLimits(max_open_orders_per_market=100, max_position_shares=10_000,
                        max_notional_usd=100_000, kill_min_posts=6, kill_error_rate=0.5,
                        kill_window_s=600, kill_max_rejects=1_000)
    ref = OrderManager.start(params=OrderParams(), limits=limits, signer=signer, client=client,
                             owner="self", api_key=creds.api_key, maker=signer.address,
                             desired_slot=slot, event_log=log, clock=clock, timers=False)
    slot.bind(lambda: ref.tell(SlotReady()))
    b = Bot(sim=sim, ref=ref, slot=slot, clock=clock, log=log, market=market)
    try:
        ref.tell(make_markets_changed(market))
        b.stats()
        yield b
    finally:
        sim.set_faults("none")
        if ref.is_alive():
            ref.stop(timeout=ASK_S)
        client.close()


@pytest.mark.parametrize("outage", sorted(OUTAGES))
def test_every_post_failing_trips_the_kill_switch_and_halts(bot: Bot, outage: str) -> None:
    bot.sim.set_faults({"name": outage, **OUTAGES[outage]})
    halted = ""
    for i in range(20):
        halted = bot.desire(3_000 + 100 * i)["halted"]
        if halted:
            break
    assert halted.startswith("kill switch:"), f"still quoting after {i + 1} failed passes"
    posts_at_halt = len(bot.log.ops("post"))
    assert posts_at_halt <= 6, "more failed posts than the switch's minimum before halting"
    for i in range(3):  # the halted manager posts nothing more, whatever it is asked
        assert bot.desire(5_000 + 100 * i)["halted"] == halted
    assert len(bot.log.ops("post")) == posts_at_halt
    assert bot.ref.is_alive()
