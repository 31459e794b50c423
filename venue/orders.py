"""Limit-order amounts, signed orders and the ``POST /order(s)`` body (protocol §6).

Three steps from a quote to the bytes on the wire:

1. **Amounts** (§6.3): ``limit_order_amounts`` (decimal strings, exact ``Decimal`` arithmetic,
   for tools and tests) or ``limit_order_amounts_int`` (pips and micro-units, integers only, for
   the order path) give ``(maker_amount, taker_amount)`` in base units (1e-6). The minimum order
   size is a market property, so it is checked separately: ``check_min_order_size`` or the
   optional ``min_size``/``min_size_micro`` argument. Unlike py-clob-client-v2, which rounds
   with floats and so turns 0.29 shares into 0.28 (``floor(0.29 * 100) == 28``), sizes are
   floored to 2 decimals exactly.
2. **Signing** (``Order`` and ``OrderSigner`` live in ``venue.eip712``, re-exported here):
   ``OrderSigner`` hashes an ``Order`` as EIP-712 (precomputed domain separators and
   type hash, one keccak over the 12 packed words, one over the digest) and signs the digest
   with one long-lived coincurve key. The hash is the venue's order id, known before sending.
3. **Body** (§6.5): ``order_body``/``batch_body`` serialize once, compactly, byte-identical to
   the SDK's ``json.dumps(order_to_json_v2(...), separators=(",", ":"))``. Sign those exact
   bytes for L2 auth and send them as they are.

Pure, no threads, no clock: timestamps come in as arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal, InvalidOperation

import orjson

from messages.ids import Side
from venue.eip712 import BUY, SELL, Order, OrderSigner, exchange_for, random_salt

__all__ = [
    "BUY",
    "MAX_BATCH",
    "SELL",
    "SIZE_STEP_MICRO",
    "Order",
    "OrderSigner",
    "batch_body",
    "check_min_order_size",
    "exchange_for",
    "limit_order_amounts",
    "limit_order_amounts_int",
    "order_body",
    "random_salt",
]

MAX_BATCH = 15
"""Most orders ``POST /orders`` takes in one request."""

# ---------------------------------------------------------------------------------------------
# Amounts (§6.3)

# tick → (price decimals, size decimals, amount decimals); the SDKs' ROUNDING_CONFIG.
_ROUNDING: dict[Decimal, tuple[int, int, int]] = {
    Decimal("0.1"): (1, 2, 3),
    Decimal("0.01"): (2, 2, 4),
    Decimal("0.005"): (3, 2, 5),
    Decimal("0.0025"): (4, 2, 6),
    Decimal("0.001"): (3, 2, 5),
    Decimal("0.0001"): (4, 2, 6),
}
_TICK_PIPS = frozenset((1000, 100, 50, 25, 10, 1))
SIZE_STEP_MICRO = 10_000
"""Order sizes are whole hundredths of a share (§6.3)."""
_CTX = Context(prec=80)  # wide enough that no product or quantize here ever rounds
_MICRO = Decimal(1_000_000)


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"{what}: not a decimal number: {text!r}") from None
    if not value.is_finite() or value < 0 or value.adjusted() > 30:
        raise ValueError(f"{what}: must be a finite number in [0, 1e30], got {text!r}")
    return value


def _decimals(x: Decimal) -> int:
    exponent = x.normalize(_CTX).as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def limit_order_amounts(side: str, price: str, size: str, tick_size: str, *,
                        min_size: str | None = None) -> tuple[int, int]:
    """``(maker_amount, taker_amount)`` in base units (1e-6) for a limit order (§6.3).

    Args:
        side: ``"BUY"`` or ``"SELL"``.
        price: decimal string; must be a multiple of ``tick_size`` within ``[tick, 1 - tick]``.
        size: shares as a decimal string; rounded **down** to 2 decimals.
        tick_size: one of ``0.1``, ``0.01``, ``0.005``, ``0.0025``, ``0.001``, ``0.0001``.
        min_size: the market's ``min_order_size``; if given, the rounded size must reach it.

    BUY gives ``(notional, shares)``, SELL ``(shares, notional)``, notional = shares × price.
    Raises ``ValueError`` naming the broken rule (unknown tick, price off the tick grid or out
    of range, size that rounds to zero or below ``min_size``, bad side).
    """
    tick = _decimal(tick_size, "tick size")
    rounding = _ROUNDING.get(tick)
    if rounding is None:
        raise ValueError(f"tick size: unknown tick {tick_size!r} "
                         f"(expected one of {', '.join(str(t) for t in _ROUNDING)})")
    _, size_decimals, amount_decimals = rounding
    if side not in ("BUY", "SELL"):
        raise ValueError(f"side: expected 'BUY' or 'SELL', got {side!r}")
    p = _decimal(price, "price")
    if _CTX.remainder(p, tick) != 0:
        raise ValueError(f"price: {price} is not a multiple of the tick {tick_size}")
    if p < tick or p > 1 - tick:
        raise ValueError(f"price: {price} is outside [tick, 1 - tick] for tick {tick_size}")
    shares = _decimal(size, "size").quantize(Decimal(1).scaleb(-size_decimals),
                                             rounding=ROUND_FLOOR, context=_CTX)
    if shares <= 0:
        raise ValueError(f"size: {size} rounds down to 0 shares at {size_decimals} decimals")
    if min_size is not None and shares < _decimal(min_size, "min size"):
        raise ValueError(f"size: {shares} shares is below the market minimum {min_size}")
    notional = _CTX.multiply(shares, p)
    if _decimals(notional) > amount_decimals:
        # The SDKs' rule; with a grid price and 2-decimal shares it never applies.
        notional = notional.quantize(Decimal(1).scaleb(-(amount_decimals + 4)),
                                     rounding=ROUND_CEILING, context=_CTX)
        if _decimals(notional) > amount_decimals:
            notional = notional.quantize(Decimal(1).scaleb(-amount_decimals),
                                         rounding=ROUND_FLOOR, context=_CTX)
    shares_micro = int(_CTX.multiply(shares, _MICRO))
    notional_micro = int(_CTX.multiply(notional, _MICRO))
    return (notional_micro, shares_micro) if side == "BUY" else (shares_micro, notional_micro)


def limit_order_amounts_int(side: Side, price_pips: int, size_micro: int, tick_pips: int, *,
                            min_size_micro: int = 0) -> tuple[int, int]:
    """The integer twin of ``limit_order_amounts`` for the order path: no ``Decimal``.

    ``size_micro`` is floored to a multiple of 10 000 micro (2 decimals of a share). With the
    price on a 1e-4 grid the notional ``shares_micro * price_pips / 10_000`` is exact, so step 3
    of §6.3 never applies. Raises ``ValueError`` like ``limit_order_amounts``.
    """
    if tick_pips not in _TICK_PIPS:
        raise ValueError(f"tick size: unknown tick {tick_pips} pips")
    if price_pips % tick_pips:
        raise ValueError(f"price: {price_pips} pips is not a multiple of the tick {tick_pips}")
    if price_pips < tick_pips or price_pips > 10_000 - tick_pips:
        raise ValueError(f"price: {price_pips} pips is outside [tick, 1 - tick] "
                         f"for tick {tick_pips}")
    shares = size_micro - size_micro % SIZE_STEP_MICRO
    if shares <= 0:
        raise ValueError(f"size: {size_micro} micro rounds down to 0 shares at 2 decimals")
    if shares < min_size_micro:
        raise ValueError(f"size: {shares} micro is below the market minimum {min_size_micro}")
    notional = shares * price_pips // 10_000
    if side == Side.BUY:
        return notional, shares
    if side == Side.SELL:
        return shares, notional
    raise ValueError(f"side: expected BUY or SELL, got {side!r}")


def check_min_order_size(shares_micro: int, min_size_micro: int) -> None:
    """Raise ``ValueError`` if an order's shares (base units) are below the market minimum."""
    if shares_micro < min_size_micro:
        raise ValueError(f"size: {shares_micro} micro is below the market minimum "
                         f"{min_size_micro}")


# ---------------------------------------------------------------------------------------------
# Bodies (§6.5)

_ORDER_TYPES = frozenset(("GTC", "GTD", "FOK", "FAK"))


def _envelope(order: Order, signature: str, owner: str, order_type: str, post_only: bool,
              defer_exec: bool) -> dict[str, object]:
    if order_type not in _ORDER_TYPES:
        raise ValueError(f"order type must be one of GTC, GTD, FOK, FAK, got {order_type!r}")
    if post_only and order_type in ("FOK", "FAK"):
        raise ValueError("post-only is only allowed with GTC and GTD orders")
    if order_type == "GTD" and order.expiration <= 0:
        raise ValueError("a GTD order needs an expiration (Unix seconds)")
    # Key order and value types as py-clob-client-v2's order_to_json_v2.
    return {
        "order": {
            "salt": order.salt,
            "maker": order.maker,
            "signer": order.signer,
            "tokenId": str(order.token_id),
            "makerAmount": str(order.maker_amount),
            "takerAmount": str(order.taker_amount),
            "side": "BUY" if order.side == BUY else "SELL",
            "expiration": str(order.expiration),
            "signatureType": order.signature_type,
            "timestamp": str(order.timestamp_ms),
            "metadata": order.metadata,
            "builder": order.builder,
            "signature": signature,
        },
        "owner": owner,
        "orderType": order_type,
        "deferExec": defer_exec,
        "postOnly": post_only,
    }


def order_body(order: Order, signature: str, *, owner: str, order_type: str = "GTC",
               post_only: bool = True, defer_exec: bool = False) -> bytes:
    """The ``POST /order`` body as compact JSON bytes; ``owner`` is the API key.

    Raises ``ValueError`` on an unknown order type, post-only with FOK/FAK, or GTD without an
    expiration.
    """
    return orjson.dumps(_envelope(order, signature, owner, order_type, post_only, defer_exec))


def batch_body(items: Sequence[bytes | tuple[Order, str]], *, owner: str,
               order_type: str = "GTC", post_only: bool = True,
               defer_exec: bool = False) -> bytes:
    """The ``POST /orders`` body: a JSON array of 1..15 envelopes.

    Each item is either an ``order_body(...)`` result (used as it is; the keyword arguments do
    not apply to it) or an ``(order, signature)`` pair. Raises ``ValueError`` on an empty or
    oversized batch and as ``order_body`` does.
    """
    if not 1 <= len(items) <= MAX_BATCH:
        raise ValueError(f"a batch holds 1..{MAX_BATCH} orders, got {len(items)}")
    parts = [item if isinstance(item, bytes)
             else order_body(item[0], item[1], owner=owner, order_type=order_type,
                             post_only=post_only, defer_exec=defer_exec)
             for item in items]
    return b"[" + b",".join(parts) + b"]"
