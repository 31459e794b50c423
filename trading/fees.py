"""Polymarket's fees (protocol §7.2): the taker fee and a maker rebate
estimate, in integers.

Makers pay no fee. A taker pays ``fee = shares x rate x (p x (1 - p)) ** exponent`` pUSD at the
match price ``p``, rounded half up to 5 decimals (10 micro-pUSD). A BUY
taker pays it on top of the notional; a SELL taker receives the notional minus the fee.

A share (``rebateRate``) of the taker fees collected in a market is paid back, daily, to that
market's makers in proportion to the fee-equivalent of their maker fills.

Pure code: no threads, no clock, no state.
"""

from __future__ import annotations

from dataclasses import dataclass

from messages.ids import PIPS_PER_UNIT
from messages.markets import Market

FEE_STEP_MICRO = 10
"""Fees are rounded to 5 decimals of pUSD: steps of 10 micro-pUSD."""

BPS_PER_UNIT = 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class FeeSchedule:
    """A market's ``feeSchedule``: ``rate`` and ``rebateRate`` as basis points (0.07 → 700,
    0.2 → 2000), ``exponent`` as an integer (crypto markets: ``{1, 0.07, takerOnly, 0.2}``).

    Only the taker-only schedules the protocol describes are modelled: makers never pay.
    """

    rate_bps: int = 0
    exponent: int = 1
    rebate_bps: int = 0

    @classmethod
    def of_market(cls, market: Market, *, exponent: int = 1) -> FeeSchedule:
        """The schedule discovery read from Gamma (``Market`` does not carry the exponent:
        every published schedule has 1)."""
        return cls(rate_bps=market.taker_fee_rate_bps, exponent=exponent,
                   rebate_bps=market.maker_rebate_bps)


NO_FEES = FeeSchedule()


def taker_fee_micro(price_pips: int, size_micro: int, schedule: FeeSchedule) -> int:
    """The fee a taker pays for ``size_micro`` shares matched at ``price_pips``, in micro-pUSD.

    ``size x rate x (p(1 - p)) ** e`` computed exactly in integers, then rounded half up to
    10 micro-pUSD: a fee under 5 micro-pUSD is 0 (the simulated venue charges the same,
    ``sim.chain_state.taker_fee_micro``, and a test holds the two together).

    UNVERIFIED: the research says "rounded to 5 dp, minimum 0.00001 (smaller rounds to 0)"
    without the rounding direction; half up is this function's choice. Only sizes far below
    any market's minimum order reach the difference.
    """
    if size_micro <= 0 or schedule.rate_bps <= 0 or not 0 < price_pips < PIPS_PER_UNIT:
        return 0
    num = size_micro * schedule.rate_bps
    den = BPS_PER_UNIT * FEE_STEP_MICRO
    for _ in range(max(schedule.exponent, 0)):  # (p(1 - p)) ** e, p in pips
        num *= price_pips * (PIPS_PER_UNIT - price_pips)
        den *= PIPS_PER_UNIT * PIPS_PER_UNIT
    return (2 * num + den) // (2 * den) * FEE_STEP_MICRO


def maker_rebate_estimate_micro(fee_equivalent_micro: int, schedule: FeeSchedule) -> int:
    """An estimate of the maker rebate earned by maker fills whose fee-equivalent (the taker
    fee :func:`taker_fee_micro` gives for the same price and size) sums to
    ``fee_equivalent_micro``: ``rebateRate x fee_equivalent``, rounded down.

    The rule (§7.2) pays ``rebateRate x the market's taker fees x our share of the makers'
    fee-equivalent``. Every maker fill has a taker on the other side paying the fee on the same
    shares at the same price, so the market's taker fees equal all makers' fee-equivalent, and
    our rebate is ``rebateRate x our fee-equivalent``. UNVERIFIED: that equality (a sweep's
    taker pays at each maker's price only if the venue charges per maker fill), and the daily
    $1 minimum payout is not applied here.
    """
    if fee_equivalent_micro <= 0 or schedule.rebate_bps <= 0:
        return 0
    return fee_equivalent_micro * schedule.rebate_bps // BPS_PER_UNIT
