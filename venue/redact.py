"""Keep our API key out of everything downstream of the user feed.

The venue labels our orders and fills with our API key (``owner``). The State and OrderManager
only need to know whether an owner is us, so the user feed's sinks see ``"self"`` instead: the
key then never reaches the event log, metrics or logs, and replay needs no credentials.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from messages import OrderEvent, TradeEvent

SELF = "self"
OTHER = "other"


def redact_owner(msg: Any, api_key: str) -> Any:
    """``msg`` with every owner field mapped to ``self``/``other``; other messages unchanged."""
    if isinstance(msg, OrderEvent):
        return dataclasses.replace(msg, owner=SELF if msg.owner == api_key else OTHER)
    if isinstance(msg, TradeEvent):
        fills = tuple(dataclasses.replace(f, owner=SELF if f.owner == api_key else OTHER)
                      for f in msg.maker_fills)
        return dataclasses.replace(msg, owner=SELF if msg.owner == api_key else OTHER,
                                   maker_fills=fills)
    return msg


def redacting_sinks(sinks: Sequence[Callable[[Any], None]],
                    api_key: str) -> list[Callable[[Any], None]]:
    """Wrap each sink so it receives redacted user-feed messages.

    A feed hands the same message object to its sinks in turn, so it is redacted once for
    all of them: the last message and its redacted copy are kept (one tuple, swapped whole,
    so a caller on another thread never sees half of it)."""
    last: list[tuple[Any, Any]] = [(None, None)]

    def redacted(msg: Any) -> Any:
        seen, out = last[0]
        if seen is not msg:
            out = redact_owner(msg, api_key)
            last[0] = (msg, out)
        return out

    def wrap(sink: Callable[[Any], None]) -> Callable[[Any], None]:
        return lambda msg: sink(redacted(msg))
    return [wrap(s) for s in sinks]
