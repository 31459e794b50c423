"""EOA transactions on Polygon: EIP-1559 (type 2) signed with eth-account, nonce managed, gas
and fees bounded by the caller's caps, receipts polled (research §11.4).

For accounts of signature type 0, the EOA sends merges, redeems and approvals itself and pays
POL for gas. ``EoaSender`` splits a send into ``sign`` (the transaction hash is known before
anything leaves, so it can be written to the event log first) and ``submit``; if the submit
gets no reply (``OutcomeUnknown``) the caller polls ``receipt(hash)`` rather than sending again.

Fees: the tip is the node's ``eth_maxPriorityFeePerGas`` (or, where a provider does not serve
it, the median tip of the last blocks from ``eth_feeHistory``), raised to
``GasCaps.min_priority_fee_wei``. UNVERIFIED (research §11.4): Polygon's bor refused tips below
25 gwei in 2026-05, and PIP-59 may move that floor to the base fee; the default floor is 30
gwei either way. ``maxFeePerGas`` is ``2 * baseFee + tip``, cut to the cap, and a send whose
cap cannot cover ``baseFee + tip`` is refused (``NotSent``): waiting is cheaper than a
transaction stuck in the pool. Gas: the node's estimate plus a margin, refused above
``GasCaps.max_gas`` (gas per adapter merge/redeem is UNVERIFIED, so it is estimated per call,
never assumed).

Nonces: the next nonce is the larger of the node's ``pending`` count and the one after our
last accepted send. After a send whose outcome is unknown, or a "nonce too low" refusal, the
local count is dropped and the node's is read again.

Thread ownership: one owner thread (the Treasury's). The key is held by an eth-account
``LocalAccount`` and never formatted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import sha3
from eth_account import Account

from messages.errors import ChainError, NotSent, OutcomeUnknown
from venue.calldata import TxCall
from venue.chain import ChainClient, Receipt

__all__ = ["GWEI", "TIP_FLOOR_WEI", "EoaSender", "GasCaps", "SignedTx"]

GWEI = 10**9
TIP_FLOOR_WEI = 30 * GWEI
"""Research §11.4: bor's enforced minimum was 25 gwei; clamp at 30 (UNVERIFIED, see above)."""
_METHOD_NOT_FOUND = -32601
_UNSUPPORTED = ("not supported", "unsupported", "does not exist", "not found",
                "not available")


@dataclass(frozen=True, slots=True, kw_only=True)
class GasCaps:
    """Bounds on what one transaction may cost (from config).

    Args:
        max_gas: the most gas one call may use (estimate plus margin).
        max_fee_per_gas_wei: the most paid per gas, base fee and tip together.
        max_priority_fee_wei: the most tip per gas.
        min_priority_fee_wei: the least tip offered (Polygon's floor, see the module doc).
        gas_margin_pct: added to the node's estimate.
    """

    max_gas: int
    max_fee_per_gas_wei: int
    max_priority_fee_wei: int
    min_priority_fee_wei: int = TIP_FLOOR_WEI
    gas_margin_pct: int = 25

    def __post_init__(self) -> None:
        if self.max_gas < 21_000 or self.gas_margin_pct < 0:
            raise ValueError("gas caps: max_gas >= 21000 and gas_margin_pct >= 0")
        if not 0 < self.min_priority_fee_wei <= self.max_priority_fee_wei \
                <= self.max_fee_per_gas_wei:
            raise ValueError("gas caps: 0 < min tip <= max tip <= max fee per gas")


@dataclass(frozen=True, slots=True)
class SignedTx:
    """A signed, not yet submitted transaction; ``tx_hash`` is keccak of ``raw``."""

    tx_hash: str
    raw: bytes
    sender: str
    to: str
    nonce: int
    gas: int
    max_fee_per_gas_wei: int
    max_priority_fee_wei: int

    @property
    def max_cost_wei(self) -> int:
        return self.gas * self.max_fee_per_gas_wei


class EoaSender:
    """Signs and submits type-2 transactions from one EOA (see the module docstring).

    Args:
        chain: the JSON-RPC client.
        private_key: ``0x`` + 64 hex; never printed.
        chain_id: the chain the transactions are for (checked against the node once).
        caps: gas and fee bounds.
    """

    relayed = False
    """It sends its own transactions (the Treasury may have several in flight)."""

    def __init__(self, chain: ChainClient, private_key: str, *, chain_id: int,
                 caps: GasCaps) -> None:
        try:
            self._account = Account.from_key(private_key)
        except Exception:  # eth-account raises several types; none may quote the key
            raise ValueError("EoaSender: the private key is malformed") from None
        self.address: str = self._account.address
        self.chain = chain
        self.chain_id = chain_id
        self.caps = caps
        self._next_nonce: int | None = None
        self._chain_checked = False

    def __repr__(self) -> str:
        return f"EoaSender(address={self.address!r}, chain_id={self.chain_id})"

    def fees(self) -> tuple[int, int]:
        """``(maxFeePerGas, maxPriorityFeePerGas)`` in wei for a transaction now.

        Raises:
            NotSent: the caps cannot pay for inclusion now.
        """
        try:
            tip = self.chain.max_priority_fee()
        except ChainError as exc:
            text = exc.message.lower()
            if exc.rpc_code != _METHOD_NOT_FOUND and not any(
                    w in text for w in _UNSUPPORTED):
                raise
            tips = self.chain.fee_history(5, 50).tips_wei
            tip = sorted(tips)[len(tips) // 2] if tips else 0
        base = self.chain.fee_history(1).next_base_fee_wei
        caps = self.caps
        tip = max(tip, caps.min_priority_fee_wei)
        if tip > caps.max_priority_fee_wei:
            raise NotSent(f"tip {tip / GWEI:g} gwei is above the cap "
                          f"{caps.max_priority_fee_wei / GWEI:g} gwei", code="fees")
        max_fee = min(2 * base + tip, caps.max_fee_per_gas_wei)
        if max_fee < base + tip:
            raise NotSent(f"base fee {base / GWEI:g} gwei + tip {tip / GWEI:g} gwei is above "
                          f"the cap {caps.max_fee_per_gas_wei / GWEI:g} gwei", code="fees")
        return max_fee, tip

    def _nonce(self) -> int:
        pending = self.chain.nonce(self.address, "pending")
        local = self._next_nonce
        return pending if local is None else max(local, pending)

    def sign(self, call: TxCall) -> SignedTx:
        """Estimate, price and sign ``call`` with the next nonce (nothing is sent).

        Raises:
            ChainError: the node says the call would revert (from ``eth_estimateGas``).
            NotSent: the node is on another chain, or gas or fees are above the caps.
        """
        if not self._chain_checked:
            got = self.chain.chain_id()
            if got != self.chain_id:
                raise NotSent(f"the node is on chain {got}, not {self.chain_id}", code="chain")
            self._chain_checked = True
        estimate = self.chain.estimate_gas(sender=self.address, to=call.to, data=call.data,
                                           value=call.value)
        gas = estimate * (100 + self.caps.gas_margin_pct) // 100
        if gas > self.caps.max_gas:
            raise NotSent(f"gas {gas} (estimate {estimate}) is above the cap "
                          f"{self.caps.max_gas}", code="gas")
        max_fee, tip = self.fees()
        nonce = self._nonce()
        signed = self._account.sign_transaction({
            "type": 2, "chainId": self.chain_id, "nonce": nonce, "to": call.to,
            "value": call.value, "data": call.data, "gas": gas,
            "maxPriorityFeePerGas": tip, "maxFeePerGas": max_fee})
        raw = bytes(signed.raw_transaction)
        return SignedTx(tx_hash="0x" + sha3.keccak_256(raw).hexdigest(), raw=raw,
                        sender=self.address, to=call.to, nonce=nonce, gas=gas,
                        max_fee_per_gas_wei=max_fee, max_priority_fee_wei=tip)

    def submit(self, tx: SignedTx) -> str:
        """``eth_sendRawTransaction``; the hash. A node that already holds it counts as sent.

        Raises:
            OutcomeUnknown: no reply; poll ``receipt(tx.tx_hash)`` before anything else.
            ChainError: the node refused it (nonce, funds, fees): it is not in the pool.
        """
        try:
            got = self.chain.send_raw(tx.raw)
        except OutcomeUnknown:
            self._next_nonce = None  # it may or may not hold this nonce now: ask the node
            raise
        except ChainError as exc:
            text = exc.message.lower()
            if "already known" in text or "known transaction" in text:
                got = tx.tx_hash
            else:
                if "nonce" in text:
                    self._next_nonce = None
                raise
        if got != tx.tx_hash:
            raise ChainError(f"rpc eth_sendRawTransaction: the node answered hash {got}, "
                             f"not {tx.tx_hash}", rpc_code=0)
        self._next_nonce = tx.nonce + 1
        return got

    def send(self, call: TxCall) -> SignedTx:
        """``sign`` then ``submit``; the signed transaction (whose hash to poll)."""
        tx = self.sign(call)
        self.submit(tx)
        return tx

    def receipt(self, tx_hash: str) -> Receipt | None:
        """The receipt, or None while the transaction is not mined."""
        return self.chain.receipt(tx_hash)

    def superseded(self, tx: SignedTx) -> bool:
        """Whether the account's mined nonce moved past ``tx``'s (asked after no receipt was
        found: another transaction took that nonce)."""
        return self.chain.nonce(self.address, "latest") > tx.nonce

    def wait(self, tx_hash: str, *, timeout_s: float, poll_s: float = 2.0,
             sleep: Callable[[float], None] = time.sleep,
             clock: Callable[[], float] = time.monotonic) -> Receipt | None:
        """Poll for the receipt every ``poll_s`` up to ``timeout_s``; None if still not mined.

        Blocks its thread: call it from the Treasury's, never from the hot path.
        """
        deadline = clock() + timeout_s
        while True:
            r = self.chain.receipt(tx_hash)
            if r is not None:
                return r
            left = deadline - clock()
            if left <= 0:
                return None
            sleep(min(poll_s, left))
