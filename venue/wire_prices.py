"""Reference-price frames (protocol §3) to :class:`PriceUpdate`: PolyBolt (current), RTDS (legacy).

Prices are read from the decimal string ``full_accuracy_value`` where the feed sends one; the
float ``value`` is a fallback only, converted through ``repr`` (see :mod:`venue.numbers`).
``asset`` is the lower-case base asset whatever the feed's spelling: ``btcusd``, ``btcusdt``
and ``btc/usd`` all give ``btc``.
"""

from __future__ import annotations

from typing import Any, Final

from messages import PriceSource, PriceUpdate
from venue.numbers import e18_to_e8, parse_e8_num
from venue.wire_common import (
    CONVERSION_ERRORS,
    MAX_FRAME_BYTES,
    WireError,
    events_of,
    field_error,
    load_frame,
    need_str,
    parse_ms,
)

__all__ = ["asset_of", "decode_polybolt", "decode_rtds"]

_POLYBOLT_CHANNELS: Final = {
    "price.crypto": PriceSource.BINANCE,
    "price.crypto.twap": PriceSource.TWAP,
}
_POLYBOLT_CONTROL: Final = frozenset(("authed", "subscribed", "unsubscribed", "pong"))

# RTDS topic -> (source, default window in seconds).
_RTDS_TOPICS: Final = {
    "crypto_prices": (PriceSource.BINANCE, 0),
    "crypto_prices_chainlink": (PriceSource.CHAINLINK, 0),
    "crypto_prices_twap_sixty": (PriceSource.TWAP, 60),
    "crypto_prices_twap_thirty": (PriceSource.TWAP, 30),
}
_QUOTE_SUFFIXES: Final = ("usdt", "usd")


def asset_of(symbol: str) -> str:
    """The lower-case base asset of a feed symbol: ``btcusd``/``btcusdt``/``btc/usd`` → ``btc``."""
    s = symbol.lower()
    if "/" in s:
        base = s.partition("/")[0]
    else:
        base = s
        for suffix in _QUOTE_SUFFIXES:
            if s.endswith(suffix):
                base = s[: -len(suffix)]
                break
    if not base:
        raise WireError("bad_value", f"symbol {symbol!r} names no asset")
    return base


def _int_field(x: object) -> int:
    if type(x) is not int:
        raise TypeError(f"expected an integer, got {type(x).__name__}")
    return x


def _polybolt_ticks(env: dict[str, Any], source: PriceSource, ts_recv_ns: int) -> list[PriceUpdate]:
    """One envelope of ``price.crypto``/``price.crypto.twap``: a tick, or a snapshot's points."""
    where = str(env.get("channel"))
    f = "payload"
    try:
        payload = env["payload"]
        f = "payload.symbol"
        asset = asset_of(need_str(payload["symbol"]))
        f = "payload.source"
        provider = need_str(payload.get("source", ""))
        f = "payload.window_seconds"
        window = _int_field(payload.get("window_seconds", 0))
        f = "seq"
        seq = _int_field(env.get("seq", 0))
        if env.get("snapshot") is True:
            f = "payload.data"
            points = payload["data"]
            if type(points) is not list:
                raise TypeError("data is not an array")
            snapshot = True
        else:
            points = [payload]
            snapshot = False
        ticks = []
        for p in points:
            f = "full_accuracy_value"
            fav = p.get("full_accuracy_value")
            price = parse_e8_num(p["value"] if fav is None else fav)
            f = "timestamp"
            ts = p.get("timestamp")
            ts_ms = parse_ms(env["ts"] if ts is None else ts)
            ticks.append(PriceUpdate(asset=asset, source=source, price_e8=price, ts_event_ms=ts_ms,
                                   ts_recv_ns=ts_recv_ns, provider=provider,
                                   window_seconds=window, seq=seq, snapshot=snapshot))
    except CONVERSION_ERRORS as exc:
        raise field_error(where, f, exc) from None
    return ticks


def decode_polybolt(frame: bytes | str, ts_recv_ns: int, *,
                    max_bytes: int = MAX_FRAME_BYTES) -> list[PriceUpdate]:
    """Decode one PolyBolt frame (§3.2) into price ticks.

    ``price.crypto`` (the exchange price; the payload's ``source`` is kept in ``provider``)
    gives ``PriceSource.BINANCE``, ``price.crypto.twap`` gives ``PriceSource.TWAP`` with the
    payload's ``window_seconds``. Control frames (``authed``, ``subscribed``,
    ``unsubscribed``, ``pong``) and empty frames give ``[]``; an ``{"op":"error"}`` frame
    raises ``WireError(reason="venue_error")`` naming the code. Raises only :class:`WireError`.
    """
    doc = load_frame(frame, max_bytes)
    out: list[PriceUpdate] = []
    for env in events_of(doc, "polybolt"):
        op = env.get("op")
        if op is not None:
            if type(op) is str and op in _POLYBOLT_CONTROL:
                continue
            if op == "error":
                raise WireError("venue_error", f"polybolt error code {env.get('code')!r}"
                                f" (rid {env.get('rid')!r}): {env.get('message', '')!r}")
            raise WireError("unknown_event", f"polybolt: unknown op {op!r}")
        channel = env.get("channel")
        if channel is None:
            raise WireError("missing_field", "polybolt: missing field 'channel'")
        source = _POLYBOLT_CHANNELS.get(channel) if type(channel) is str else None
        if source is None:
            raise WireError("unknown_event", f"polybolt: unknown channel {channel!r}")
        out.extend(_polybolt_ticks(env, source, ts_recv_ns))
    return out


def _rtds_ticks(env: dict[str, Any], topic: str, ts_recv_ns: int) -> list[PriceUpdate]:
    """One RTDS price message: an update, or a subscribe-time dump under ``payload.data``."""
    source, window = _RTDS_TOPICS[topic]
    twap = source is PriceSource.TWAP
    f = "payload"
    try:
        payload = env["payload"]
        f = "payload.symbol"
        asset = asset_of(need_str(payload["symbol"]))
        if twap:
            f = "payload.window_s"
            window = _int_field(payload.get("window_s", window))
        data = payload.get("data")
        if data is None:
            points = [payload]
            snapshot = False
        else:
            f = "payload.data"
            if type(data) is not list:
                raise TypeError("data is not an array")
            points = data
            snapshot = True
        ticks = []
        for p in points:
            f = "value"
            fav = p.get("full_accuracy_value") if twap else None
            # TWAP topics carry an E18 fixed-point integer string; the others a JSON float.
            price = e18_to_e8(need_str(fav)) if fav is not None else parse_e8_num(p["value"])
            f = "timestamp"
            ts = p.get("timestamp")
            ts_ms = parse_ms(env["timestamp"] if ts is None else ts)
            ticks.append(PriceUpdate(asset=asset, source=source, price_e8=price, ts_event_ms=ts_ms,
                                   ts_recv_ns=ts_recv_ns, window_seconds=window,
                                   snapshot=snapshot))
    except CONVERSION_ERRORS as exc:
        raise field_error(topic, f, exc) from None
    return ticks


def decode_rtds(frame: bytes | str, ts_recv_ns: int, *,
                max_bytes: int = MAX_FRAME_BYTES) -> list[PriceUpdate]:
    """Decode one legacy RTDS frame (§3.1) into price ticks.

    ``crypto_prices`` → BINANCE, ``crypto_prices_chainlink`` → CHAINLINK, the TWAP topics
    ``crypto_prices_twap_sixty``/``_thirty`` → TWAP (E18 ``full_accuracy_value`` → 1e-8).
    ``PONG`` and empty frames give ``[]``; other topics raise ``unknown_event``. Raises only
    :class:`WireError`.
    """
    doc = load_frame(frame, max_bytes)
    out: list[PriceUpdate] = []
    for env in events_of(doc, "rtds"):
        topic = env.get("topic")
        if topic is None:
            raise WireError("missing_field", "rtds: missing field 'topic'")
        if type(topic) is not str or topic not in _RTDS_TOPICS:
            raise WireError("unknown_event", f"rtds: unknown topic {topic!r}")
        out.extend(_rtds_ticks(env, topic, ts_recv_ns))
    return out
