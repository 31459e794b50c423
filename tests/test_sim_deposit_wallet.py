"""Deposit wallets (signature type 3) on the simulated venue: its CLOB takes their orders only
when maker = signer = a wallet of the API key's owner and the ERC-7739 signature verifies; its
relayer stand-in refuses what the relayer refuses and runs batches through the chain's
contract code; the bot's ``RelayerClient`` reads every answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from eth_account import Account

from messages.errors import RelayerRefused, Unauthorized
from messages.ids import Side
from sim.process import SimProcess
from tests.e2e import wait_until
from tests.test_sim_support import Client, next_market, start_sim
from venue import contracts as c
from venue.calldata import TxCall, merge_call, redeem_calls, set_approval_for_all
from venue.orders import Order, OrderSigner, exchange_for, limit_order_amounts_int, order_body
from venue.relayer import RelayerClient, RelayState, sign_batch, wallet_body
from venue.relayer_sender import RelayerSender

pytestmark = pytest.mark.timeout(60)
M = 1_000_000


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    # Batches stay STATE_NEW for 1 s: long enough that a second submit meets the first.
    proc = start_sim("--seed", "31", "--mined-delay-ms", "1000", "--confirmed-delay-ms", "1200")
    yield proc
    proc.stop()


def _key(n: int) -> str:
    return "0x" + f"{n:02x}" * 32


def deposit_wallet(sim: SimProcess, owner_key: str, **flags: bool) -> dict[str, Any]:
    """``POST /_sim/deposit-wallet``: the owner's wallet and relayer API key."""
    reply: dict[str, Any] = sim._request("POST", "/_sim/deposit-wallet",
                                         {"owner": Account.from_key(owner_key).address, **flags})
    return reply


def wallet_order(client: Client, wallet: str, token: str, side: str, price_pips: int,
                 size_micro: int, *, sign_key: str | None = None, maker: str | None = None,
                 plain: bool = False) -> bytes:
    """A post-only ``POST /order`` body of ``wallet`` (signature type 3) on a v1 market,
    signed by the client's key (or ``sign_key``); ``plain``: an EOA-style signature."""
    maker_amt, taker_amt = limit_order_amounts_int(Side(side), price_pips, size_micro, 100)
    order = Order.create(maker=maker or wallet, signer=wallet, token_id=token,
                         maker_amount=maker_amt, taker_amount=taker_amt,
                         side=0 if side == "BUY" else 1, signature_type=3,
                         timestamp_ms=time.time_ns() // 1_000_000)
    exchange, domain = exchange_for("v1", False)
    signer = OrderSigner(sign_key) if sign_key else client.signer
    _, sig = signer.sign_with_hash(order, exchange=exchange, domain_version=domain)
    if plain:
        sig = sig[:132]  # the inner signature alone, without the ERC-7739 wrapping
    return order_body(order, sig, owner=client.creds.api_key, post_only=True)


# -- the CLOB --------------------------------------------------------------------------------------

def test_a_wallet_order_is_accepted_and_its_fill_lands_in_the_wallet(sim: SimProcess) -> None:
    key = _key(0x41)
    w = deposit_wallet(sim, key)
    bot = Client(sim, key)
    token = next_market(sim, "btc")["token_ids"][0]
    sim.take(token, "BUY", "0.99", "1000000")  # nothing rests on the book
    sim.take(token, "SELL", "0.01", "1000000")
    r = bot.call("POST", "/order", wallet_order(bot, w["wallet"], token, "BUY", 4000, 10 * M))
    assert r.status_code == 200, r.text
    assert sim.take(token, "SELL", "0.40", "10")["trade_id"]
    wait_until(lambda: sim.account(w["wallet"])["positions"].get(token) == 10 * M, 10,
               "the fill mined to the wallet")
    assert sim.account(w["wallet"])["pusd_micro"] == 100_000 * M - 4 * M
    owner = sim.account(Account.from_key(key).address)
    assert owner["positions"] == {} and owner["pusd_micro"] == 100_000 * M
    # The CLOB's cached balance is empty for a deposit wallet, as the research reports.
    got = bot.call("GET", "/balance-allowance", params={"asset_type": "COLLATERAL",
                                                       "signature_type": "3"}).json()
    assert got["balance"] == "0"


@pytest.mark.parametrize(("case", "error"), [
    ("another owner's wallet", "the order signer address has to be the address of the API KEY"),
    ("signed by another key", "Invalid order payload"),
    ("no ERC-7739 wrapping", "Invalid order payload"),
    ("maker is not the wallet", "Invalid order payload"),
    ("not a wallet", "the order signer address has to be the address of the API KEY"),
])
def test_wallet_orders_are_refused(sim: SimProcess, case: str, error: str) -> None:
    key = _key(0x42)
    w = deposit_wallet(sim, key)["wallet"]
    other = deposit_wallet(sim, _key(0x43))["wallet"]
    bot = Client(sim, key)
    token = next_market(sim, "eth")["token_ids"][1]
    kw: dict[str, Any] = {
        "another owner's wallet": {"wallet": other},
        "signed by another key": {"sign_key": _key(0x43)},
        "no ERC-7739 wrapping": {"plain": True},
        "maker is not the wallet": {"maker": Account.from_key(key).address},
        "not a wallet": {"wallet": "0x" + "5a" * 20},
    }[case]
    body = wallet_order(bot, kw.pop("wallet", w), token, "BUY", 3000, 10 * M, **kw)
    r = bot.call("POST", "/order", body)
    assert r.status_code == 400 and r.json() == {"error": error}, r.text


def test_a_tampered_contents_hash_is_refused(sim: SimProcess) -> None:
    key = _key(0x44)
    w = deposit_wallet(sim, key)["wallet"]
    bot = Client(sim, key)
    token = next_market(sim, "btc")["token_ids"][1]
    env = orjson.loads(wallet_order(bot, w, token, "BUY", 3000, 10 * M))
    sig = env["order"]["signature"]
    env["order"]["signature"] = sig[:2 + 194] + "00" * 32 + sig[2 + 194 + 64:]
    r = bot.call("POST", "/order", orjson.dumps(env))
    assert r.status_code == 400 and r.json() == {"error": "Invalid order payload"}


# -- the relayer stand-in --------------------------------------------------------------------------

def _client(sim: SimProcess, w: dict[str, Any], api_key: str | None = None) -> RelayerClient:
    return RelayerClient(sim.base_url + "/relayer", api_key=api_key or w["relayer_api_key"],
                         api_key_address=w["owner"])


def _state(client: RelayerClient, tid: str, *states: str) -> RelayState:
    got: list[RelayState] = []

    def done() -> bool:
        got.append(client.transaction(tid))
        return got[-1].state in states

    wait_until(done, 10, f"transaction {tid} in {states}", explain=lambda: str(got[-1:]))
    return got[-1]


def _body(w: dict[str, Any], key: str, calls: list[TxCall], *, nonce: int = 0,
          deadline: int | None = None) -> bytes:
    deadline = deadline or int(time.time()) + 600
    owner = Account.from_key(key)
    _, sig = sign_batch(owner, wallet=w["wallet"], nonce=nonce, deadline=deadline, calls=calls)
    return orjson.dumps(wallet_body(owner=w["owner"], wallet=w["wallet"], nonce=nonce,
                                    deadline=deadline, calls=calls, signature=sig))


APPROVE = TxCall(c.CTF, set_approval_for_all(c.CTF_COLLATERAL_ADAPTER, True))


@pytest.mark.parametrize(("case", "error"), [
    ("bad signature", "invalid signature: the batch is not signed by from"),
    ("bad nonce", "batch nonce 3 does not match on-chain nonce 0"),
    ("blocked target", "call blocked: call[0] blocked: calls to "
                       "0xada100874d00e3331d00f2007a9c336a65009718 are not permitted"),
    ("deadline passed", "has passed"),
    ("another owner's wallet", "is not owned by"),
])
def test_relayer_refusals(sim: SimProcess, case: str, error: str) -> None:
    key = _key(0x45)
    w = deposit_wallet(sim, key)
    retired = TxCall("0xADa100874d00e3331D00F2007a9c336a65009718", APPROVE.data)
    body = {
        "bad signature": lambda: _body(w, _key(0x46), [APPROVE]),
        "bad nonce": lambda: _body(w, key, [APPROVE], nonce=3),
        "blocked target": lambda: _body(w, key, [retired]),
        "deadline passed": lambda: _body(w, key, [APPROVE], deadline=1_700_000_000),
        "another owner's wallet": lambda: _body(
            {**w, "wallet": deposit_wallet(sim, _key(0x46))["wallet"]}, key, [APPROVE]),
    }[case]()
    with _client(sim, w) as client:
        with pytest.raises(RelayerRefused) as info:
            client.submit(body)
        assert error in info.value.message and info.value.status == 400
        assert info.value.retryable == (case == "bad nonce")
        assert client.nonce(w["owner"]) == 0  # nothing took effect


def test_relayer_auth(sim: SimProcess) -> None:
    key = _key(0x47)
    w = deposit_wallet(sim, key)
    with _client(sim, w, api_key="0b5e55ed-0000-4000-8000-000000000000") as client:
        with pytest.raises(Unauthorized):
            client.nonce(w["owner"])
        with pytest.raises(Unauthorized):
            client.submit(_body(w, key, [APPROVE]))
    other = deposit_wallet(sim, _key(0x48))  # a valid key, for another address
    with RelayerClient(sim.base_url + "/relayer", api_key=other["relayer_api_key"],
                       api_key_address=other["owner"]) as client, \
            pytest.raises(Unauthorized):
        client.submit(_body(w, key, [APPROVE]))


def test_batches_run_as_the_wallet_or_fail_with_the_contracts_reason(sim: SimProcess) -> None:
    key = _key(0x49)
    w = deposit_wallet(sim, key, approved=False)
    market = next_market(sim, "eth")
    cid = market["condition_id"]
    with _client(sim, w) as client:
        assert client.deployed(w["wallet"]) and not client.deployed(w["owner"])
        # Unapproved: the adapter may not move the wallet's tokens (it holds none, either).
        merge = merge_call("v1", False, cid, 5 * M)
        tid = client.submit(_body(w, key, [merge]))
        st = _state(client, tid, "STATE_FAILED")
        assert "ERC1155: need operator approval" in st.error_msg and not st.transaction_hash
        # All or nothing: an approval followed by a merge of tokens it does not hold.
        tid = client.submit(_body(w, key, [APPROVE, merge]))
        assert "insufficient balance" in _state(client, tid, "STATE_FAILED").error_msg
        assert not any(sim.account(w["wallet"])["operators"].values())  # not approved either
        # Approve, then a merge in a second batch while the first is in flight: refused.
        tid = client.submit(_body(w, key, [APPROVE]))
        with pytest.raises(RelayerRefused, match="wallet has in-flight action") as busy:
            client.submit(_body(w, key, [merge], nonce=1))
        assert busy.value.retryable
        st = _state(client, tid, "STATE_CONFIRMED")
        assert st.transaction_hash.startswith("0x") and client.nonce(w["owner"]) == 1
        assert any(v for k, v in sim.account(w["wallet"])["operators"].items()
                   if k.endswith(c.CTF_COLLATERAL_ADAPTER.lower()))
        # A short balance and an unresolved redeem revert; nothing changes, the nonce stays.
        tid = client.submit(_body(w, key, [merge], nonce=1))
        assert "insufficient balance" in _state(client, tid, "STATE_FAILED").error_msg
        (redeem,) = redeem_calls("v1", False, cid, (1, 1))
        tid = client.submit(_body(w, key, [redeem], nonce=1))
        st = _state(client, tid, "STATE_FAILED")
        assert "result for condition not received yet" in st.error_msg
        assert client.nonce(w["owner"]) == 1


def test_the_sender_relays_through_the_stand_in(sim: SimProcess) -> None:
    key = _key(0x4a)
    w = deposit_wallet(sim, key, approved=False)
    sender = RelayerSender.connect(sim.base_url + "/relayer", api_key=w["relayer_api_key"],
                                   api_key_address=None, private_key=key, wallet=w["wallet"])
    try:
        tx = sender.sign(APPROVE)
        tid = sender.submit(tx)
        assert sender.transaction_id(tx.tx_hash) == tid and not sender.superseded(tx)
        r = wait_until(lambda: sender.receipt(tx.tx_hash), 10, "the batch confirmed")
        assert r.ok and r.relay_id == tid and r.tx_hash.startswith("0x")
        assert sender.superseded(tx)  # its nonce is used: a later one is due
    finally:
        sender.close()
