"""What the Treasury tells the ledgers and writes to the event log: collateral that came back.

``PositionsMerged`` and ``PositionsRedeemed`` are events for every holder of a
``trading.positions.Positions`` (the State, the OrderManager): outcome tokens left the wallet
on chain and pUSD came back. Their effect is a subtraction from the confirmed position of each
token and an addition to cash, so a ledger that applies them in any order relative to the
trade events ends where the Treasury's own ledger ends.

``TreasuryTx`` is one step in the life of one transaction, written under kind ``treasury``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from messages.ids import ConditionId, TokenId


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionsMerged:
    """A merge was mined: ``amount_micro`` of each outcome (``token_ids``, Up then Down) left
    the wallet and ``amount_micro`` micro-pUSD came back."""

    condition_id: ConditionId
    token_ids: tuple[TokenId, TokenId]
    amount_micro: int
    tx_hash: str
    ts_recv_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionsRedeemed:
    """A redeem of a resolved market was mined: ``burned_micro`` of each outcome (Up, Down)
    left the wallet and ``payout_micro`` micro-pUSD came back (1 per winning share, 0 per
    losing one)."""

    condition_id: ConditionId
    token_ids: tuple[TokenId, TokenId]
    burned_micro: tuple[int, int]
    payout_micro: int
    tx_hash: str
    ts_recv_ns: int


class TxStatus(StrEnum):
    """Where a Treasury transaction is.

    ``NOT_SENT``: it could not be built (the estimate says it would revert, gas or fees above
    the caps, the node or relayer unreachable); no hash. ``SIGNED``: signed, about to be
    submitted (the hash, or a deposit wallet's Batch digest, is logged before anything
    leaves). ``SENT``: the node (relayer) took it. ``UNKNOWN``: no reply; it may be in the
    pool (its receipt is polled, the same bytes re-submitted). ``REFUSED``: the node (relayer)
    refused it (nonce, funds, fees, signature, a blocked call); not in the pool. ``MINED``:
    mined, status 1 (relayer: ``STATE_CONFIRMED``). ``REVERTED``: mined, status 0 (the gas is
    spent), or the relayer's ``STATE_FAILED``/``STATE_INVALID`` (its ``error_msg`` in
    ``error``). ``TIMEOUT``: no receipt within the configured time (still watched).
    ``DROPPED``: the account's nonce moved past it without a receipt for it.
    """

    NOT_SENT = "not_sent"
    SIGNED = "signed"
    SENT = "sent"
    UNKNOWN = "unknown"
    REFUSED = "refused"
    MINED = "mined"
    REVERTED = "reverted"
    TIMEOUT = "timeout"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True, kw_only=True)
class TreasuryTx:
    """One step of one Treasury transaction (event-log kind ``treasury``).

    ``action`` is ``merge`` or ``redeem``; ``data`` the calldata as ``0x`` hex; ``burned_micro``
    the shares of (Up, Down) the call takes and ``payout_micro`` the pUSD it returns, as
    planned. Fee fields are the signed caps; ``gas_used`` and ``fee_wei`` come from the
    receipt (0 before it). ``error`` is the node's, relayer's or client's message, never a
    secret. ``tx_hash`` is the signed transaction's hash (EOA) or the Batch digest (deposit
    wallet, whose fee fields are 0: the relayer pays); ``relay_id`` the relayer's
    transactionID once it took the batch; ``chain_tx_hash`` the mined transaction's hash once
    known (an EOA's equals ``tx_hash``).
    """

    condition_id: ConditionId
    action: str
    status: TxStatus
    tx_hash: str = ""
    sender: str = ""
    to: str = ""
    data: str = ""
    nonce: int = -1
    gas_limit: int = 0
    max_fee_per_gas_wei: int = 0
    max_priority_fee_wei: int = 0
    burned_micro: tuple[int, int] = (0, 0)
    payout_micro: int = 0
    gas_used: int = 0
    fee_wei: int = 0
    block_number: int = 0
    error: str = ""
    relay_id: str = ""
    chain_tx_hash: str = ""
    ts_recv_ns: int
