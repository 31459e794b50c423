"""The Treasury's sender for a deposit wallet (signature type 3): Batches through the relayer.

``RelayerSender`` fits the Treasury's ``TxSender`` as ``venue.chain_tx.EoaSender`` does, with
the relayer's identifiers in the same places:

* ``sign(call)`` asks the relayer for the wallet's nonce, signs a one-call ``Batch`` with the
  owner's key (deadline now + ``deadline_s``, the SDK's 600 s) and returns a ``SignedTx`` whose
  ``tx_hash`` is the Batch digest (known, and logged, before anything leaves), ``raw`` the
  ``POST /submit`` body, ``nonce`` the Batch nonce, ``sender`` the wallet; gas and fees are 0
  (the relayer pays).
* ``submit(tx)`` posts the body and returns the relayer's ``transactionID``, remembered per
  digest. A re-submit of a batch whose first submit got no reply that the relayer refuses as
  "in flight" or with a later nonce may be that very batch: it stays an unknown outcome
  (``OutcomeUnknown``), and ``superseded`` later tells whether its nonce was used.
* ``receipt(digest)`` polls the transaction: None while pending (``STATE_NEW``/``EXECUTED``/
  ``MINED``), a ``RelayReceipt`` at ``STATE_CONFIRMED`` (ok, with the on-chain hash) or
  ``STATE_FAILED``/``STATE_INVALID`` (not ok, with ``error_msg``).
* ``superseded(tx)``: the wallet's nonce moved past the batch's without it ending.
* ``relayed = True``: the Treasury sends one batch at a time (the relayer refuses a wallet's
  second action while one is in flight, research §10.7).

Limits (UNVERIFIED against the real relayer): the transactionID of a submit that got no reply
is not known, so such a batch, if the relayer did take it, is only ever seen as superseded; a
Treasury then re-plans from the chain's balances.

Thread ownership: the Treasury's thread. The owner key is held by an eth-account
``LocalAccount`` and never formatted; the relayer API key lives in the ``RelayerClient``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
from eth_account import Account

from messages.errors import OutcomeUnknown, RelayerRefused
from venue.calldata import TxCall
from venue.chain_tx import SignedTx
from venue.relayer import (
    STATES_FAILED,
    STATES_OK,
    RelayerClient,
    RelayReceipt,
    checksum,
    sign_batch,
    wallet_body,
)

__all__ = ["RelayerSender"]


class RelayerSender:
    """Signs and relays one-call Batches for one deposit wallet (see the module docstring).

    Args:
        client: the relayer (owned here: ``close`` closes it).
        private_key: the owner EOA's key, ``0x`` + 64 hex; never printed.
        wallet: the deposit wallet (``venue.funder``), whose tokens are merged and redeemed.
        chain_id: the chain of the Batch domain (137).
        deadline_s: how long the relayer may take to execute a batch.
        metadata: the body's free-text ``metadata`` (at most 500 characters).
        clock: Unix seconds (the deadline).
    """

    relayed = True

    def __init__(self, client: RelayerClient, private_key: str, *, wallet: str,
                 chain_id: int = 137, deadline_s: int = 600, metadata: str = "polymm",
                 clock: Callable[[], float] = time.time) -> None:
        try:
            self._account = Account.from_key(private_key)
        except Exception:  # eth-account raises several types; none may quote the key
            raise ValueError("RelayerSender: the private key is malformed") from None
        self.owner: str = self._account.address
        self.address: str = checksum(wallet)
        if self.address.lower() == self.owner.lower():
            raise ValueError("RelayerSender: the wallet is the owner's own address (an EOA "
                             "sends its own transactions: EoaSender)")
        self.client = client
        self.chain_id = chain_id
        self.deadline_s = deadline_s
        self.metadata = metadata
        self._clock = clock
        self._ids: dict[str, str] = {}  # Batch digest -> transactionID
        self._unknown: set[str] = set()  # digests whose submit got no reply

    @classmethod
    def connect(cls, relayer_url: str, *, api_key: str, api_key_address: str | None,
                private_key: str, wallet: str, chain_id: int = 137, timeout_s: float = 5.0,
                connect_timeout_s: float = 2.0) -> RelayerSender:
        """A sender over a new ``RelayerClient`` (``api_key_address`` None: the owner's)."""
        try:
            owner = Account.from_key(private_key).address
        except Exception:
            raise ValueError("RelayerSender: the private key is malformed") from None
        client = RelayerClient(relayer_url, api_key=api_key,
                               api_key_address=api_key_address or owner, timeout_s=timeout_s,
                               connect_timeout_s=connect_timeout_s)
        return cls(client, private_key, wallet=wallet, chain_id=chain_id)

    def __repr__(self) -> str:
        return f"RelayerSender(wallet={self.address!r}, owner={self.owner!r})"

    def close(self) -> None:
        self.client.close()

    def sign(self, call: TxCall) -> SignedTx:
        """A signed one-call Batch with the relayer's current nonce (nothing is submitted).

        Raises:
            VenueError: the nonce route failed (``NotSent``, ``Unauthorized``, ...).
        """
        nonce = self.client.nonce(self.owner)
        deadline = int(self._clock()) + self.deadline_s
        digest, signature = sign_batch(self._account, wallet=self.address, nonce=nonce,
                                       deadline=deadline, calls=[call], chain_id=self.chain_id)
        body = wallet_body(owner=self.owner, wallet=self.address, nonce=nonce,
                           deadline=deadline, calls=[call], signature=signature,
                           metadata=self.metadata)
        return SignedTx(tx_hash=digest, raw=orjson.dumps(body), sender=self.address,
                        to=call.to, nonce=nonce, gas=0, max_fee_per_gas_wei=0,
                        max_priority_fee_wei=0)

    def submit(self, tx: SignedTx) -> str:
        """``POST /submit``; the relayer's ``transactionID``.

        Raises:
            RelayerRefused: the relayer refused it (it did not take effect).
            OutcomeUnknown: no reply, or (after one) a refusal that may be this batch's own.
            VenueError: others (``Unauthorized``, ``RateLimited``, ``ServerError``, ...).
        """
        known = self._ids.get(tx.tx_hash)
        if known is not None:
            return known
        try:
            tid = self.client.submit(tx.raw)
        except OutcomeUnknown:
            self._unknown.add(tx.tx_hash)
            raise
        except RelayerRefused as exc:
            if tx.tx_hash in self._unknown and exc.retryable:
                raise OutcomeUnknown(f"{exc.message} (the earlier submit of this batch got "
                                     "no reply: it may be that one)", code="relayer") from None
            raise
        self._unknown.discard(tx.tx_hash)
        self._ids[tx.tx_hash] = tid
        return tid

    def transaction_id(self, tx_hash: str) -> str:
        """The relayer's id of the batch with digest ``tx_hash`` ("" before its submit)."""
        return self._ids.get(tx_hash, "")

    def receipt(self, tx_hash: str) -> RelayReceipt | None:
        """The batch's end (see the module docstring); None while pending or not submitted."""
        tid = self._ids.get(tx_hash)
        if tid is None:
            return None
        st = self.client.transaction(tid)
        if st.state in STATES_OK:
            ok = True
        elif st.state in STATES_FAILED:
            ok = False
        else:
            return None
        self._ids.pop(tx_hash, None)
        return RelayReceipt(tx_hash=st.transaction_hash, ok=ok, block_number=0, gas_used=0,
                            effective_gas_price_wei=0, relay_id=tid, state=st.state,
                            error=st.error_msg if not ok else "")

    def superseded(self, tx: SignedTx) -> bool:
        """Whether the wallet's nonce moved past ``tx``'s (asked after no end was seen)."""
        return self.client.nonce(self.owner) > tx.nonce
