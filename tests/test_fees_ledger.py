"""Fees in the bot's ledger match the venue's on real fills at the simulated venue.

Two accounts trade at the sim: a maker rests post-only BUYs of Up, a taker crosses them with
BUYs of Down (the complement: the match mints a set). The taker's trades, read back through
``GET /data/trades`` as the bot reads them at start-up, go into ``trading.positions.Positions``
with the market's ``feeSchedule`` from Gamma; its cash (notional plus the taker fee) must be
the change of its pUSD on the sim's chain to the micro-unit, and the maker's change must carry
no fee. ``trading.fees`` and the sim's own fee function also agree everywhere on a grid.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.harness import Account, clear_book, new_account, open_market
from messages import Market, Side
from sim.chain_state import taker_fee_micro as sim_taker_fee_micro
from sim.process import SimProcess
from tests.e2e import wait_until
from tests.test_sim_support import start_sim
from trading.fees import FeeSchedule, taker_fee_micro
from trading.positions import Positions
from venue.orders import Order, exchange_for, limit_order_amounts_int, order_body
from venue.trades import our_trades

CRYPTO = FeeSchedule(rate_bps=700, exponent=1, rebate_bps=2000)


@given(size=st.integers(1, 10**12), price=st.integers(1, 9999))
def test_the_bots_fee_is_the_venues(size: int, price: int) -> None:
    assert taker_fee_micro(price, size, CRYPTO) == sim_taker_fee_micro(size, price)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    proc = start_sim("--seed", "43", "--window-seconds", "900", "--assets", "btc",
                     "--noise-rate", "0")
    yield proc
    proc.stop()


def _post(acct: Account, market: Market, token: int, price_pips: int, size_micro: int, *,
          post_only: bool) -> None:
    exchange, domain = exchange_for(market.version, market.neg_risk)
    maker_amt, taker_amt = limit_order_amounts_int(Side.BUY, price_pips, size_micro,
                                                   market.tick_pips,
                                                   min_size_micro=market.min_size_micro)
    addr = acct.signer.address
    order = Order.create(maker=addr, signer=addr, token_id=market.token_ids[token],
                         maker_amount=maker_amt, taker_amount=taker_amt, side=0,
                         timestamp_ms=time.time_ns() // 1_000_000)
    _, sig = acct.signer.sign_with_hash(order, exchange=exchange, domain_version=domain)
    acct.client.post_order(order_body(order, sig, owner=acct.creds.api_key,
                                      post_only=post_only))


def _ledger(acct: Account, market: Market, n_trades: int) -> Positions:
    """The account's trades at the venue, once ``n_trades`` are CONFIRMED (settled on chain),
    booked as the bot books them."""
    events = wait_until(
        lambda: (lambda evs: evs if sum(e.status.value == "CONFIRMED" for e in evs)
                 >= n_trades else None)(our_trades(acct.client, acct.creds.api_key)),
        30, f"{n_trades} confirmed trades")
    pos = Positions("self")  # our_trades maps our API key to "self", as the user feed does
    pos.set_fee_schedule(market.condition_id, FeeSchedule.of_market(market))
    for ev in events:
        pos.apply(ev)
    return pos


def test_taker_fees_in_the_ledger_are_what_the_venue_charged(sim: SimProcess) -> None:
    market = open_market(sim.base_url, min_left_s=30)
    clear_book(sim.base_url, market)  # the sim's own resting liquidity out of the way
    assert (market.taker_fee_rate_bps, market.maker_rebate_bps) == (700, 2000)
    maker, taker = new_account(sim.base_url, seed=51), new_account(sim.base_url, seed=52)
    try:
        start = {a.signer.address: sim.account(a.signer.address)["pusd_micro"]
                 for a in (maker, taker)}
        # Two rests at .40 and .37 (Up); the taker's BUYs of Down at .60 and .65 cross them at
        # the makers' prices (Down at .60 and .63), 7.77 and 12.5 shares.
        _post(maker, market, 0, 4000, 7_770_000, post_only=True)
        _post(maker, market, 0, 3700, 12_500_000, post_only=True)
        _post(taker, market, 1, 6000, 7_770_000, post_only=False)
        _post(taker, market, 1, 6500, 12_500_000, post_only=False)
        t_pos, m_pos = _ledger(taker, market, 2), _ledger(maker, market, 2)
        t_delta = sim.account(taker.signer.address)["pusd_micro"] - start[taker.signer.address]
        m_delta = sim.account(maker.signer.address)["pusd_micro"] - start[maker.signer.address]
    finally:
        maker.close()
        taker.close()
    fees = taker_fee_micro(6000, 7_770_000, CRYPTO) + taker_fee_micro(6300, 12_500_000, CRYPTO)
    assert t_pos.fees_micro == fees > 0
    assert t_pos.cash_micro() == t_delta == -(7_770_000 * 6000 + 12_500_000 * 6300) // 10_000 \
        - fees
    assert m_pos.fees_micro == 0 and m_pos.cash_micro() == m_delta
    assert m_pos.rebate_estimate_micro() == fees * 2000 // 10_000
