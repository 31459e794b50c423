"""venue.wire_rest: CLOB REST replies (books, market info) and how malformed ones are refused.

The recorded replies themselves are decoded in ``test_fixtures_real``; these are the edges.
"""

from __future__ import annotations

from typing import Any

import pytest

from messages import BookSnapshot, ConditionId, TokenId
from venue.wire import WireError
from venue.wire_rest import ClobMarketInfo, decode_book_reply, decode_clob_market

CID = "0xcd5f9f505e0c0182746aa65963f72f01e7463259e5ea9f56672c0fe3a37f348a"
COMPACT: dict[str, Any] = {
    "t": [{"t": "2507", "o": "Up"}, {"t": "1116", "o": "Down"}], "c": CID, "mos": 5,
    "mts": 0.01, "mbf": 1000, "tbf": 1000, "ao": True, "itode": True,
    "fd": {"r": 0.07, "e": 1, "to": True}, "v": "v1"}
LONG: dict[str, Any] = {
    "condition_id": CID, "minimum_tick_size": 0.001, "minimum_order_size": 15,
    "neg_risk": True, "accepting_orders": False,
    "tokens": [{"token_id": "2507", "outcome": "Yes"}, {"token_id": "1116", "outcome": "No"}]}


def test_compact_and_long_forms() -> None:
    assert decode_clob_market(COMPACT) == ClobMarketInfo(
        condition_id=ConditionId(CID), token_ids=(TokenId("2507"), TokenId("1116")),
        outcomes=("Up", "Down"), version="v1", tick_pips=100, min_size_micro=5_000_000,
        neg_risk=False, accepting_orders=True, taker_fee_rate_bps=700)
    assert decode_clob_market(LONG) == ClobMarketInfo(
        condition_id=ConditionId(CID), token_ids=(TokenId("2507"), TokenId("1116")),
        outcomes=("Yes", "No"), version="v1", tick_pips=10, min_size_micro=15_000_000,
        neg_risk=True, accepting_orders=False, taker_fee_rate_bps=None)


@pytest.mark.parametrize(("doc", "reason", "field"), [
    ([COMPACT], "not_object", "not an object"),
    ({**COMPACT, "c": "0x1234"}, "bad_value", ".c:"),
    ({**COMPACT, "t": [{"t": "", "o": "Up"}]}, "bad_value", ".t:"),
    ({**COMPACT, "t": "2507"}, "bad_type", ".t:"),
    ({**COMPACT, "mts": 0}, "bad_value", ".mts:"),
    ({**COMPACT, "mts": "lots"}, "bad_number", ".mts:"),
    ({k: v for k, v in COMPACT.items() if k != "mos"}, "missing_field", ".mos:"),
    ({**COMPACT, "nr": "false"}, "bad_type", ".nr:"),
    ({**COMPACT, "v": "v3"}, "bad_value", ".v:"),
    ({**COMPACT, "fd": [0.07]}, "bad_type", "fd.r"),
    ({**LONG, "minimum_tick_size": 1}, "bad_value", ".minimum_tick_size:"),
])
def test_malformed_market_info_names_the_field(doc: Any, reason: str, field: str) -> None:
    with pytest.raises(WireError) as info:
        decode_clob_market(doc)
    assert info.value.reason == reason
    assert field in str(info.value)


def test_book_reply_is_the_book_event_without_its_envelope() -> None:
    reply = {"market": CID, "asset_id": "2507", "timestamp": "1791238858575", "hash": "fc38",
             "bids": [{"price": "0.01", "size": "1000"}, {"price": "0.1", "size": "125"}],
             "asks": [], "min_order_size": "5", "tick_size": "0.01", "neg_risk": False,
             "last_trade_price": "", "version": "v2"}
    assert decode_book_reply(reply, 7) == BookSnapshot(
        token_id=TokenId("2507"), condition_id=ConditionId(CID),
        bids=((1000, 125_000_000), (100, 1_000_000_000)), asks=(), hash="fc38",
        ts_event_ms=1791238858575, ts_recv_ns=7, tick_pips=100, min_size_micro=5_000_000)
    with pytest.raises(WireError) as info:
        decode_book_reply([reply], 7)
    assert info.value.reason == "not_object"
    with pytest.raises(WireError) as info:
        decode_book_reply({**reply, "bids": [{"price": "0.5"}]}, 7)
    assert info.value.reason == "missing_field"
