"""Fair value and the price grid: the only place floats are allowed on the way to a quote.

``prob_up`` is the up/down model (design §5): the market resolves Up iff the final reference
price is at or above the price to beat, so with a driftless log-normal reference
P(Up) = Φ(ln(S/K) / (σ√τ)). ``blend_ref`` turns the reference streams into one S. The grid
helpers turn a target price in pips into a valid, non-crossing BUY price and a target size into
a valid order size; every result is an integer, so nothing after this module sees a float.

Pure code: no threads, no clock; time comes in as ``now_ms``.
"""

from __future__ import annotations

import math

from messages.ids import MICRO_PER_UNIT, PIPS_PER_UNIT
from messages.quotes import RefView
from trading.params import RefWeights
from venue.orders import SIZE_STEP_MICRO as SIZE_STEP_MICRO

_NS_PER_MS = 1_000_000


def prob_up(s_e8: int, k_e8: int, sigma_per_sqrt_s: float, tau_s: float) -> float:
    """P(final ≥ K) for a driftless log-normal price now at S, σ per √s, τ seconds to go.

    The degenerate cases (τ ≤ 0, σ ≤ 0, or a non-positive price) are the deterministic limit:
    1.0 if S ≥ K else 0.0, which is also how the market resolves a tie.
    """
    if s_e8 <= 0 or k_e8 <= 0 or tau_s <= 0.0 or not sigma_per_sqrt_s > 0.0:
        return 1.0 if s_e8 >= k_e8 else 0.0
    x = (math.log(s_e8) - math.log(k_e8)) / (sigma_per_sqrt_s * math.sqrt(tau_s))
    # Φ(x) = erfc(-x/√2)/2 keeps full relative precision in the lower tail (1 + erf loses it).
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def blend_ref(ref: RefView, now_ms: int, weights: RefWeights, stale_ms: int) -> int | None:
    """The weighted reference price S in 1e-8 USD, or None when no weighted stream is fresh.

    A stream counts when it has a positive price, was received at most ``stale_ms`` before
    ``now_ms`` and has a positive weight; the weights of the streams that count are
    renormalised to 1.
    """
    now_ns = now_ms * _NS_PER_MS
    limit_ns = stale_ms * _NS_PER_MS
    total_w = 0.0
    acc = 0.0
    for price_e8, recv_ns, w in (
        (ref.binance_e8, ref.binance_recv_ns, weights.binance),
        (ref.chainlink_e8, ref.chainlink_recv_ns, weights.chainlink),
        (ref.twap_e8, ref.twap_recv_ns, weights.twap),
    ):
        if w > 0.0 and price_e8 > 0 and recv_ns > 0 and now_ns - recv_ns <= limit_ns:
            total_w += w
            acc += w * price_e8
    if total_w <= 0.0:
        return None
    return round(acc / total_w)


def floor_to_tick(price_pips: int, tick_pips: int) -> int:
    """The largest multiple of ``tick_pips`` at or below ``price_pips``."""
    return (price_pips // tick_pips) * tick_pips


def buy_price(target_pips: int, tick_pips: int, best_ask_pips: int | None) -> int | None:
    """A post-only BUY price for a target, or None when there is no acceptable one.

    The target is rounded down onto the tick (away from fair: a BUY never pays more than the
    model allows), capped at ``1 - tick`` and moved below the best ask so it cannot cross (the
    ask may sit off the current grid after a tick change, hence the floor rather than
    ``ask - tick``). A price that would fall below ``tick`` is dropped, not raised: raising it
    would pay more than the target.
    """
    price = min(floor_to_tick(target_pips, tick_pips), PIPS_PER_UNIT - tick_pips)
    if best_ask_pips is not None and price >= best_ask_pips:
        price = floor_to_tick(best_ask_pips - 1, tick_pips)
    if price < tick_pips:
        return None
    return price


def order_size(base_micro: int, position_micro: int, max_position_shares: int, taper: bool,
               min_size_micro: int) -> int:
    """The size to quote on one outcome, 0 for none.

    With ``taper`` the size shrinks linearly from ``base_micro`` at a flat position to 0 at
    ``max_position_shares`` on that outcome. The result is rounded down to 0.01 share and is 0
    when below the market's minimum size.
    """
    size = base_micro
    if taper and position_micro > 0:
        max_micro = max_position_shares * MICRO_PER_UNIT
        room = max(max_micro - position_micro, 0)
        size = base_micro * room // max_micro
    size = (size // SIZE_STEP_MICRO) * SIZE_STEP_MICRO
    if size <= 0 or size < min_size_micro:
        return 0
    return size
