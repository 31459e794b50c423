"""Collateral that comes back, end to end: ``bin/polymm run --live`` against the simulated venue
across three window resolutions, once for an EOA (its own Polygon transactions) and once for a
deposit wallet (batches signed by the owner key, through the stand-in relayer).

The bot quotes three fixed 10 s windows (by slug, so nothing new opens after the third) while
the sim's noise traders fill it; the Treasury merges complete sets and redeems each window
once it resolves on chain. At the end nothing is owed (``redeemable_left_usd`` 0, no token
left on chain) and the chain's pUSD is the start balance plus the bot's PnL, to the
micro-unit: the bot's ledger agrees with the venue's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from journal.reader import read_journal
from messages import MarketsChanged, PositionsMerged, PositionsRedeemed
from sim.process import SimProcess
from tests.live_config import REPO, live_config
from tests.test_sim_support import start_sim
from venue.chain import ChainClient
from venue.contracts import CTF

WINDOW_S = 10
SETTLE_S = 10  # after the third window: resolution on chain, the redeem, its receipt

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    proc = start_sim("--seed", "41", "--window-seconds", str(WINDOW_S), "--assets", "btc",
                     "--noise-rate", "20", "--windows-ahead", "4")
    yield proc
    proc.stop()


def _three_windows(now_s: float) -> tuple[list[str], float]:
    """The slugs of the next three windows, and when the third one ends (Unix seconds)."""
    first = (int(now_s) // WINDOW_S + 1) * WINDOW_S
    return ([f"btc-updown-{WINDOW_S}s-{first + i * WINDOW_S}" for i in range(3)],
            first + 3 * WINDOW_S)


def _run_three_windows(sim: SimProcess, tmp: Path, key: str, *, signature_type: int = 0,
                       env_extra: dict[str, str] | None = None) -> tuple[dict, str]:
    slugs, end_s = _three_windows(time.time())
    markets = ", ".join(f"{{slug: {s}, alias: w{i}}}" for i, s in enumerate(slugs))
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYMM_")}
    env.update(POLYMM_PRIVATE_KEY=key, POLYMM_RPC_URL=sim.chain_url, **(env_extra or {}))
    duration = end_s + SETTLE_S - time.time()
    config = live_config(sim, tmp, signature_type=signature_type)
    cmd = [sys.executable, str(REPO / "bin" / "polymm"), "run", "--live", "--config",
           str(config), "--duration", f"{duration:.1f}",
           "--summary", str(tmp / "s.json"),
           "--set", f"event_log.dir={tmp / 'events'}", "--set", "statsd.enabled=false",
           "--set", "discovery.series=[]", "--set", f"discovery.slugs=[{markets}]",
           "--set", "discovery.poll_interval_s=1",
           "--set", "quoter.min_seconds_to_close=2", "--set", "quoter.half_spread_pips=100",
           "--set", "treasury.interval_s=0.5", "--set", "treasury.merge_min_shares=5"]
    done = subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True, text=True,
                          timeout=duration + 90, start_new_session=True)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads((tmp / "s.json").read_text()), done.stderr


def _check_collateral_came_back(sim: SimProcess, tmp: Path, wallet: str, start_micro: int,
                                summary: dict, err: str) -> None:
    after = sim.account(wallet)
    c = summary["collateral"]
    assert summary["fills"] > 0, err[-3000:]
    assert c["pending"] == 0 and c["failed"] == 0, err[-3000:]
    assert c["redeemable_left_usd"] == 0
    records = list(read_journal(tmp / "events"))
    quoted = {m.condition_id for r in records
              if r.kind == "in" and isinstance(r.value, MarketsChanged) for m in r.value.markets}
    assert len(quoted) == 3, err[-3000:]
    with ChainClient(sim.chain_url) as chain:  # all three resolved on chain: the truth
        assert all(chain.payout_denominator(CTF, cid) > 0 for cid in quoted)
    # The Treasury acted: positions left the wallet by merge or redeem. What came back may be
    # nothing (a redeem of a window the bot held only the losing side of pays 0), so the
    # summary's dollars are held to the mined transactions' own payouts, not to "> 0".
    merged = [r.value for r in records if r.kind == "in" and isinstance(r.value, PositionsMerged)]
    redeemed = [r.value for r in records
                if r.kind == "in" and isinstance(r.value, PositionsRedeemed)]
    assert sum(m.amount_micro for m in merged) + sum(
        sum(r.burned_micro) for r in redeemed) > 0, err[-3000:]
    assert round(c["merged_usd"] * 1e6) == sum(m.amount_micro for m in merged)
    assert round(c["redeemed_usd"] * 1e6) == sum(r.payout_micro for r in redeemed)
    assert after["positions"] == {}, "tokens left on chain"
    # Every position is closed: PnL is all cash, and the chain holds exactly that.
    assert summary["pnl"]["unmarked_positions"] == 0
    assert after["pusd_micro"] - start_micro == summary["pnl"]["pnl_micro"]
    assert summary["pnl"]["collateral_usd"] == pytest.approx(
        c["merged_usd"] + c["redeemed_usd"], abs=1e-6)


def test_an_eoa_gets_its_collateral_back_and_its_ledger_agrees_with_the_chain(
        sim: SimProcess, tmp_path: Path) -> None:
    key = "0x" + "71" * 32
    address = str(Account.from_key(key).address)
    start = sim.account(address)["pusd_micro"]
    summary, err = _run_three_windows(sim, tmp_path, key)
    _check_collateral_came_back(sim, tmp_path, address, start, summary, err)


def test_a_deposit_wallet_gets_its_collateral_back_through_the_relayer(
        sim: SimProcess, tmp_path: Path) -> None:
    key = "0x" + "72" * 32
    owner = str(Account.from_key(key).address)
    dw = sim.deposit_wallet(owner)
    wallet, start = dw["wallet"], dw["pusd_micro"]
    owner_before = sim.account(owner)
    summary, err = _run_three_windows(
        sim, tmp_path, key, signature_type=3,
        env_extra={"POLYMM_FUNDER": wallet, "POLYMM_RELAYER_API_KEY": dw["relayer_api_key"]})
    assert "signature type 3" in err
    _check_collateral_came_back(sim, tmp_path, wallet, start, summary, err)
    owner_after = sim.account(owner)  # gasless: the owner EOA pays nothing, holds nothing
    assert (owner_after["pusd_micro"], owner_after["pol_wei"], owner_after["positions"]) == (
        owner_before["pusd_micro"], owner_before["pol_wei"], {})
    assert dw["relayer_api_key"] not in err
