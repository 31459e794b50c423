"""The State actor survives a resync request that cannot be delivered.

Between a MarketFeed crash and its restart, the request goes nowhere: the supervisor's tell is
dropped, and a callback that raises (``ActorDeadError`` from a dead feed) is logged and
counted on the State's thread, never fatal to the State.
"""

from __future__ import annotations

import pykka

from actors.state import State
from messages import QuoteSnapshot
from runtime.slot import LatestSlot
from tests.builders import (
    OWNER,
    make_change,
    make_feed,
    make_level,
    make_market,
    make_markets_changed,
    make_snapshot,
)
from trading.state import StateModel

ASK_S = 5.0


def test_a_resync_to_a_dead_feed_does_not_kill_the_state() -> None:
    calls: list[tuple[str, ...]] = []

    def dead_feed(token_ids: tuple[str, ...]) -> None:
        calls.append(token_ids)
        raise pykka.ActorDeadError("market feed is dead")

    slot: LatestSlot[QuoteSnapshot] = LatestSlot("quote")
    ref = State.start(model=StateModel(owner=OWNER), quote_slot=slot, resync=dead_feed)
    try:
        market = make_market()
        ref.tell(make_markets_changed(market))
        for feed in ("market", "user", "price"):
            ref.tell(make_feed(feed=feed))
        for token in market.token_ids:
            ref.tell(make_snapshot(token_id=token, condition_id=market.condition_id))
        # A change whose checksum cannot match: the State asks for a fresh book.
        ref.tell(make_change(make_level(price_pips=4000, size_micro=1, best_bid_pips=4000,
                                        best_ask_pips=5200)))
        summary = ref.proxy().summary().get(timeout=ASK_S)
        assert calls == [(market.token_ids[0],)]
        assert summary["failed_resyncs"] == 1
        assert ref.is_alive()
    finally:
        ref.stop(timeout=ASK_S)
