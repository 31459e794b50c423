"""The user feed's owner redaction: our API key becomes ``self`` for every sink, once."""

from __future__ import annotations

from tests.builders import make_maker_fill, make_order_event, make_trade
from venue.redact import OTHER, SELF, redacting_sinks

KEY = "api-key-of-ours"


def test_every_sink_gets_the_same_redacted_message() -> None:
    got: list[list[object]] = [[], [], []]
    sinks = redacting_sinks([got[0].append, got[1].append, got[2].append], KEY)
    trade = make_trade(owner=KEY, maker_fills=(make_maker_fill(owner="someone"),
                                               make_maker_fill(owner=KEY)))
    order = make_order_event(owner="someone")
    for msg in (trade, order, trade):
        for sink in sinks:
            sink(msg)
    first = got[0]
    assert first[0].owner == SELF  # type: ignore[attr-defined]
    assert [f.owner for f in first[0].maker_fills] == [OTHER, SELF]  # type: ignore[attr-defined]
    assert first[1].owner == OTHER  # type: ignore[attr-defined]
    assert first[2] == first[0]
    for other in got[1:]:  # redacted once per message: the very same object for each sink
        assert [a is b for a, b in zip(other, first, strict=True)] == [True, True, True]
