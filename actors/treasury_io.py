"""What the Treasury sends through and reads from (``actors.treasury``): two protocols.

Thread ownership: the Treasury's thread uses both; neither starts a thread.
"""

from __future__ import annotations

from typing import Protocol

from venue.calldata import TxCall
from venue.chain import Receipt
from venue.chain_tx import SignedTx

__all__ = ["ChainReads", "TxSender"]


class TxSender(Protocol):
    """``venue.chain_tx.EoaSender`` or ``venue.relayer_sender.RelayerSender`` (``relayed``).
    ``address``: whose tokens are merged (the EOA, the deposit wallet); ``submit``: the hash,
    or the relayer's transactionID; ``superseded``: the account's nonce moved past ``tx``."""

    address: str
    relayed: bool

    def sign(self, call: TxCall) -> SignedTx: ...

    def submit(self, tx: SignedTx) -> str: ...

    def receipt(self, tx_hash: str) -> Receipt | None: ...

    def superseded(self, tx: SignedTx) -> bool: ...


class ChainReads(Protocol):
    """What the Treasury reads on chain (``venue.chain.ChainClient``); it owns it and closes
    it on stop."""

    def payout_denominator(self, ctf: str, condition_id: str) -> int: ...

    def payout_numerator(self, ctf: str, condition_id: str, index: int) -> int: ...

    def erc1155_balance(self, token: str, owner: str, token_id: int) -> int: ...

    def close(self) -> None: ...
