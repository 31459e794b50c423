"""Calldata for the contract calls polymm makes, and the decoding of their return values.

ABI encoding by hand (every argument here is a static word or one ``uint256[]``), so the
order path's dependencies stay small and the tests can check it against an independent encoder
(``eth_abi``) and the selectors against keccak of their signatures (research §10.3, where the
merge/redeem selectors and a full merge calldata are cross-checked against a second source).

Reads: ERC-20 ``balanceOf``/``allowance``, ERC-1155 ``balanceOf``/``isApprovedForAll``, CTF
``payoutDenominator``/``payoutNumerators``. Writes: ``approve``, ``setApprovalForAll``, and
merge/redeem per market kind (``merge_call``, ``redeem_calls``):

* ``v1``: ``mergePositions``/``redeemPositions`` with the CTF's 5/4-argument ABI, sent to the
  collateral adapter (research §10.2: it ignores the collateral, parent and partition
  arguments and uses USDC.e, ``bytes32(0)`` and ``[1, 2]`` itself; pUSD is passed, as the
  official SDK does).
* ``v2`` (UNVERIFIED, see ``venue.contracts``): ``Router.merge(bytes31, uint256)`` and one
  ``Router.redeem(bytes31, outcomeIndex, amount)`` per outcome held. A ``bytes31`` condition is
  the market's 32-byte id without its last byte, which must be ``00`` or ``01`` (research
  §10.5); any other id is refused rather than truncated.

Pure; no I/O. Amounts are base units (1e-6 pUSD or shares).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from venue.contracts import PUSD, RETIRED, contracts_for
from venue.eip712 import address_word

__all__ = [
    "ALLOWANCE",
    "APPROVE",
    "BALANCE_OF",
    "BALANCE_OF_1155",
    "IS_APPROVED_FOR_ALL",
    "MERGE_POSITIONS",
    "PAYOUT_DENOMINATOR",
    "PAYOUT_NUMERATORS",
    "REDEEM_POSITIONS",
    "ROUTER_MERGE",
    "ROUTER_REDEEM",
    "SELECTORS",
    "SET_APPROVAL_FOR_ALL",
    "TxCall",
    "allowance",
    "approve",
    "balance_of",
    "balance_of_1155",
    "condition_bytes31",
    "condition_bytes32",
    "decode_bool",
    "decode_uint",
    "is_approved_for_all",
    "merge_call",
    "merge_positions",
    "payout_denominator",
    "payout_numerators",
    "redeem_calls",
    "redeem_positions",
    "router_merge",
    "router_redeem",
    "set_approval_for_all",
]

# Selectors as research §10.3 gives them; tests/test_chain_calldata.py recomputes each from its
# signature, so a typo here fails there.
SELECTORS: dict[str, bytes] = {sig: bytes.fromhex(sel) for sig, sel in (
    ("balanceOf(address)", "70a08231"),
    ("allowance(address,address)", "dd62ed3e"),
    ("approve(address,uint256)", "095ea7b3"),
    ("balanceOf(address,uint256)", "00fdd58e"),
    ("isApprovedForAll(address,address)", "e985e9c5"),
    ("setApprovalForAll(address,bool)", "a22cb465"),
    ("payoutDenominator(bytes32)", "dd34de67"),
    ("payoutNumerators(bytes32,uint256)", "0504c814"),
    ("mergePositions(address,bytes32,bytes32,uint256[],uint256)", "9e7212ad"),
    ("redeemPositions(address,bytes32,bytes32,uint256[])", "01b7037c"),
    ("merge(bytes31,uint256)", "5b63685e"),
    ("redeem(bytes31,uint256,uint256)", "d217a3cc"),
)}
BALANCE_OF = SELECTORS["balanceOf(address)"]
ALLOWANCE = SELECTORS["allowance(address,address)"]
APPROVE = SELECTORS["approve(address,uint256)"]
BALANCE_OF_1155 = SELECTORS["balanceOf(address,uint256)"]
IS_APPROVED_FOR_ALL = SELECTORS["isApprovedForAll(address,address)"]
SET_APPROVAL_FOR_ALL = SELECTORS["setApprovalForAll(address,bool)"]
PAYOUT_DENOMINATOR = SELECTORS["payoutDenominator(bytes32)"]
PAYOUT_NUMERATORS = SELECTORS["payoutNumerators(bytes32,uint256)"]
MERGE_POSITIONS = SELECTORS["mergePositions(address,bytes32,bytes32,uint256[],uint256)"]
REDEEM_POSITIONS = SELECTORS["redeemPositions(address,bytes32,bytes32,uint256[])"]
ROUTER_MERGE = SELECTORS["merge(bytes31,uint256)"]
ROUTER_REDEEM = SELECTORS["redeem(bytes31,uint256,uint256)"]

_ZERO = bytes(32)
_BINARY_PARTITION = (1, 2)  # index sets: 1 = outcome 0 (Up/Yes), 2 = outcome 1 (Down/No)


@dataclass(frozen=True, slots=True)
class TxCall:
    """One contract call to send: target, calldata, value in wei (always 0 here)."""

    to: str
    data: bytes
    value: int = 0


def _uint(n: int) -> bytes:
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < 2**256:
        raise ValueError(f"not a uint256: {n!r}")
    return n.to_bytes(32, "big")


def _hex_bytes(value: str, what: str) -> bytes:
    raw = value[2:] if value[:2] in ("0x", "0X") else value
    try:
        return bytes.fromhex(raw)
    except ValueError:
        raise ValueError(f"{what}: not hex: {value!r}") from None


def condition_bytes32(condition_id: str) -> bytes:
    """A v1 condition id (``0x`` + 64 hex) as its 32 bytes."""
    b = _hex_bytes(condition_id, "condition id")
    if len(b) != 32:
        raise ValueError(f"condition id: expected 32 bytes, got {len(b)}: {condition_id!r}")
    return b


def condition_bytes31(condition_id: str) -> bytes:
    """A Protocol V2 condition id as ``bytes31``: 62 hex digits, or 64 ending in ``00``/``01``
    (the id of outcome 0 or 1, research §10.5). Anything else raises ``ValueError``."""
    b = _hex_bytes(condition_id, "condition id")
    if len(b) == 32 and b[31] in (0, 1):
        return b[:31]
    if len(b) == 31:
        return b
    raise ValueError(f"v2 condition id: expected 31 bytes, or 32 ending in 00/01: "
                     f"{condition_id!r}")


def _bytes31_word(b31: bytes) -> bytes:
    return b31 + b"\x00"  # bytesN is left-aligned in its word


def _uint_array(values: Sequence[int]) -> bytes:
    return _uint(len(values)) + b"".join(_uint(v) for v in values)


# -- reads --------------------------------------------------------------------------------------

def balance_of(owner: str) -> bytes:
    """ERC-20 ``balanceOf(owner)``."""
    return BALANCE_OF + address_word(owner)


def allowance(owner: str, spender: str) -> bytes:
    """ERC-20 ``allowance(owner, spender)``."""
    return ALLOWANCE + address_word(owner) + address_word(spender)


def balance_of_1155(owner: str, token_id: int) -> bytes:
    """ERC-1155 ``balanceOf(owner, id)`` (a CTF token id or a V2 position id)."""
    return BALANCE_OF_1155 + address_word(owner) + _uint(token_id)


def is_approved_for_all(owner: str, operator: str) -> bytes:
    """ERC-1155 ``isApprovedForAll(owner, operator)``."""
    return IS_APPROVED_FOR_ALL + address_word(owner) + address_word(operator)


def payout_denominator(condition_id: str) -> bytes:
    """CTF ``payoutDenominator(conditionId)``: 0 until the condition is resolved."""
    return PAYOUT_DENOMINATOR + condition_bytes32(condition_id)


def payout_numerators(condition_id: str, index: int) -> bytes:
    """CTF ``payoutNumerators(conditionId, outcomeIndex)``."""
    return PAYOUT_NUMERATORS + condition_bytes32(condition_id) + _uint(index)


# -- writes -------------------------------------------------------------------------------------

def approve(spender: str, amount: int) -> bytes:
    """ERC-20 ``approve(spender, amount)``."""
    return APPROVE + address_word(spender) + _uint(amount)


def set_approval_for_all(operator: str, approved: bool) -> bytes:
    """ERC-1155 ``setApprovalForAll(operator, approved)``."""
    return SET_APPROVAL_FOR_ALL + address_word(operator) + _uint(1 if approved else 0)


def merge_positions(condition_id: str, amount: int, *, collateral: str = PUSD) -> bytes:
    """``mergePositions(collateral, bytes32(0), conditionId, [1, 2], amount)`` (research §10.3)."""
    head = (address_word(collateral) + _ZERO + condition_bytes32(condition_id)
            + _uint(5 * 32) + _uint(amount))
    return MERGE_POSITIONS + head + _uint_array(_BINARY_PARTITION)


def redeem_positions(condition_id: str, *, collateral: str = PUSD) -> bytes:
    """``redeemPositions(collateral, bytes32(0), conditionId, [1, 2])`` (research §10.3)."""
    head = address_word(collateral) + _ZERO + condition_bytes32(condition_id) + _uint(4 * 32)
    return REDEEM_POSITIONS + head + _uint_array(_BINARY_PARTITION)


def router_merge(condition_id: str, amount: int) -> bytes:
    """Protocol V2 ``Router.merge(bytes31 conditionId, uint256 amount)`` (UNVERIFIED)."""
    return ROUTER_MERGE + _bytes31_word(condition_bytes31(condition_id)) + _uint(amount)


def router_redeem(condition_id: str, outcome_index: int, amount: int) -> bytes:
    """Protocol V2 ``Router.redeem(bytes31, outcomeIndex, amount)`` (UNVERIFIED)."""
    if outcome_index not in (0, 1):
        raise ValueError(f"outcome index: expected 0 or 1, got {outcome_index!r}")
    return (ROUTER_REDEEM + _bytes31_word(condition_bytes31(condition_id))
            + _uint(outcome_index) + _uint(amount))


def _checked(call: TxCall) -> TxCall:
    if call.to.lower() in RETIRED:  # a retired adapter takes the tokens and the relayer blocks it
        raise ValueError(f"refusing a call to the retired contract {call.to}")
    return call


def merge_call(version: str, neg_risk: bool, condition_id: str, amount: int) -> TxCall:
    """The call that merges ``amount`` complete sets of one market back into pUSD.

    Raises:
        ValueError: an unknown market version, a bad id, or an amount that is not positive.
    """
    if amount <= 0:
        raise ValueError(f"merge amount: expected > 0, got {amount}")
    c = contracts_for(version, neg_risk)
    if version == "v1":
        return _checked(TxCall(c.collateral_target, merge_positions(condition_id, amount)))
    return _checked(TxCall(c.collateral_target, router_merge(condition_id, amount)))


def redeem_calls(version: str, neg_risk: bool, condition_id: str,
                 balances: tuple[int, int]) -> tuple[TxCall, ...]:
    """The calls that redeem a resolved market's positions (``balances``: Up, Down held).

    v1: one adapter call redeems the caller's whole balance of both outcomes (losers are
    burned for 0). v2: one ``Router.redeem`` per outcome with a non-zero balance. Nothing held:
    no call.
    """
    if min(balances) < 0:
        raise ValueError(f"balances: expected >= 0, got {balances}")
    if not any(balances):
        return ()
    c = contracts_for(version, neg_risk)
    if version == "v1":
        return (_checked(TxCall(c.collateral_target, redeem_positions(condition_id))),)
    return tuple(_checked(TxCall(c.collateral_target, router_redeem(condition_id, i, n)))
                 for i, n in enumerate(balances) if n > 0)


# -- return values ------------------------------------------------------------------------------

def decode_uint(data: bytes) -> int:
    """A ``uint256`` return value. Raises ``ValueError`` unless it is exactly one word: an
    empty result is what a call to an address without code returns, never a zero."""
    if len(data) != 32:
        raise ValueError(f"expected one 32-byte word, got {len(data)} bytes"
                         + (" (no contract at that address?)" if not data else ""))
    return int.from_bytes(data, "big")


def decode_bool(data: bytes) -> bool:
    """A ``bool`` return value: one word that is 0 or 1, else ``ValueError``."""
    n = decode_uint(data)
    if n > 1:
        raise ValueError(f"expected a bool word (0 or 1), got {n:#x}")
    return n == 1
