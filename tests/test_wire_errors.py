"""venue.wire error paths: every malformed frame raises WireError with the right reason, and
nothing but WireError ever escapes a decoder (hypothesis fuzz on bytes, JSON and mutations of
the protocol's example frames).

The bad-frame corpus (``tests/corpus/wire_bad_frames.jsonl``, one JSON object per line:
``decoder``, ``reason``, ``note``, ``frame``) is plain data, so the simulated venue's fault
injection can replay it too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import test_wire_market, test_wire_prices, test_wire_user
from venue.wire import (
    MAX_FRAME_BYTES,
    WireError,
    decode_market,
    decode_polybolt,
    decode_rtds,
    decode_user,
)

DECODERS: dict[str, Callable[..., list[Any]]] = {
    "market": decode_market, "user": decode_user, "polybolt": decode_polybolt,
    "rtds": decode_rtds,
}
CORPUS = [orjson.loads(line) for line in
          (Path(__file__).parent / "corpus" / "wire_bad_frames.jsonl").read_bytes().splitlines()
          if line.strip()]
EXAMPLES: dict[str, list[bytes]] = {
    "market": test_wire_market.EXAMPLES,
    "user": test_wire_user.EXAMPLES,
    "polybolt": [test_wire_prices.POLYBOLT_PRICE, test_wire_prices.POLYBOLT_TWAP,
                 test_wire_prices.POLYBOLT_SNAPSHOT],
    "rtds": [test_wire_prices.RTDS_CHAINLINK, test_wire_prices.RTDS_BINANCE,
             test_wire_prices.RTDS_TWAP],
}
REASONS = {"bad_json", "not_object", "missing_field", "bad_type", "bad_number", "bad_value",
           "unknown_event", "too_large", "venue_error"}


@pytest.mark.parametrize("case", CORPUS, ids=[f"{c['decoder']}-{c['note']}" for c in CORPUS])
def test_bad_frame_corpus(case: dict[str, str]) -> None:
    decode = DECODERS[case["decoder"]]
    for frame in (case["frame"].encode(), case["frame"]):
        with pytest.raises(WireError) as info:
            decode(frame, 1)
        assert info.value.reason == case["reason"], str(info.value)


def test_corpus_covers_every_reason() -> None:
    assert {c["reason"] for c in CORPUS} | {"too_large"} == REASONS


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_too_large_is_refused_before_parsing(name: str) -> None:
    decode = DECODERS[name]
    example = EXAMPLES[name][0]
    assert decode(example, 1, max_bytes=len(example))  # at the limit: decoded
    with pytest.raises(WireError) as info:
        decode(example, 1, max_bytes=len(example) - 1)
    assert info.value.reason == "too_large"
    # Over the default limit, even garbage is refused as too large, not as bad JSON.
    with pytest.raises(WireError) as info:
        decode(b"x" * (MAX_FRAME_BYTES + 1), 1)
    assert info.value.reason == "too_large"


def test_error_message_names_the_field() -> None:
    frame = orjson.dumps({"event_type": "last_trade_price", "asset_id": "1", "market": "0x1",
                          "price": "0.5", "size": "ten", "side": "BUY", "timestamp": "1"})
    with pytest.raises(WireError, match=r"last_trade_price\.size") as info:
        decode_market(frame, 1)
    assert info.value.reason == "bad_number"


def _only_wire_errors(decode: Callable[..., list[Any]], frame: bytes) -> None:
    try:
        out = decode(frame, 1)
    except WireError as exc:
        assert exc.reason in REASONS
    else:
        assert isinstance(out, list)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
    | st.sampled_from(["0.5", ".48", "BUY", "SELL", "book", "price_change", "trade", "order",
                       "1757908892351", "btcusd", "price.crypto", "crypto_prices", "error"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["event_type", "asset_id", "market", "price", "size",
                                       "side", "bids", "asks", "timestamp", "op", "channel",
                                       "payload", "topic", "symbol", "data", "snapshot",
                                       "price_changes", "maker_orders", "status", "id"])
                      | st.text(max_size=6), children, max_size=6),
    max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(DECODERS)), frame=st.binary(max_size=200))
def test_fuzz_bytes(name: str, frame: bytes) -> None:
    _only_wire_errors(DECODERS[name], frame)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(DECODERS)), value=json_values)
def test_fuzz_json_values(name: str, value: object) -> None:
    _only_wire_errors(DECODERS[name], orjson.dumps(value))


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key/index path into a parsed frame."""
    out: list[tuple[Any, ...]] = []
    if isinstance(doc, dict):
        items: Any = doc.items()
    elif isinstance(doc, list):
        items = enumerate(doc)
    else:
        return out
    for key, child in items:
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_mutated_examples(data: st.DataObject) -> None:
    """Replace or delete one field anywhere in a valid frame: a list or a WireError, no crash."""
    name = data.draw(st.sampled_from(sorted(EXAMPLES)))
    doc = orjson.loads(data.draw(st.sampled_from(EXAMPLES[name])))
    path = data.draw(st.sampled_from(_paths(doc)))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(json_values)
    _only_wire_errors(DECODERS[name], orjson.dumps(doc))
