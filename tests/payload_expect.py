"""polymm's messages built by hand from a recorded venue payload, for ``test_fixtures_real``.

Independent of polymm's parsers: every number is read by ``decimal.Decimal`` from the payload's
own text (files are loaded with ``parse_float=Decimal``, so a JSON number keeps the digits the
venue wrote): prices × 10⁴ = pips and sizes × 10⁶ = micro-units, both asserted to be exact
integers, reference prices × 10⁸ truncated toward zero (as ``venue.numbers.parse_e8``
documents). Every time must be a 2020–2035 time in exactly one of seconds or milliseconds.
Only the shapes are restated here, from the protocol reference.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from messages import (
    BestBidAsk,
    BookChange,
    BookSnapshot,
    ConditionId,
    LastTrade,
    LevelChange,
    MakerFill,
    Market,
    MarketAnnounced,
    MarketResolved,
    OrderEvent,
    OrderEventType,
    OrderHash,
    PriceSource,
    PriceUpdate,
    Side,
    TickSizeChanged,
    TokenId,
    TradeEvent,
    TradeId,
    TradeStatus,
)
from venue.wire_rest import ClobMarketInfo

RECV = 1_791_000_000_000_000_000
"""The receive time every decoder is given."""

# -- numbers and times, by Decimal from the payload's text ------------------------------------

_DECIMAL = re.compile(r"[0-9]*\.?[0-9]*")
_LOW_MS = 1_577_836_800_000  # 2020-01-01
_HIGH_MS = 2_051_222_400_000  # 2035-01-01
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def dec(x: Any) -> Decimal:
    """A number as the payload spells it (files are read with ``parse_float=Decimal``)."""
    if isinstance(x, str):
        assert _DECIMAL.fullmatch(x) and x not in ("", "."), f"not a plain decimal: {x!r}"
        return Decimal(x)
    assert isinstance(x, int | Decimal) and not isinstance(x, bool), f"not a number: {x!r}"
    return Decimal(x)


def scaled(x: Any, decimals: int) -> int:
    d = dec(x).scaleb(decimals)
    assert d == d.to_integral_value(), f"{x!r} has more than {decimals} decimals"
    return int(d)


def pips(x: Any) -> int:
    p = scaled(x, 4)
    assert 0 <= p <= 10_000, f"price {x!r} outside [0, 1]"
    return p


def opt_pips(x: Any) -> int | None:
    return None if x is None or x == "" else pips(x)


def micro(x: Any) -> int:
    return scaled(x, 6)


def e8(x: Any) -> int:
    return int(dec(x).scaleb(8).to_integral_value(rounding=ROUND_DOWN))


def ms(x: Any) -> int:
    """A time in ms: the one reading (seconds or ms) that falls in 2020–2035."""
    v = scaled(x, 0)
    fits = [t for t in (v, v * 1000) if _LOW_MS <= t < _HIGH_MS]
    assert len(fits) == 1, f"time {x!r} is not a 2020-2035 time in exactly one unit"
    return fits[0]


def iso_ms(s: str) -> int:
    dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // timedelta(milliseconds=1)


# -- the market and user channels -------------------------------------------------------------

def book(ev: dict[str, Any]) -> BookSnapshot:
    def levels(raw: list[dict[str, Any]]) -> list[tuple[int, int]]:
        return [(pips(lv["price"]), micro(lv["size"])) for lv in raw]
    bids, asks = sorted(levels(ev["bids"]), reverse=True), sorted(levels(ev["asks"]))
    assert len({p for p, _ in bids}) == len(bids) and len({p for p, _ in asks}) == len(asks)
    tick, min_size = ev.get("tick_size"), ev.get("min_order_size")
    return BookSnapshot(token_id=TokenId(ev["asset_id"]), condition_id=ConditionId(ev["market"]),
                        bids=tuple(bids), asks=tuple(asks), hash=ev.get("hash", ""),
                        ts_event_ms=ms(ev["timestamp"]), ts_recv_ns=RECV,
                        tick_pips=None if tick is None else pips(tick),
                        min_size_micro=None if min_size is None else micro(min_size))


def price_change(ev: dict[str, Any]) -> BookChange:
    entries, legacy = ev.get("price_changes"), None
    if entries is None:
        entries, legacy = ev["changes"], ev["asset_id"]
    return BookChange(condition_id=ConditionId(ev["market"]), ts_event_ms=ms(ev["timestamp"]),
                      ts_recv_ns=RECV, changes=tuple(
        LevelChange(token_id=TokenId(legacy or e["asset_id"]), side=Side(e["side"]),
                    price_pips=pips(e["price"]), size_micro=micro(e["size"]),
                    best_bid_pips=opt_pips(e.get("best_bid")),
                    best_ask_pips=opt_pips(e.get("best_ask"))) for e in entries))


def market_event(ev: dict[str, Any]) -> Any:
    et, ts = ev["event_type"], ms(ev["timestamp"])
    ids = {"token_id": TokenId(ev.get("asset_id", "")), "condition_id": ConditionId(ev["market"])}
    if et == "book":
        return book(ev)
    if et == "price_change":
        return price_change(ev)
    if et == "last_trade_price":
        return LastTrade(**ids, price_pips=pips(ev["price"]), size_micro=micro(ev["size"]),
                         side=Side(ev["side"]), fee_rate_bps=scaled(ev.get("fee_rate_bps", 0), 0),
                         ts_event_ms=ts, ts_recv_ns=RECV)
    if et == "tick_size_change":
        return TickSizeChanged(**ids, old_tick_pips=pips(ev["old_tick_size"]),
                               new_tick_pips=pips(ev["new_tick_size"]), ts_event_ms=ts,
                               ts_recv_ns=RECV)
    if et == "best_bid_ask":
        return BestBidAsk(**ids, best_bid_pips=opt_pips(ev.get("best_bid")),
                          best_ask_pips=opt_pips(ev.get("best_ask")), ts_event_ms=ts,
                          ts_recv_ns=RECV)
    if et == "new_market":
        tokens = ev.get("assets_ids", ev.get("clob_token_ids", []))
        return MarketAnnounced(condition_id=ConditionId(ev["market"]), slug=ev.get("slug", ""),
                               token_ids=tuple(map(TokenId, tokens)), ts_event_ms=ts,
                               ts_recv_ns=RECV)
    assert et == "market_resolved", f"no expectation for event_type {et!r}"
    return MarketResolved(condition_id=ConditionId(ev["market"]),
                          winning_token_id=TokenId(ev["winning_asset_id"]),
                          winning_outcome=ev.get("winning_outcome", ""), ts_event_ms=ts,
                          ts_recv_ns=RECV)


def _first_time(ev: dict[str, Any], keys: tuple[str, ...]) -> int:
    return ms(next(ev[k] for k in ("timestamp", *keys) if ev.get(k) not in (None, "")))


def user_event(ev: dict[str, Any]) -> Any:
    side, ids = Side(ev["side"]), {"condition_id": ConditionId(ev["market"]),
                                   "token_id": TokenId(ev["asset_id"])}
    if ev.get("event_type") == "order":
        matched = ev.get("size_matched", "")
        return OrderEvent(**ids, order_id=OrderHash(ev["id"]), side=side,
                          type=OrderEventType(ev["type"]), status=ev["status"],
                          price_pips=pips(ev["price"]),
                          original_size_micro=micro(ev["original_size"]),
                          size_matched_micro=0 if matched == "" else micro(matched),
                          owner=ev.get("owner", ""), ts_event_ms=_first_time(ev, ("created_at",)),
                          ts_recv_ns=RECV)
    assert ev.get("event_type", "trade") == "trade", ev.get("event_type")
    makers = tuple(MakerFill(order_id=OrderHash(m["order_id"]), owner=m.get("owner", ""),
                             token_id=TokenId(m["asset_id"]), side=Side(m["side"]),
                             price_pips=pips(m["price"]),
                             matched_size_micro=micro(m["matched_amount"]))
                   for m in ev.get("maker_orders") or [])
    return TradeEvent(**ids, trade_id=TradeId(ev["id"]),
                      status=TradeStatus(ev["status"].removeprefix("TRADE_STATUS_")), side=side,
                      price_pips=pips(ev["price"]), size_micro=micro(ev["size"]),
                      taker_order_id=OrderHash(ev.get("taker_order_id", "")),
                      trader_side=ev.get("trader_side", ""), owner=ev.get("owner", ""),
                      maker_fills=makers,
                      ts_event_ms=_first_time(ev, ("match_time", "matchtime", "last_update")),
                      ts_recv_ns=RECV)


def events(doc: Any) -> list[dict[str, Any]]:
    return doc if isinstance(doc, list) else [doc]


# -- reference prices -------------------------------------------------------------------------

def asset(symbol: str) -> str:
    s = symbol.lower()
    return s.split("/")[0] if "/" in s else re.sub(r"(usdt|usd)$", "", s)


POLYBOLT = {"price.crypto": PriceSource.BINANCE, "price.crypto.twap": PriceSource.TWAP}
RTDS = {"crypto_prices": (PriceSource.BINANCE, 0), "crypto_prices_chainlink":
        (PriceSource.CHAINLINK, 0), "crypto_prices_twap_sixty": (PriceSource.TWAP, 60),
        "crypto_prices_twap_thirty": (PriceSource.TWAP, 30)}


def polybolt_ticks(env: dict[str, Any]) -> list[PriceUpdate]:
    if "op" in env:
        assert env["op"] in ("pong", "subscribed", "unsubscribed", "authed"), env
        return []
    pay, snap = env["payload"], env.get("snapshot") is True
    return [PriceUpdate(asset=asset(pay["symbol"]), source=POLYBOLT[env["channel"]],
                      price_e8=e8(p.get("full_accuracy_value", p.get("value"))),
                      ts_event_ms=ms(p.get("timestamp", env["ts"])), ts_recv_ns=RECV,
                      provider=pay.get("source", ""), window_seconds=pay.get("window_seconds", 0),
                      seq=env.get("seq", 0), snapshot=snap)
            for p in (pay["data"] if snap else [pay])]


def rtds_ticks(env: dict[str, Any]) -> list[PriceUpdate]:
    source, window = RTDS[env["topic"]]
    pay = env["payload"]
    out = []
    for p in pay.get("data", [pay]):
        fav = p.get("full_accuracy_value")
        if source is PriceSource.TWAP:  # an E18 fixed-point integer string
            price = e8(dec(fav).scaleb(-18)) if fav is not None else e8(p["value"])
        else:
            price = e8(p["value"])
            assert fav is None or e8(fav) == price, "the float and the decimal string disagree"
        out.append(PriceUpdate(asset=asset(pay["symbol"]), source=source, price_e8=price,
                             ts_event_ms=ms(p.get("timestamp", env["timestamp"])),
                             ts_recv_ns=RECV, snapshot="data" in pay,
                             window_seconds=pay.get("window_s", window) if window else 0))
    return out


# -- Gamma and the CLOB's REST replies --------------------------------------------------------

def _listish(x: Any) -> list[Any]:
    return json.loads(x) if isinstance(x, str) else list(x)


def gamma_market(m: dict[str, Any], ev: dict[str, Any] | None) -> Market:
    ev = ev or {}
    version = "v1" if m.get("version") is None else m["version"]
    tokens = _listish(m["clobTokenIds"] if version == "v1" else m["positionIds"])
    end = iso_ms(m["endDate"])
    starts = [m.get("eventStartTime"), ev.get("startTime"), m.get("startDate")]
    start = next((iso_ms(s) for s in starts if s and iso_ms(s) <= end), 0)
    sched = m.get("feeSchedule")
    fees = (0, 0) if sched is None or m.get("feesEnabled") is False else (
        scaled(sched.get("rate", 0), 4), scaled(sched.get("rebateRate", 0), 4))
    meta = ev.get("eventMetadata")
    meta = json.loads(meta, parse_float=Decimal) if isinstance(meta, str) else meta or {}
    beat = meta.get("priceToBeat")
    outcomes = _listish(m["outcomes"])
    return Market(condition_id=ConditionId(m["conditionId"]), slug=m.get("slug") or ev["slug"],
                  alias="fixture", question=m.get("question") or "",
                  token_ids=(TokenId(tokens[0]), TokenId(tokens[1])),
                  outcomes=(outcomes[0], outcomes[1]), version=version,
                  neg_risk=bool(m.get("negRisk")), tick_pips=pips(m["orderPriceMinTickSize"]),
                  min_size_micro=micro(m["orderMinSize"]), start_ms=start, end_ms=end,
                  accepting_orders=bool(m.get("acceptingOrders")), asset="", strategy="updown",
                  taker_fee_rate_bps=fees[0], maker_rebate_bps=fees[1],
                  price_to_beat_e8=None if beat in (None, "") else e8(beat))


_CLOB_KEYS = {  # the compact /clob-markets keys → the older /markets ones
    "c": "condition_id", "t": "tokens", "tt": "token_id", "o": "outcome", "v": "version",
    "mts": "minimum_tick_size", "mos": "minimum_order_size", "nr": "neg_risk",
    "ao": "accepting_orders"}


def clob_market(doc: dict[str, Any]) -> ClobMarketInfo:
    short = "c" in doc

    def key(compact: str) -> str:
        return (compact if compact != "tt" else "t") if short else _CLOB_KEYS[compact]
    tokens = doc[key("t")]
    fees = doc.get("fd") if short else None
    return ClobMarketInfo(
        condition_id=ConditionId(doc[key("c")]),
        token_ids=tuple(TokenId(t[key("tt")]) for t in tokens),
        outcomes=tuple(t[key("o")] for t in tokens), version=doc.get(key("v")) or "v1",
        tick_pips=pips(doc[key("mts")]), min_size_micro=micro(doc[key("mos")]),
        neg_risk=doc.get(key("nr"), False), accepting_orders=doc.get(key("ao"), False),
        taker_fee_rate_bps=None if fees is None else scaled(fees["r"], 4))
