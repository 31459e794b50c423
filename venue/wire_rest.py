"""CLOB REST read replies (protocol §4.4, §5.3) to typed values: books and market info.

:class:`~venue.rest.ClobClient` returns these replies as parsed JSON objects; the functions
here turn one into a typed value and raise only :class:`~venue.wire_common.WireError`, naming
the field, as the websocket decoders do.

- :func:`decode_book_reply` — ``GET /book``: the same object as the market channel's ``book``
  event, converted by the same function (:func:`venue.wire_book.book_event`).
- :func:`decode_clob_market` — ``GET /clob-markets/{condition}`` (compact keys, §4.4) or the
  older ``GET /markets/{condition}`` object (snake_case keys): the CLOB's own view of a
  market's ids, tick, minimum size and version, to cross-check what Gamma says (§4.3).

Pure; no state.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, Final

from messages import BookSnapshot, ConditionId, TokenId
from venue.numbers import parse_micro_num, parse_pips_num
from venue.wire_book import book_event
from venue.wire_common import CONVERSION_ERRORS, WireError, field_error, need_str

__all__ = ["ClobMarketInfo", "decode_book_reply", "decode_clob_market"]

_CONDITION: Final = re.compile(r"0x[0-9a-fA-F]{64}")
_VERSIONS: Final = frozenset(("v1", "v2"))


def decode_book_reply(doc: Any, ts_recv_ns: int) -> BookSnapshot:
    """A ``GET /book`` reply → BookSnapshot (bids best first, asks best first).

    Raises:
        WireError: the reply is not an object, or a field is missing or malformed.
    """
    if type(doc) is not dict:
        raise WireError("not_object", f"/book reply is {type(doc).__name__}, not an object")
    return book_event(doc, ts_recv_ns)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClobMarketInfo:
    """One market as the CLOB describes it (not a message between actors: a value for checks).

    ``taker_fee_rate_bps`` is None when the reply carries no fee schedule (the older
    ``/markets`` object has only the legacy base fees, which V2 fees ignore).
    """

    condition_id: ConditionId
    token_ids: tuple[TokenId, ...]
    outcomes: tuple[str, ...]
    version: str
    tick_pips: int
    min_size_micro: int
    neg_risk: bool
    accepting_orders: bool
    taker_fee_rate_bps: int | None


# (reply form, field) → key: the compact /clob-markets keys and the older /markets ones.
_COMPACT: Final = {"cid": "c", "tokens": "t", "token": "t", "outcome": "o", "tick": "mts",
                   "min": "mos", "neg_risk": "nr", "accepting": "ao", "version": "v"}
_LONG: Final = {"cid": "condition_id", "tokens": "tokens", "token": "token_id",
                "outcome": "outcome", "tick": "minimum_tick_size", "min": "minimum_order_size",
                "neg_risk": "neg_risk", "accepting": "accepting_orders", "version": "version"}


def _flag(doc: Mapping[str, Any], key: str) -> bool:
    # The compact form omits false flags (``nr`` is absent unless true, §4.4).
    v = doc.get(key, False)
    if type(v) is not bool:
        raise TypeError(f"{key} is not true/false")
    return v


def decode_clob_market(doc: Any) -> ClobMarketInfo:
    """A ``/clob-markets/{condition}`` or ``/markets/{condition}`` reply → ClobMarketInfo.

    The form is told by its keys (``c`` or ``condition_id``). An absent version is ``v1``, as
    on Gamma (markets before Protocol V2). Raises :class:`WireError`: ``bad_value`` for a
    condition id that is not 0x + 64 hex digits, a token id that is not a decimal string, a
    tick outside (0, 1) or a version other than v1/v2.
    """
    if type(doc) is not dict:
        raise WireError("not_object", f"clob market is {type(doc).__name__}, not an object")
    keys = _COMPACT if "c" in doc else _LONG
    where = "clob market"
    f = keys["cid"]
    try:
        cid = need_str(doc[f])
        if not _CONDITION.fullmatch(cid):
            raise WireError("bad_value", f"{where}.{f}: {cid!r} is not 0x + 64 hex digits")
        where = f"clob market {cid}"
        f = keys["tokens"]
        raw = doc[f]
        if type(raw) is not list or not all(type(t) is dict for t in raw):
            raise TypeError("not an array of objects")
        tokens = tuple(need_str(t[keys["token"]]) for t in raw)
        if not all(t.isdigit() and t.isascii() for t in tokens):
            raise WireError("bad_value", f"{where}.{f}: token ids {tokens!r} are not decimal")
        outcomes = tuple(need_str(t.get(keys["outcome"], "")) for t in raw)
        f = keys["tick"]
        tick = parse_pips_num(doc[f])
        if not 0 < tick < 10_000:
            raise WireError("bad_value", f"{where}.{f}: tick of {tick} pips is not in (0, 1)")
        f = keys["min"]
        min_size = parse_micro_num(doc[f])
        f = keys["neg_risk"]
        neg_risk = _flag(doc, f)
        f = keys["accepting"]
        accepting = _flag(doc, f)
        f = keys["version"]
        version = doc.get(f) or "v1"
        if version not in _VERSIONS:
            raise WireError("bad_value", f"{where}.{f}: version {version!r} is not v1 or v2")
        f = "fd.r"
        fees = doc.get("fd") if keys is _COMPACT else None
        taker_bps = None if fees is None else parse_pips_num(fees.get("r", 0))
    except CONVERSION_ERRORS as exc:
        raise field_error(where, f, exc) from None
    return ClobMarketInfo(condition_id=ConditionId(cid), token_ids=tuple(map(TokenId, tokens)),
                          outcomes=outcomes, version=version, tick_pips=tick,
                          min_size_micro=min_size, neg_risk=neg_risk,
                          accepting_orders=accepting, taker_fee_rate_bps=taker_bps)
