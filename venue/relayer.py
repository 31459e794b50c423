"""Polymarket's gasless relayer for deposit wallets (signature type 3), research §10.7.

A deposit wallet is a contract: it cannot sign a Polygon transaction, so its owner EOA signs
an EIP-712 ``Batch(address wallet,uint256 nonce,uint256 deadline,Call[] calls)`` (``Call(address
target,uint256 value,bytes data)``, domain ``{name: "DepositWallet", version: "1", chainId,
verifyingContract: <wallet>}``) and the relayer sends it on chain, paying the gas. This module
has the pieces, each checked against the official SDK (``polymarket-client`` 0.14.0,
tests/corpus/sdk_relayer.json):

* ``batch_typed_data`` / ``sign_batch``: the typed data and the owner's signature (eth-account
  ``encode_typed_data``); the digest is the identifier a Treasury logs before anything leaves.
* ``wallet_body``: the ``POST /submit`` body of type ``WALLET``, keys as the SDK writes them.
* ``RelayerClient``: the routes (nonce, submit, poll, deployed) over the project's one HTTP
  stack (a ``requests.Session`` whose only adapter is ``venue.keepalive.KeepAliveAdapter``, as
  ``venue.chain.ChainClient`` builds it), with the relayer API key headers
  (``RELAYER_API_KEY``, ``RELAYER_API_KEY_ADDRESS``).

Errors (``messages.errors``): 400 → ``RelayerRefused`` (``retryable`` for "wallet busy", "in-flight
action" and "batch nonce N does not match on-chain nonce M"); 401 → ``Unauthorized``; 429 →
``RateLimited``; 5xx → ``ServerError``; a reply we cannot read → ``BadReply``; no reply →
``NotSent`` or ``OutcomeUnknown`` (``venue.rest_call.no_reply``). Nothing is retried here. The
API key is never in a repr, a log line or an exception (a message that quotes it is masked).

The Treasury's sender over this client is ``venue.relayer_sender.RelayerSender``.

Thread ownership: one caller thread at a time (the Treasury's, or pre-flight's on the main
thread); the adapter's lock serialises any others. No threads of its own.
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
import requests
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from messages.errors import BadReply, InvalidHeartbeat, PolymmError, RelayerRefused
from venue.calldata import TxCall
from venue.chain import Receipt
from venue.eip712 import checksum_address
from venue.keepalive import KeepAliveAdapter, new_session
from venue.rest_call import no_reply, prepared
from venue.rest_errors import error_from_response

__all__ = ["DEPOSIT_WALLET_FACTORY", "RELAYER_URL", "RelayReceipt", "RelayState",
           "RelayerClient", "batch_typed_data", "checksum", "sign_batch", "wallet_body"]

RELAYER_URL = "https://relayer-v2.polymarket.com"
DEPOSIT_WALLET_FACTORY = "0x00000000000Fb5C9ADea0298D729A0CB3823Cc07"
"""The ``to`` of every WALLET body (SDK 0.14.0 ``environments.py``)."""
STATES_OK = frozenset(("STATE_CONFIRMED",))
STATES_FAILED = frozenset(("STATE_FAILED", "STATE_INVALID"))
"""Terminal states (SDK ``poll.py``); every other state (NEW, EXECUTED, MINED) is pending."""
_MASK = "********"
_RETRYABLE = re.compile(r"wallet busy.*active action|wallet has in-flight action|"
                        r"batch nonce\s+\d+\s+does not match on-chain nonce\s+\d+", re.I)
_NO_PROXIES: dict[str, str] = {}
_CALL_FIELDS = [{"name": "target", "type": "address"}, {"name": "value", "type": "uint256"},
                {"name": "data", "type": "bytes"}]
_BATCH_FIELDS = [{"name": "wallet", "type": "address"}, {"name": "nonce", "type": "uint256"},
                 {"name": "deadline", "type": "uint256"}, {"name": "calls", "type": "Call[]"}]
_DOMAIN_FIELDS = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                  {"name": "chainId", "type": "uint256"},
                  {"name": "verifyingContract", "type": "address"}]


def checksum(address: str) -> str:
    """``address`` in EIP-55 case; ``ValueError`` unless it is ``0x`` + 40 hex."""
    raw = address[2:] if address[:2] in ("0x", "0X") else ""
    if len(raw) != 40:
        raise ValueError(f"not an address: {address!r:.50}")
    return checksum_address(bytes.fromhex(raw))


def batch_typed_data(*, wallet: str, nonce: int, deadline: int, calls: Sequence[TxCall],
                     chain_id: int = 137) -> dict[str, Any]:
    """The EIP-712 ``Batch`` of ``calls`` for ``wallet``, as eth-account's ``full_message``."""
    return {
        "domain": {"chainId": chain_id, "name": "DepositWallet",
                   "verifyingContract": checksum(wallet), "version": "1"},
        "types": {"EIP712Domain": _DOMAIN_FIELDS, "Batch": _BATCH_FIELDS, "Call": _CALL_FIELDS},
        "primaryType": "Batch",
        "message": {"wallet": checksum(wallet), "nonce": nonce, "deadline": deadline,
                    "calls": [{"target": checksum(c.to), "value": c.value, "data": c.data}
                              for c in calls]},
    }


def sign_batch(owner: LocalAccount, *, wallet: str, nonce: int, deadline: int,
               calls: Sequence[TxCall], chain_id: int = 137) -> tuple[str, str]:
    """``(digest, signature)`` of the Batch, both ``0x`` hex: the owner's plain 65-byte
    EIP-712 signature (an owner signs unwrapped; only session keys wrap, SDK ``wallet.py``)."""
    signable = encode_typed_data(full_message=batch_typed_data(
        wallet=wallet, nonce=nonce, deadline=deadline, calls=calls, chain_id=chain_id))
    signed = owner.sign_message(signable)
    return "0x" + bytes(signed.message_hash).hex(), "0x" + bytes(signed.signature).hex()


def wallet_body(*, owner: str, wallet: str, nonce: int, deadline: int, calls: Sequence[TxCall],
                signature: str, metadata: str = "") -> dict[str, Any]:
    """The ``POST /submit`` body of type ``WALLET`` (keys and order as the SDK's
    ``build_deposit_wallet_payload``; numbers as decimal strings)."""
    if len(metadata) > 500:
        raise ValueError("relayer metadata: at most 500 characters")
    return {
        "type": "WALLET", "from": checksum(owner), "to": DEPOSIT_WALLET_FACTORY,
        "nonce": str(nonce), "signature": signature, "metadata": metadata,
        "depositWalletParams": {
            "depositWallet": checksum(wallet), "deadline": str(deadline),
            "calls": [{"target": checksum(c.to), "value": str(c.value),
                       "data": "0x" + c.data.hex()} for c in calls]},
    }


@dataclass(frozen=True, slots=True)
class RelayState:
    """``GET /v1/account/transactions/<id>``: where a relayed transaction is."""

    transaction_id: str
    transaction_hash: str
    state: str
    error_msg: str

    @property
    def terminal(self) -> bool:
        return self.state in STATES_OK or self.state in STATES_FAILED


@dataclass(frozen=True, slots=True)
class RelayReceipt(Receipt):
    """A relayed transaction's end: ``ok`` at ``STATE_CONFIRMED``, not ok at
    ``STATE_FAILED``/``STATE_INVALID`` (with the relayer's ``error``). ``tx_hash`` is the
    on-chain hash (empty if it never got one); the poll route says nothing of block or gas,
    so those are 0."""

    relay_id: str = ""
    state: str = ""
    error: str = ""


def _str(obj: dict[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadReply(f"relayer {what}: {key} is not a string")
    return value


class RelayerClient:
    """The relayer's routes over one keep-alive connection.

    Args:
        base_url: ``http(s)://host[:port][/prefix]`` (Polymarket's is ``RELAYER_URL``; the
            simulated venue's ``<sim base>/relayer``).
        api_key: the relayer API key (polymarket.com → Settings → API Keys); never printed.
        api_key_address: the address the key was created for (the owner EOA).
        timeout_s, connect_timeout_s, ssl_context: as ``venue.chain.ChainClient``'s.
    """

    def __init__(self, base_url: str, *, api_key: str, api_key_address: str,
                 timeout_s: float = 5.0, connect_timeout_s: float = 2.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise PolymmError("venue.relayer_url: expected an http(s) URL")
        if not api_key:
            raise PolymmError("venue.relayer_api_key: empty")
        self._base = base_url.rstrip("/")
        self._key = api_key
        self.api_key_address = checksum(api_key_address)
        self._headers = {"Content-Type": "application/json", "Accept": "application/json",
                         "User-Agent": "polymm/0.1", "RELAYER_API_KEY": api_key,
                         "RELAYER_API_KEY_ADDRESS": self.api_key_address}
        self.adapter = KeepAliveAdapter(base_url, connect_timeout_s=connect_timeout_s,
                                        timeout_s=timeout_s, ssl_context=ssl_context)
        self.session = new_session(self.adapter)

    def __repr__(self) -> str:
        return f"RelayerClient({self.adapter.origin!r}, address={self.api_key_address!r})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> RelayerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _mask(self, text: str) -> str:
        return text.replace(self._key, _MASK)

    def request(self, method: str, route: str, query: dict[str, str] | None = None,
                body: bytes | None = None) -> dict[str, Any]:
        """One request; the reply's JSON object."""
        url = self._base + route + ("?" + urlencode(query) if query else "")
        where = f"relayer {method} {route}"
        try:
            reply = self.session.send(prepared(method, url, self._headers, body),
                                      allow_redirects=False, proxies=_NO_PROXIES)
        except requests.RequestException as exc:
            raise no_reply(method, f"relayer {route}", exc) from exc
        if not 200 <= reply.status_code < 300:
            err = error_from_response(reply.status_code, reply.content,
                                      reply.headers.get("Retry-After"), now_s=int(time.time()),
                                      reason_phrase=reply.reason)
            text = self._mask(err.message)[:300]
            if reply.status_code == 400:
                raise RelayerRefused(f"{where}: {text}",
                                     retryable=bool(_RETRYABLE.search(text)))
            if isinstance(err, InvalidHeartbeat):  # a CLOB shape: never from the relayer
                raise BadReply(f"{where}: {text}", status=reply.status_code)
            raise type(err)(f"{where}: {text}", status=err.status,
                            retry_after_s=err.retry_after_s, code=err.code)
        try:
            obj = orjson.loads(reply.content)
        except orjson.JSONDecodeError:
            raise BadReply(f"{where}: reply is not JSON", status=reply.status_code) from None
        if not isinstance(obj, dict):
            raise BadReply(f"{where}: reply is not a JSON object", status=reply.status_code)
        return obj

    def nonce(self, owner: str) -> int:
        """The deposit wallet's next ``Batch`` nonce (asked by its owner's address)."""
        obj = self.request("GET", "/v1/account/transactions/params",
                           {"address": checksum(owner), "type": "WALLET"})
        n = obj.get("nonce")
        if not isinstance(n, str) or not n.isdigit() or not n.isascii():
            raise BadReply("relayer GET /v1/account/transactions/params: no decimal nonce")
        return int(n)

    def submit(self, body: bytes) -> str:
        """``POST /submit`` of a built body (``wallet_body``, as JSON bytes): the relayer's
        ``transactionID``."""
        obj = self.request("POST", "/submit", body=body)
        tid = _str(obj, "transactionID", "POST /submit")
        if not tid:
            raise BadReply("relayer POST /submit: no transactionID")
        return tid

    def transaction(self, transaction_id: str) -> RelayState:
        """``GET /v1/account/transactions/<id>``."""
        if not transaction_id or "/" in transaction_id or "?" in transaction_id:
            raise ValueError("relayer transaction id: malformed")
        what = "GET /v1/account/transactions/<id>"
        obj = self.request("GET", f"/v1/account/transactions/{transaction_id}")
        state = _str(obj, "state", what)
        if not state.startswith("STATE_"):
            raise BadReply(f"relayer {what}: state {state!r:.40}")
        return RelayState(transaction_id=_str(obj, "transaction_id", what) or transaction_id,
                          transaction_hash=_str(obj, "transaction_hash", what).lower(),
                          state=state, error_msg=self._mask(_str(obj, "error_msg", what))[:300])

    def deployed(self, wallet: str) -> bool:
        """``GET /deployed``: whether the deposit wallet exists on chain."""
        obj = self.request("GET", "/deployed", {"address": checksum(wallet), "type": "WALLET"})
        got = obj.get("deployed")
        if not isinstance(got, bool):
            raise BadReply("relayer GET /deployed: no deployed flag")
        return got
