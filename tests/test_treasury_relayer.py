"""The Treasury for a deposit wallet (signature type 3): merges and redeems relayed as Batches
through the simulated relayer, the wallet's pUSD ending at start + the ledger's cash to the
micro-unit; the constructor's signature-type rules; a relayer refusal counted and retried.
Mirrors tests/test_treasury.py's EOA run against the simulated chain.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account

from actors.treasury import Treasury, TreasuryConfig
from messages import ConditionId, Market, MarketsChanged, TokenId
from messages.errors import ConfigError, RelayerRefused
from messages.treasury import PositionsRedeemed, TxStatus
from sim.process import SimProcess
from tests.builders import OWNER, make_market
from tests.e2e import wait_until
from tests.fakes import Collector, FakeLog
from tests.test_sim_deposit_wallet import deposit_wallet, wallet_order
from tests.test_sim_support import Client, Socket, next_market, start_sim
from tests.test_treasury import (
    FakeChain,
    FakeSender,
    Post,
    fill_all,
    key_of,
    market_of,
    stats_of,
)
from venue import contracts as c
from venue.chain import ChainClient
from venue.relayer_sender import RelayerSender

pytestmark = pytest.mark.timeout(90)
M = 1_000_000
CFG = TreasuryConfig(merge_min_shares=5, interval_s=10)


class RelayedFake(FakeSender):
    relayed = True


@pytest.mark.parametrize(("sig", "sender", "words"), [
    (1, FakeSender(), "supports 0 (EOA) and 3 (deposit wallet), not 1"),
    (2, RelayedFake(), "supports 0 (EOA) and 3 (deposit wallet), not 2"),
    (3, FakeSender(), "signature_type 3: the Treasury needs a RelayerSender"),
    (0, RelayedFake(), "signature_type 0: the Treasury needs an EoaSender"),
])
def test_signature_types_and_senders(sig: int, sender: FakeSender, words: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(words)):
        Treasury(config=CFG, owner=OWNER, sender=sender, chain=FakeChain(), signature_type=sig)


def test_a_relayed_sender_gets_one_action_at_a_time() -> None:
    m1 = make_market()
    m2 = make_market(condition_id=ConditionId("0x" + "cd" * 32),
                     token_ids=(TokenId("3"), TokenId("4")))
    sender, chain = RelayedFake(), FakeChain()
    t = Treasury(config=CFG, owner=OWNER, sender=sender, chain=chain, signature_type=3)
    t.on_receive(MarketsChanged(markets=(m1, m2), added=(), removed=(), ts_recv_ns=0))
    from tests.test_treasury import _trade
    for i, tok in enumerate((*m1.token_ids, *m2.token_ids)):
        t.on_receive(_trade(f"t{i}", tok, 6 * M))
    chain.balances = {int(tok): 6 * M for tok in (*m1.token_ids, *m2.token_ids)}
    t.cycle()
    assert len(sender.signed) == 1  # m2 waits: the relayer takes one batch of a wallet
    t.cycle()
    assert len(sender.signed) == 1
    sender.mine()
    t.cycle()  # m1 booked; m2 goes now
    assert len(sender.signed) == 2 and t.stats()["merged_usd"] == 6.0


def test_a_relayer_refusal_is_refused_counted_and_retried() -> None:
    m = make_market()
    sender, chain, log = RelayedFake(), FakeChain(), FakeLog()
    t = Treasury(config=CFG, owner=OWNER, sender=sender, chain=chain, signature_type=3,
                 event_log=log, clock_s=lambda: 1000.0)
    t.on_receive(MarketsChanged(markets=(m,), added=(), removed=(), ts_recv_ns=0))
    from tests.test_treasury import _trade
    for i, tok in enumerate(m.token_ids):
        t.on_receive(_trade(f"r{i}", tok, 6 * M))
    chain.balances = {int(tok): 6 * M for tok in m.token_ids}
    sender.submit_errors = [RelayerRefused("relayer POST /submit: batch nonce 0 does not match "
                                           "on-chain nonce 1", retryable=True)]
    t.cycle()
    assert [r.status for _, r in log.records] == [TxStatus.SIGNED, TxStatus.REFUSED]
    assert (t.stats()["failed"], t.stats()["pending"]) == (1, 0)  # re-signed after back-off


# -- against the simulated venue, chain and relayer ----------------------------------------------

@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    proc = start_sim("--seed", "29")
    yield proc
    proc.stop()


def wallet_post(bot: Client, wallet: str) -> Post:
    def post(token: str, price: int, size_micro: int) -> None:
        r = bot.call("POST", "/order", wallet_order(bot, wallet, token, "BUY", price, size_micro))
        assert r.status_code == 200, r.text
    return post


def _start(sim: SimProcess, key: str, w: dict[str, Any], owner: str, markets: list[Market]
           ) -> tuple[Any, FakeLog, Collector]:
    log, sink = FakeLog(), Collector()
    config = TreasuryConfig(merge_min_shares=5, interval_s=0.1)
    sender = RelayerSender.connect(sim.base_url + "/relayer", api_key=w["relayer_api_key"],
                                   api_key_address=None, private_key=key, wallet=w["wallet"])
    ref = Treasury.start(config=config, owner=owner, chain=ChainClient(sim.chain_url),
                         sender=sender, signature_type=3, event_log=log, sinks=[sink])
    ref.tell(MarketsChanged(markets=tuple(markets), added=(), removed=(), ts_recv_ns=0))
    return ref, log, sink


def test_a_deposit_wallet_merges_and_redeems_through_the_relayer(sim: SimProcess) -> None:
    key = key_of(0x81)
    w = deposit_wallet(sim, key)
    wallet, owner = w["wallet"], Account.from_key(key).address
    bot = Client(sim, key)
    m1, m2 = market_of(next_market(sim, "btc")), market_of(next_market(sim, "eth"))
    (u1, d1), (u2, d2) = m1.token_ids, m2.token_ids
    user = Socket(sim.ws_url + "/ws/user")
    with ChainClient(sim.chain_url) as chain:
        start = chain.erc20_balance(c.PUSD, wallet)
        owner_start = chain.erc20_balance(c.PUSD, owner)
        ref, log, sink = _start(sim, key, w, bot.creds.api_key, [m1, m2])
        try:
            user.send({"type": "user", "auth": bot.raw_auth(), "markets": []})
            fill_all(sim, wallet_post(bot, wallet), user,
                     [(u1, 4000, 10), (d1, 5500, 7), (u2, 6500, 5), (d2, 3000, 6)], ref.tell)
            wait_until(lambda: stats_of(ref)["merged_usd"] == 12.0 and not stats_of(ref)["pending"],
                       20, "both merges confirmed", explain=lambda: str(stats_of(ref)))
            bal = {t: chain.erc1155_balance(c.CTF, wallet, int(t)) for t in (u1, d1, u2, d2)}
            assert bal == {u1: 3 * M, d1: 0, u2: 0, d2: 1 * M}
            sim.resolve(m1.condition_id, 0)  # Up wins both: 3 Up pay 3, 1 Down pays 0
            sim.resolve(m2.condition_id, 0)
            wait_until(lambda: len(sink.of(PositionsRedeemed)) == 2, 20, "both redeems",
                       explain=lambda: str(stats_of(ref)))
            final = stats_of(ref)
            cash = ref.proxy().cash_micro().get(timeout=10)
        finally:
            ref.stop(timeout=10)
            user.close()
        assert final == {"merged_usd": 12.0, "redeemed_usd": 3.0, "redeemable_left_usd": 0.0,
                         "pending": 0, "failed": 0}
        spent = 4_000_000 + 3_850_000 + 3_250_000 + 1_800_000
        assert cash == -spent + 12 * M + 3 * M
        assert chain.erc20_balance(c.PUSD, wallet) == start + cash  # to the micro-unit
        assert chain.erc20_balance(c.PUSD, owner) == owner_start  # the owner EOA: untouched
        assert all(chain.erc1155_balance(c.CTF, wallet, int(t)) == 0 for t in (u1, d1, u2, d2))
        assert chain.balance_wei(owner) == 10 * 10**18  # no gas paid: the relayer sends
        txs = [r for k, r in log.records if k == "treasury"]
        mined = [r for r in txs if r.status is TxStatus.MINED]
        assert len(mined) == 4 and all(r.to == c.CTF_COLLATERAL_ADAPTER
                                       and r.sender.lower() == wallet
                                       and r.relay_id and r.chain_tx_hash for r in mined)
        assert {r.tx_hash for r in txs if r.status is TxStatus.SIGNED} == \
            {r.tx_hash for r in mined}  # the Batch digests, logged before anything left
        assert all(chain.receipt(r.chain_tx_hash) is not None for r in mined)
        assert [r.status for r in txs] == [TxStatus.SIGNED, TxStatus.SENT, TxStatus.MINED] * 4
        assert {r.relay_id for r in txs if r.status is TxStatus.SENT} == \
            {r.relay_id for r in mined}
    msgs = sink.of(PositionsRedeemed)
    assert {m.tx_hash for m in msgs} <= {r.chain_tx_hash for r in mined}


def test_an_unapproved_wallet_fails_counted_and_retried(sim: SimProcess) -> None:
    key = key_of(0x82)
    w = deposit_wallet(sim, key, approved=False)
    bot = Client(sim, key)
    m = market_of(next_market(sim, "btc"))
    sim.account(w["wallet"], approved=True)  # to trade; the adapter stays unapproved below
    user = Socket(sim.ws_url + "/ws/user")
    ref, log, _ = _start(sim, key, w, bot.creds.api_key, [m])
    try:
        user.send({"type": "user", "auth": bot.raw_auth(), "markets": []})
        fill_all(sim, wallet_post(bot, w["wallet"]), user,
                 [(m.token_ids[0], 4000, 5), (m.token_ids[1], 5500, 5)], ref.tell)
        sim.account(w["wallet"], approved=False)
        wait_until(lambda: stats_of(ref)["failed"] >= 1, 20, "a failed merge")
        failed = [r for k, r in log.records if k == "treasury" and r.status is TxStatus.REVERTED]
        assert failed and "need operator approval" in failed[0].error and failed[0].relay_id
        assert ref.is_alive() and stats_of(ref)["merged_usd"] == 0.0
        sim.account(w["wallet"], approved=True)
        wait_until(lambda: stats_of(ref)["merged_usd"] == 5.0, 30, "the merge after approval",
                   explain=lambda: str(stats_of(ref)))
    finally:
        ref.stop(timeout=10)
        user.close()
    assert sim.account(w["wallet"])["positions"] == {}
