"""The simulated venue's chain: JSON-RPC over a real socket, the node's refusals, the contracts'
effects, positions that follow fills, merge and redeem, and the CLOB's account routes.

The bot's side is its own code (``venue.chain``, ``venue.chain_tx``, ``venue.calldata``); the
simulator decodes with ``eth_abi`` and eth-account, so each test also cross-checks the two.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from eth_account import Account

from messages.errors import ChainError
from sim.chain_exec import Executor, Refused
from sim.chain_state import ChainLedger, taker_fee_micro
from sim.process import SimProcess
from sim.trades import MakerEntry, Trade
from tests.test_sim_support import Client, Socket, next_market, start_sim
from venue import calldata as cd
from venue import contracts as c
from venue.chain import ChainClient
from venue.chain_tx import GWEI, EoaSender, GasCaps

pytestmark = pytest.mark.timeout(60)

CAPS = GasCaps(max_gas=1_000_000, max_fee_per_gas_wei=1000 * GWEI,
               max_priority_fee_wei=100 * GWEI)
START_PUSD = 100_000 * 10**6


def _key(n: int) -> str:
    return "0x" + f"{n:02x}" * 32


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    proc = start_sim("--seed", "21")
    yield proc
    proc.stop()


@pytest.fixture()
def chain(sim: SimProcess) -> Iterator[ChainClient]:
    with ChainClient(sim.chain_url) as client:
        yield client


def _raw(key: str, *, nonce: int, to: str = c.PUSD, data: bytes = b"", chain_id: int = 137,
         tip: int = 30 * GWEI, max_fee: int = 100 * GWEI, gas: int = 100_000) -> bytes:
    tx = {"type": 2, "chainId": chain_id, "nonce": nonce, "to": to, "value": 0, "data": data,
          "gas": gas, "maxPriorityFeePerGas": tip, "maxFeePerGas": max_fee}
    return bytes(Account.from_key(key).sign_transaction(tx).raw_transaction)


def test_accounts_start_funded_and_approved(sim: SimProcess, chain: ChainClient) -> None:
    who = Account.from_key(_key(0x31)).address
    assert chain.chain_id() == 137
    assert chain.erc20_balance(c.PUSD, who) == START_PUSD
    assert chain.balance_wei(who) == 10 * 10**18
    for ap in c.approvals_needed([c.contracts_for("v1", False), c.contracts_for("v1", True),
                                  c.contracts_for("v2", False)]):
        if ap.kind == "erc20":
            assert chain.erc20_allowance(ap.token, who, ap.spender) == c.MAX_UINT256
        else:
            assert chain.is_approved_for_all(ap.token, who, ap.spender) is True
    assert chain.code(who) == b"" and chain.code(c.CTF) != b""
    sim.account(who, funded=False, approved=False, contract=True)
    assert (chain.erc20_balance(c.PUSD, who), chain.balance_wei(who)) == (0, 0)
    assert chain.erc20_allowance(c.PUSD, who, c.EXCHANGE_V2) == 0
    assert chain.is_approved_for_all(c.CTF, who, c.CTF_COLLATERAL_ADAPTER) is False
    assert chain.code(who) != b""
    assert chain.erc20_balance(c.USDC_E, who) == 0
    assert chain.call(who, cd.balance_of(who)) == b""  # no code there: no return data


def test_approve_is_mined_and_pays_gas(chain: ChainClient) -> None:
    sender = EoaSender(chain, _key(0x32), chain_id=137, caps=CAPS)
    tx = sender.send(cd.TxCall(c.PUSD, cd.approve(c.EXCHANGE_V3, 12_345)))
    r = sender.wait(tx.tx_hash, timeout_s=5)
    assert r is not None and r.ok and r.gas_used == 46_000
    assert chain.erc20_allowance(c.PUSD, sender.address, c.EXCHANGE_V3) == 12_345
    assert chain.nonce(sender.address) == 1
    assert chain.balance_wei(sender.address) == 10 * 10**18 - r.fee_wei
    tx = sender.send(cd.TxCall(c.CTF, cd.set_approval_for_all(c.EXCHANGE_V2, False)))
    assert tx.nonce == 1
    assert chain.is_approved_for_all(c.CTF, sender.address, c.EXCHANGE_V2) is False


@pytest.mark.parametrize(("tx", "message"), [
    ({"nonce": 5}, "nonce too high"),
    ({"chain_id": 1}, "invalid chain id"),
    ({"tip": 1 * GWEI}, "gas price below minimum: gas tip cap 1000000000, minimum needed "
                        "25000000000"),
    ({"tip": 25 * GWEI, "max_fee": 29 * GWEI}, "max fee per gas less than block base fee"),
    ({"gas": 20_000}, "intrinsic gas too low"),
    ({"max_fee": 10**20}, "insufficient funds for gas * price + value"),
])
def test_the_node_refuses(chain: ChainClient, tx: dict[str, Any], message: str) -> None:
    key = _key(0x33)
    who = Account.from_key(key).address
    with pytest.raises(ChainError, match=re.escape(message)) as info:
        chain.send_raw(_raw(key, **{"nonce": 0, **tx}))
    assert info.value.rpc_code == -32000
    assert chain.nonce(who) == 0  # refused: not mined


def test_a_reverting_transaction_is_mined_with_status_0(chain: ChainClient) -> None:
    key = _key(0x34)
    who = Account.from_key(key).address
    data = cd.merge_positions("0x" + "ab" * 32, 1)  # a condition nobody prepared
    with pytest.raises(ChainError, match="execution reverted: condition not prepared") as info:
        chain.estimate_gas(sender=who, to=c.CTF_COLLATERAL_ADAPTER, data=data)
    assert info.value.rpc_code == 3 and info.value.data.startswith("0x08c379a0")
    h = chain.send_raw(_raw(key, nonce=0, to=c.CTF_COLLATERAL_ADAPTER, data=data, gas=200_000))
    r = chain.receipt(h)
    assert r is not None and not r.ok and r.gas_used == 200_000
    assert chain.nonce(who) == 1  # the nonce and the gas are spent all the same
    with pytest.raises(ChainError, match="nonce too low"):
        chain.send_raw(_raw(key, nonce=0))


def _wait_mined(user: Socket, n: int) -> None:
    seen: set[str] = set()
    while len(seen) < n:
        event = user.wait_for(lambda e: isinstance(e, dict) and e.get("event_type") == "trade"
                              and e.get("status") == "MINED", timeout=10)
        seen.add(event["id"])


def _clear(sim: SimProcess, token: str) -> None:
    sim.take(token, "BUY", "0.99", "1000000")
    sim.take(token, "SELL", "0.01", "1000000")


def test_positions_follow_fills_then_merge_and_redeem(sim: SimProcess,
                                                      chain: ChainClient) -> None:
    key = _key(0x35)
    bot = Client(sim, key)
    who = bot.signer.address
    m = next_market(sim, "eth")
    cid, (up, down) = m["condition_id"], (int(t) for t in m["token_ids"])
    user = Socket(sim.ws_url + "/ws/user")
    try:
        user.send({"type": "user", "auth": bot.raw_auth(), "markets": []})
        _clear(sim, str(up))
        assert bot.post(str(up), "BUY", 4000)[1].status_code == 200      # 10 Up @ 0.40
        assert bot.post(str(down), "BUY", 5500)[1].status_code == 200    # 10 Down @ 0.55
        sim.take(str(up), "SELL", "0.40", "10")
        sim.take(str(down), "SELL", "0.55", "10")
        _wait_mined(user, 2)
        acct = sim.account(who)
        assert acct["positions"] == {str(up): 10_000_000, str(down): 10_000_000}
        assert acct["pusd_micro"] == START_PUSD - 4_000_000 - 5_500_000  # makers pay no fee
        assert chain.erc1155_balance(c.CTF, who, up) == 10_000_000

        sender = EoaSender(chain, key, chain_id=137, caps=CAPS)
        tx = sender.send(cd.merge_call("v1", False, cid, 6_000_000))
        r = sender.receipt(tx.tx_hash)
        assert r is not None and r.ok
        assert chain.erc20_balance(c.PUSD, who) == START_PUSD - 9_500_000 + 6_000_000
        assert chain.erc1155_balance(c.CTF, who, down) == 4_000_000

        # Redeem before resolution would revert; the CTF with pUSD "succeeds" and pays nothing.
        with pytest.raises(ChainError, match="result for condition not received yet"):
            sender.send(cd.redeem_calls("v1", False, cid, (1, 1))[0])
        assert chain.payout_denominator(c.CTF, cid) == 0
        tx = sender.send(cd.TxCall(c.CTF, cd.redeem_positions(cid)))
        assert sender.receipt(tx.tx_hash).ok  # type: ignore[union-attr]
        assert chain.erc1155_balance(c.CTF, who, up) == 4_000_000

        sim.resolve(cid, 1)  # Down wins
        assert chain.payout_denominator(c.CTF, cid) == 1
        assert [chain.payout_numerator(c.CTF, cid, i) for i in (0, 1)] == [0, 1]
        (call,) = cd.redeem_calls("v1", False, cid, (4_000_000, 4_000_000))
        assert sender.receipt(sender.send(call).tx_hash).ok  # type: ignore[union-attr]
        after = sim.account(who)
        assert after["positions"] == {}
        assert after["pusd_micro"] == START_PUSD - 9_500_000 + 6_000_000 + 4_000_000
    finally:
        user.close()


@pytest.mark.parametrize(("key", "change", "side", "message"), [
    (0x41, {"funded": False}, "BUY", "not enough balance / allowance"),
    (0x42, {"approved": False}, "BUY", "not enough balance / allowance"),
    (0x43, {}, "SELL", "not enough balance / allowance"),  # holds no tokens
    (0x44, {"eoa_allowed": False}, "BUY", "maker address not allowed, please use the deposit "
                                          "wallet flow"),
    (0x45, {"closed_only": True}, "BUY", "address in closed only mode"),
])
def test_the_clob_refuses_orders_the_account_cannot_pay(sim: SimProcess, key: int,
                                                       change: dict[str, Any], side: str,
                                                       message: str) -> None:
    bot = Client(sim, _key(key))
    if change:
        sim.account(bot.signer.address, **change)
    m = next_market(sim, "btc")
    _, r = bot.post(m["token_ids"][0], side, 3000 if side == "BUY" else 9500)
    assert (r.status_code, message in r.json().get("error", "")) == (400, True), r.text


def test_account_routes(sim: SimProcess) -> None:
    bot = Client(sim, _key(0x36))
    assert bot.call("GET", "/auth/api-keys").json() == {"apiKeys": [bot.creds.api_key]}
    assert bot.call("GET", "/auth/ban-status/closed-only").json() == {"closed_only": False}
    q = {"asset_type": "COLLATERAL", "signature_type": "0"}
    body = bot.call("GET", "/balance-allowance", params=q).json()
    assert body["balance"] == str(START_PUSD)
    assert body["allowances"][c.EXCHANGE_V2] == str(c.MAX_UINT256)
    # As the research reports of the venue: right for type 0 only.
    assert bot.call("GET", "/balance-allowance",
                    params={**q, "signature_type": "3"}).json()["balance"] == "0"
    assert bot.call("GET", "/balance-allowance",
                    params={**q, "signature_type": "7"}).status_code == 400
    geo = requests.get(sim.base_url + "/api/geoblock", timeout=5).json()
    assert geo["blocked"] is False and geo["ip"] == "127.0.0.1"
    skewed = time.time() + 300
    sim.skew_clock(300)
    try:
        assert abs(int(requests.get(sim.base_url + "/time", timeout=5).text) - skewed) < 5
    finally:
        sim.skew_clock(0)


def test_rpc_batch_and_unknown_method(sim: SimProcess) -> None:
    r = requests.post(sim.chain_url, json=[
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_mine", "params": []}], timeout=5).json()
    assert r[0]["result"] == "0x89"
    assert r[1]["error"]["code"] == -32601


# -- the ledger without a process -----------------------------------------------------------------

@pytest.mark.parametrize(("size_micro", "price_pips", "fee_micro"), [
    (100_000_000, 5000, 1_750_000),  # protocol §7.2: 100 shares at 0.50 pay $1.75
    (1_000_000, 100, 690),           # 0.000693 → 0.00069
    (10_000, 100, 10),               # 0.00000693 → the minimum 0.00001
    (1_000, 100, 0),                 # below half the minimum: nothing
])
def test_taker_fee(size_micro: int, price_pips: int, fee_micro: int) -> None:
    assert taker_fee_micro(size_micro, price_pips) == fee_micro


def test_a_bot_taker_pays_the_maker_price_and_the_fee() -> None:
    ledger = ChainLedger()
    ledger.register("0x" + "01" * 32, ("11", "22"), "v1", False)
    maker, taker = "0x" + "aa" * 20, "0x" + "bb" * 20
    entry = MakerEntry(order_id="o1", owner="key-a", maker_address=maker, token_id="22",
                       token_index=1, side="BUY", price_pips=6000, matched_micro=10_000_000)
    # The taker BUYs Up against a maker BUYing Down at 0.60: a mint, the taker pays 0.40.
    ledger.settle(Trade(id="t", taker_order_id="o2", condition_id="0x" + "01" * 32,
                        token_id="11", token_index=0, side="BUY", price_pips=4000,
                        size_micro=10_000_000, taker_owner="key-b", taker_address=taker,
                        makers=(entry,), match_s=0))
    assert ledger.snapshot(maker)["positions"] == {"22": 10_000_000}
    assert ledger.account(maker).pusd == START_PUSD - 6_000_000
    assert ledger.snapshot(taker)["positions"] == {"11": 10_000_000}
    assert ledger.account(taker).pusd == START_PUSD - 4_000_000 - taker_fee_micro(
        10_000_000, 4000)


def test_v2_router_merge_and_redeem() -> None:
    ledger = ChainLedger()
    ex = Executor(ledger)
    key = _key(0x37)
    who = Account.from_key(key).address
    cid = "0x" + "5a" * 31 + "00"
    ledger.register(cid, ("101", "102"), "v2", False)
    for t in (101, 102):
        ledger.add_tokens(c.POSITION_MANAGER, who, t, 3_000_000)

    def send(nonce: int, data: bytes) -> bool:
        h = ex.send_raw(_raw(key, nonce=nonce, to=c.ROUTER, data=data, gas=300_000))
        return ledger.receipts[h]["status"] == "0x1"

    assert send(0, cd.router_merge(cid, 1_000_000))
    assert ledger.account(who).pusd == START_PUSD + 1_000_000
    assert not send(1, cd.router_redeem(cid, 0, 2_000_000))  # not resolved yet
    ledger.resolve(cid, 0)
    assert send(2, cd.router_redeem(cid, 0, 2_000_000)) and send(3, cd.router_redeem(cid, 1,
                                                                                      2_000_000))
    assert ledger.account(who).pusd == START_PUSD + 1_000_000 + 2_000_000
    assert ledger.balance(c.POSITION_MANAGER, who, 101) == 0
    with pytest.raises(Refused, match="already known"):
        ex.send_raw(_raw(key, nonce=3, to=c.ROUTER, data=cd.router_redeem(cid, 1, 2_000_000),
                         gas=300_000))
