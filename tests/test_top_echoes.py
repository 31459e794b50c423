"""venue.top_echoes: which ``best_bid_ask`` frames only repeat the ``price_change`` before them.

Frames are the recorded ones in ``../shared/fixtures/polymarket/market/``: a real
``price_change`` (no custom features on that socket) and the real ``best_bid_ask`` shape, given
the price_change entry's token, top and time as the venue's custom feature would send it.
"""

from __future__ import annotations

from typing import Any

import orjson

from messages import BestBidAsk, BookChange, BookSnapshot
from tests.test_fixtures_real import FIXTURES
from venue.top_echoes import TopEchoes
from venue.wire import decode_market

MARKET = FIXTURES / "market"
CHANGE = (MARKET / "ac-h1run8-02-price_change.json").read_bytes()
BBA_SHAPE: dict[str, Any] = orjson.loads((MARKET / "nt-rs-best_bid_ask.json").read_bytes())
ENTRY = orjson.loads(CHANGE)["price_changes"][0]  # Up: best bid 0.5, best ask 0.51


def bba(**over: Any) -> BestBidAsk:
    ev = {**BBA_SHAPE, "market": orjson.loads(CHANGE)["market"], "asset_id": ENTRY["asset_id"],
          "best_bid": ENTRY["best_bid"], "best_ask": ENTRY["best_ask"],
          "timestamp": orjson.loads(CHANGE)["timestamp"], **over}
    (msg,) = decode_market(orjson.dumps(ev), 2)
    assert isinstance(msg, BestBidAsk)
    return msg


def change() -> BookChange:
    (msg,) = decode_market(CHANGE, 1)
    assert isinstance(msg, BookChange) and len(msg.changes) == 2
    return msg


def test_the_echo_of_a_change_is_skipped_and_counted() -> None:
    echoes = TopEchoes()
    assert not echoes.is_echo(change())
    assert echoes.is_echo(bba())
    assert echoes.is_echo(bba())  # a repeat says no more than the first


def test_a_best_bid_ask_that_says_something_new_goes_through() -> None:
    echoes = TopEchoes()
    assert not echoes.is_echo(bba())  # nothing before it on this connection
    echoes.is_echo(change())
    ts = int(orjson.loads(CHANGE)["timestamp"])
    assert not echoes.is_echo(bba(timestamp=str(ts + 1)))  # a later event
    assert not echoes.is_echo(bba(best_bid="0.49"))  # another top: the State must check it
    assert not echoes.is_echo(bba(best_ask="0.52"))
    other = orjson.loads(CHANGE)["price_changes"][1]
    assert not echoes.is_echo(bba(asset_id=other["asset_id"]))  # the other token's top
    assert echoes.is_echo(bba(asset_id=other["asset_id"], best_bid=other["best_bid"],
                              best_ask=other["best_ask"]))


def test_an_empty_side_compares_as_the_state_compares_it() -> None:
    # price_change says an empty side as "0" (bid) or "1" (ask); best_bid_ask leaves it out.
    frame = orjson.loads(CHANGE)
    frame["price_changes"][0].update(best_bid="0", best_ask="1")
    echoes = TopEchoes()
    echoes.is_echo(decode_market(orjson.dumps(frame), 1)[0])
    assert echoes.is_echo(bba(best_bid="", best_ask=None))
    assert not echoes.is_echo(bba(best_bid="", best_ask="0.9"))


def test_a_book_dump_or_a_new_connection_forgets_the_last_change() -> None:
    echoes = TopEchoes()
    assert not echoes.is_echo(change())
    c = change().changes[0]
    assert not echoes.is_echo(BookSnapshot(token_id=c.token_id,
                                           condition_id=change().condition_id, bids=(), asks=(),
                                           hash="", ts_event_ms=1, ts_recv_ns=1))
    assert not echoes.is_echo(bba())
    assert not echoes.is_echo(change())
    echoes.clear()
    assert not echoes.is_echo(bba())
