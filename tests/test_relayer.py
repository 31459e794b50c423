"""The relayer route of a deposit wallet (``venue.relayer``, ``venue.relayer_sender``): the
Batch digest, signature and WALLET body against the official SDK's (tests/corpus/
sdk_relayer.json, made by tests/corpus/make_sdk_relayer.py) and the simulator's independent
digest; secrets kept out of reprs and errors; the sender's bookkeeping over a scripted client.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import orjson
import pytest
from eth_account import Account

from messages.errors import NotSent, OutcomeUnknown, RelayerRefused
from sim.relayer import batch_digest
from tests.loopback_http import ClosingHTTPServer, free_port
from venue import contracts as c
from venue.calldata import TxCall, merge_call, redeem_calls
from venue.relayer import RelayerClient, RelayState, sign_batch, wallet_body
from venue.relayer_sender import RelayerSender

pytestmark = pytest.mark.timeout(30)
CORPUS = json.loads((Path(__file__).parent / "corpus" / "sdk_relayer.json").read_text())
KEY = "0x" + "31" * 32
OWNER = Account.from_key(KEY).address
WALLET = "0x" + "ab" * 20
API_KEY = "0b5e55ed-5ec2-4e7a-9d00-5ec2e75ec2e7"


def _calls(case: dict[str, Any]) -> list[TxCall]:
    return [TxCall(x["to"], bytes.fromhex(x["data"][2:]), x["value"]) for x in case["calls"]]


# -- against the official SDK ---------------------------------------------------------------------

@pytest.mark.parametrize("case", CORPUS["cases"], ids=lambda k: k["name"])
def test_batch_signature_and_body_match_the_sdk(case: dict[str, Any]) -> None:
    owner = Account.from_key(case["owner_key"])
    args = {"wallet": case["wallet"], "nonce": int(case["nonce"]),
            "deadline": int(case["deadline"]), "calls": _calls(case)}
    digest, signature = sign_batch(owner, **args)
    assert (digest, signature) == (case["digest"], case["signature"])
    body = wallet_body(owner=owner.address, signature=signature, metadata=case["metadata"],
                       **args)
    assert body == case["body"]
    assert json.dumps(body) == json.dumps(case["body"])  # the same keys in the same order
    # The simulator's relayer hashes by hand, without eth-account: a third implementation.
    calls = [(x.to, x.value, x.data) for x in args["calls"]]
    assert "0x" + batch_digest(case["wallet"], args["nonce"], args["deadline"],
                               calls).hex() == case["digest"]


def test_the_corpus_calls_are_the_ones_the_treasury_builds() -> None:
    merge, redeem = CORPUS["cases"][0], CORPUS["cases"][1]
    cid = "0x" + "c2" * 32
    assert _calls(merge) == [merge_call("v1", False, cid, 7_000_000)]
    assert _calls(redeem) == list(redeem_calls("v1", True, cid, (1, 1)))


# -- secrets --------------------------------------------------------------------------------------

class _Echo(BaseHTTPRequestHandler):
    """Answers 400 with the request's relayer API key in the message, as a careless server
    might."""

    def do_GET(self) -> None:
        body = orjson.dumps({"error": f"bad key {self.headers.get('RELAYER_API_KEY')}"})
        self.send_response(400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def echo_url() -> Iterator[str]:
    server = ClosingHTTPServer(("127.0.0.1", 0), _Echo)
    t = threading.Thread(target=server.serve_forever, name="echo-http", daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/relayer"
    finally:
        server.shutdown()
        server.server_close()
        t.join(5)


def test_the_api_key_and_owner_key_never_print(echo_url: str) -> None:
    sender = RelayerSender.connect(echo_url, api_key=API_KEY, api_key_address=None,
                                   private_key=KEY, wallet=WALLET)
    try:
        with pytest.raises(RelayerRefused) as info:
            sender.client.nonce(OWNER)
        text = " ".join((str(info.value), repr(info.value), info.value.message, repr(sender),
                         repr(sender.client), str(vars(sender.client).get("adapter"))))
        assert "bad key ********" in str(info.value)
        assert API_KEY not in text and KEY[2:] not in text and "31" * 8 not in text
    finally:
        sender.close()
    with pytest.raises(ValueError, match="malformed") as bad:
        RelayerSender.connect(echo_url, api_key=API_KEY, api_key_address=None,
                              private_key="0x" + "zz" * 32, wallet=WALLET)
    assert "zz" not in str(bad.value)


# -- the sender over a scripted client ------------------------------------------------------------

class FakeClient:
    def __init__(self) -> None:
        self.nonce_now = 4
        self.submit_errors: list[Exception] = []
        self.states: dict[str, RelayState] = {}
        self.bodies: list[dict[str, Any]] = []

    def nonce(self, owner: str) -> int:
        return self.nonce_now

    def submit(self, body: bytes) -> str:
        self.bodies.append(orjson.loads(body))
        if self.submit_errors:
            raise self.submit_errors.pop(0)
        return f"tx-{len(self.bodies)}"

    def transaction(self, tid: str) -> RelayState:
        return self.states.get(tid, RelayState(tid, "", "STATE_NEW", ""))

    def close(self) -> None:
        pass


def _sender() -> tuple[RelayerSender, FakeClient]:
    client = FakeClient()
    return RelayerSender(client, KEY, wallet=WALLET, clock=lambda: 1_780_000_000.5), \
        client  # type: ignore[arg-type]


CALL = merge_call("v1", False, "0x" + "c2" * 32, 5_000_000)


def test_sign_uses_the_relayers_nonce_and_the_digest_is_the_hash() -> None:
    sender, _ = _sender()
    tx = sender.sign(CALL)
    body = orjson.loads(tx.raw)
    assert (tx.nonce, tx.sender, tx.to, tx.gas) == (4, sender.address, c.CTF_COLLATERAL_ADAPTER, 0)
    assert body["nonce"] == "4" and body["depositWalletParams"]["deadline"] == "1780000600"
    assert tx.tx_hash == "0x" + batch_digest(WALLET, 4, 1_780_000_600,
                                             [(CALL.to, 0, CALL.data)]).hex()
    assert body["from"] == OWNER and sender.relayed


def test_receipt_only_at_a_terminal_state() -> None:
    sender, client = _sender()
    tx = sender.sign(CALL)
    assert sender.receipt(tx.tx_hash) is None  # not submitted yet
    assert sender.submit(tx) == "tx-1" and sender.submit(tx) == "tx-1"  # not posted twice
    assert len(client.bodies) == 1
    for state in ("STATE_NEW", "STATE_EXECUTED", "STATE_MINED"):
        client.states["tx-1"] = RelayState("tx-1", "0x" + "aa" * 32, state, "")
        assert sender.receipt(tx.tx_hash) is None
    client.states["tx-1"] = RelayState("tx-1", "0x" + "aa" * 32, "STATE_CONFIRMED", "")
    r = sender.receipt(tx.tx_hash)
    assert r is not None and r.ok and (r.tx_hash, r.relay_id) == ("0x" + "aa" * 32, "tx-1")
    tx2 = sender.sign(CALL)
    sender.submit(tx2)
    client.states["tx-2"] = RelayState("tx-2", "", "STATE_FAILED", "execution reverted: x")
    r2 = sender.receipt(tx2.tx_hash)
    assert r2 is not None and not r2.ok and r2.error == "execution reverted: x"


def test_a_refusal_after_no_reply_stays_unknown_and_supersession_is_the_nonce() -> None:
    sender, client = _sender()
    tx = sender.sign(CALL)
    client.submit_errors = [OutcomeUnknown("timed out"),
                            RelayerRefused("wallet has in-flight action", retryable=True)]
    with pytest.raises(OutcomeUnknown):
        sender.submit(tx)
    with pytest.raises(OutcomeUnknown, match="may be that one"):
        sender.submit(tx)  # the relayer may be holding our first submit
    assert not sender.superseded(tx)
    client.nonce_now = 5
    assert sender.superseded(tx)
    fresh = sender.sign(CALL)
    client.submit_errors = [RelayerRefused("batch nonce 5 does not match on-chain nonce 6",
                                           retryable=True)]
    with pytest.raises(RelayerRefused):
        sender.submit(fresh)  # never sent before: a plain refusal


def test_the_wallet_cannot_be_the_owner() -> None:
    with pytest.raises(ValueError, match="EoaSender"):
        RelayerSender(FakeClient(), KEY, wallet=OWNER)  # type: ignore[arg-type]


def test_no_listener_is_not_sent() -> None:
    with RelayerClient(f"http://127.0.0.1:{free_port()}/relayer", api_key=API_KEY,
                       api_key_address=OWNER, connect_timeout_s=0.5) as client, \
            pytest.raises(NotSent):
        client.nonce(OWNER)
