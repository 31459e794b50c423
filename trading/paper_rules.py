"""The venue's order checks, as the paper exchange applies them, with the venue's own texts.

The order and the texts are those of the CLOB (protocol §5.5, §7.1; the simulated venue in
``sim/exchange.py`` checks in the same order): unknown market, market closed, duplicate,
amounts, tick, price range, minimum size, post-only cross. Each refusal carries the
``messages.RejectReason`` that ``venue.rest_errors.classify_reject`` derives from the same
text, so a paper rejection reads exactly like a live one.

Pure code: no threads, no clock, no state.
"""

from __future__ import annotations

from messages.ids import MICRO_PER_UNIT, PIPS_PER_UNIT, Side
from messages.orders import RejectReason

INVALID_PAYLOAD = "Invalid order payload"
NOT_READY = "the market is not yet ready to process new orders"
POST_ONLY_CROSS = "invalid post-only order: order crosses book"
NOT_ENOUGH_BALANCE = "not enough balance / allowance"
NOT_CANCELED = "order can't be found - already canceled or matched"
"""The ``not_canceled`` reason for an id that is not open (``gone_at_venue`` reads it as gone)."""

Refusal = tuple[RejectReason, str]


def decimal_str(value: int, scale: int) -> str:
    """``value / scale`` as the venue prints a decimal: ``5550, 10_000`` → ``"0.555"``,
    ``10_000_000, 1_000_000`` → ``"10"``."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), scale)
    if not frac:
        return f"{sign}{whole}"
    digits = len(str(scale)) - 1
    return f"{sign}{whole}.{frac:0{digits}d}".rstrip("0")


def duplicated(order_id: str) -> Refusal:
    return RejectReason.DUPLICATE, f"order {order_id} is invalid. Duplicated."


def check_amounts(order_id: str, price_pips: int, size_micro: int, *, tick_pips: int,
                  min_size_micro: int) -> Refusal | None:
    """Amounts, tick, price range ``[tick, 1 - tick]`` and minimum size, in the venue's order;
    None when the order passes."""
    if price_pips <= 0 or size_micro <= 0 or tick_pips <= 0:
        return RejectReason.INVALID, INVALID_PAYLOAD
    if price_pips % tick_pips or not tick_pips <= price_pips <= PIPS_PER_UNIT - tick_pips:
        return RejectReason.TICK, (
            f"order {order_id} is invalid. Price ({decimal_str(price_pips, PIPS_PER_UNIT)}) "
            f"breaks minimum tick size rule: {decimal_str(tick_pips, PIPS_PER_UNIT)}")
    if size_micro < min_size_micro:
        return RejectReason.MIN_SIZE, (
            f"order {order_id} is invalid. Size ({decimal_str(size_micro, MICRO_PER_UNIT)}) "
            f"lower than the minimum: {decimal_str(min_size_micro, MICRO_PER_UNIT)}")
    return None


def post_only_cross() -> Refusal:
    return RejectReason.POST_ONLY_CROSS, POST_ONLY_CROSS


def not_ready() -> Refusal:
    return RejectReason.TRADING_DISABLED, NOT_READY


def invalid() -> Refusal:
    return RejectReason.INVALID, INVALID_PAYLOAD


def no_balance() -> Refusal:
    return RejectReason.BALANCE, NOT_ENOUGH_BALANCE


def check_balance(side: Side, price_pips: int, size_micro: int, *,
                  sell_free_micro: int | None, cash_free_micro: int | None) -> Refusal | None:
    """A SELL needs the shares not already offered (``sell_free_micro``), a BUY the pUSD not
    already committed to open BUYs (``cash_free_micro``); None skips that check."""
    if side is Side.SELL and sell_free_micro is not None and sell_free_micro < size_micro:
        return no_balance()
    if (side is Side.BUY and cash_free_micro is not None
            and cash_free_micro < size_micro * price_pips // PIPS_PER_UNIT):
        return no_balance()
    return None
