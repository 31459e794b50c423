"""Transactions on the simulated chain: what a node refuses, and what the contracts do.

``send_raw`` recovers the sender with eth-account, refuses what a Polygon node refuses (wrong
chain, bad nonce, a tip under bor's floor, a max fee under the base fee, too little gas or
POL), then mines the transaction at once: nonce and gas are spent whether the call succeeds
or reverts, and the receipt says which. ``estimate`` is the same call without its effects.

Contract behaviour (research §10.2-§10.6): ``approve`` and ``setApprovalForAll``; the
collateral adapters' ``mergePositions``/``redeemPositions`` (operator approval of the adapter
on the CTF needed; pUSD paid out; redeem only once the condition is resolved, and it takes the
caller's whole balance of both outcomes); the CTF's own ``redeemPositions`` with pUSD as
collateral succeeds and pays nothing, and its ``mergePositions`` with pUSD reverts (v1 tokens
are keyed to USDC.e; with USDC.e they pay USDC.e); the Router's ``merge``/``redeem`` for v2
conditions. Calldata is decoded with ``eth_abi``.

Owned by the simulator's event loop.
"""

from __future__ import annotations

from collections.abc import Callable

import sha3
from eth_abi.abi import decode
from eth_account import Account
from eth_account._utils.legacy_transactions import Transaction
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from hexbytes import HexBytes

from sim.chain_state import CHAIN_ID, GWEI, ChainLedger, Condition, Revert, selector
from venue.contracts import (
    CTF,
    CTF_COLLATERAL_ADAPTER,
    NEG_RISK_CTF_COLLATERAL_ADAPTER,
    POSITION_MANAGER,
    PUSD,
    ROUTER,
    USDC_E,
)

MIN_TIP_WEI = 25 * GWEI  # bor's pool floor (research §11.4)
GAS = {"approve": 46_000, "setApprovalForAll": 46_000, "merge": 180_000, "redeem": 150_000}


class Refused(Exception):
    """The node refuses the transaction: it is not mined, nothing changes."""


def _lower(address: str) -> str:
    return address.lower()


_ADAPTERS = {_lower(CTF_COLLATERAL_ADAPTER): False, _lower(NEG_RISK_CTF_COLLATERAL_ADAPTER): True}
_SIGS = {selector(s): (s.split("(")[0], t) for s, t in (
    ("approve(address,uint256)", ("address", "uint256")),
    ("setApprovalForAll(address,bool)", ("address", "bool")),
    ("mergePositions(address,bytes32,bytes32,uint256[],uint256)",
     ("address", "bytes32", "bytes32", "uint256[]", "uint256")),
    ("redeemPositions(address,bytes32,bytes32,uint256[])",
     ("address", "bytes32", "bytes32", "uint256[]")),
    ("merge(bytes31,uint256)", ("bytes31", "uint256")),
    ("redeem(bytes31,uint256,uint256)", ("bytes31", "uint256", "uint256")),
)}


def decode_raw(raw: bytes) -> dict[str, object]:
    """The fields of a signed type-2 or legacy transaction, its ``from`` and ``hash``."""
    try:
        sender = Account.recover_transaction(raw)
        if raw[:1] == b"\x02":
            tx = dict(TypedTransaction.from_bytes(HexBytes(raw)).as_dict())
        else:
            import rlp  # eth-account's own dependency

            tx = dict(rlp.decode(raw, Transaction).as_dict())
            v = int(str(tx["v"]))
            tx["chainId"] = (v - 35) // 2 if v >= 35 else None
            tx["maxFeePerGas"] = tx["maxPriorityFeePerGas"] = tx["gasPrice"]
            tx["legacy"] = True
    except Exception as exc:  # malformed RLP, a bad signature, an unknown type...
        raise Refused(f"invalid transaction: {type(exc).__name__}") from None
    tx["from"] = _lower(sender)
    tx["hash"] = "0x" + sha3.keccak_256(raw).hexdigest()
    to = tx.get("to")
    tx["to"] = "0x" + bytes(to).hex() if isinstance(to, bytes | bytearray) and to else ""
    data = tx.get("data") or b""
    tx["data"] = bytes(data) if isinstance(data, bytes | bytearray) else b""
    return tx


class Executor:
    """Runs transactions against one ``ChainLedger``."""

    def __init__(self, ledger: ChainLedger) -> None:
        self.ledger = ledger
        self._by_target = self._handlers()

    # -- the node ---------------------------------------------------------------------------------

    def send_raw(self, raw: bytes) -> str:
        """Accept and mine ``raw``; its hash. Raises ``Refused`` with the node's message."""
        tx = decode_raw(raw)
        h = str(tx["hash"])
        if h in self.ledger.receipts:
            raise Refused("already known")
        if tx.get("chainId") != CHAIN_ID:
            raise Refused(f"invalid chain id: {tx.get('chainId')}, this is {CHAIN_ID}")
        sender = str(tx["from"])
        a = self.ledger.account(sender)
        nonce = int(str(tx["nonce"]))
        if nonce < a.nonce:
            raise Refused(f"nonce too low: next nonce {a.nonce}, tx nonce {nonce}")
        if nonce > a.nonce:
            raise Refused(f"nonce too high: next nonce {a.nonce}, tx nonce {nonce}")
        base = self.ledger.base_fee_wei
        max_fee, tip = int(str(tx["maxFeePerGas"])), int(str(tx["maxPriorityFeePerGas"]))
        if tx.get("legacy"):
            tip = max_fee - base
        if tip < MIN_TIP_WEI:
            raise Refused(f"transaction gas price below minimum: gas tip cap {tip}, minimum "
                          f"needed {MIN_TIP_WEI}")
        if max_fee < base:
            raise Refused(f"max fee per gas less than block base fee: address {sender}, "
                          f"maxFeePerGas: {max_fee}, baseFee: {base}")
        gas, value = int(str(tx["gas"])), int(str(tx.get("value") or 0))
        if gas < 21_000:
            raise Refused("intrinsic gas too low")
        if a.pol_wei < gas * max_fee + value:
            raise Refused(f"insufficient funds for gas * price + value: address {sender} have "
                          f"{a.pol_wei} want {gas * max_fee + value}")
        price = min(max_fee, base + tip)
        to, data = str(tx["to"]), bytes(tx["data"])  # type: ignore[call-overload]
        ok, used = True, gas
        try:
            needed = self._run(sender, to, data, apply=False)
            if needed > gas:
                raise Revert("out of gas")
            self._run(sender, to, data, apply=True)
            used = needed
        except Revert:
            ok = False
        a.nonce += 1
        a.pol_wei -= used * price
        self.ledger.block += 1
        self.ledger.txs += 1
        self.ledger.receipts[h] = {
            "transactionHash": h, "status": "0x1" if ok else "0x0",
            "blockNumber": hex(self.ledger.block), "gasUsed": hex(used),
            "effectiveGasPrice": hex(price), "from": sender, "to": to, "logs": [],
            "type": "0x0" if tx.get("legacy") else "0x2", "cumulativeGasUsed": hex(used)}
        return h

    def execute(self, sender: str, to: str, data: bytes) -> int:
        """One inner call of a contract wallet (``sim.relayer``): its effects, as ``sender``,
        with no nonce or gas of its own; the gas it used. Raises ``Revert`` (nothing changed)."""
        self._run(_lower(sender), _lower(to), data, apply=False)
        return self._run(_lower(sender), _lower(to), data, apply=True)

    def estimate(self, sender: str, to: str, data: bytes) -> int:
        """``eth_estimateGas``: the gas the call would use; raises ``Revert`` if it would."""
        return self._run(_lower(sender), _lower(to), data, apply=False)

    # -- the contracts ----------------------------------------------------------------------------

    def _run(self, sender: str, to: str, data: bytes, *, apply: bool) -> int:
        to = _lower(to)
        if not data:
            return 21_000  # a plain transfer of nothing
        spec = _SIGS.get(data[:4])
        if spec is None:
            raise Revert("function selector was not recognized")
        name, types = spec
        try:
            args = decode(list(types), data[4:])
        except Exception:  # eth_abi's decoding errors have no common public base
            raise Revert("malformed calldata") from None
        handler = self._by_target.get((name, to))
        if handler is None:
            raise Revert(f"{name} is not a function of {to}")
        return handler(sender, to, args, apply)

    def _handlers(self) -> dict[tuple[str, str], Callable[[str, str, tuple[object, ...], bool],
                                                         int]]:
        h: dict[tuple[str, str], Callable[[str, str, tuple[object, ...], bool], int]] = {
            ("approve", _lower(PUSD)): self._approve, ("approve", _lower(USDC_E)): self._approve,
            ("setApprovalForAll", _lower(CTF)): self._set_operator,
            ("setApprovalForAll", _lower(POSITION_MANAGER)): self._set_operator,
            ("mergePositions", _lower(CTF)): self._ctf_merge,
            ("redeemPositions", _lower(CTF)): self._ctf_redeem,
            ("merge", _lower(ROUTER)): self._router_merge,
            ("redeem", _lower(ROUTER)): self._router_redeem,
        }
        for adapter in _ADAPTERS:
            h[("mergePositions", adapter)] = self._adapter_merge
            h[("redeemPositions", adapter)] = self._adapter_redeem
        return h

    def _approve(self, sender: str, to: str, args: tuple[object, ...], apply: bool) -> int:
        if apply:
            self.ledger.account(sender).allowances[(to, _lower(str(args[0])))] = int(str(args[1]))
        return GAS["approve"]

    def _set_operator(self, sender: str, to: str, args: tuple[object, ...], apply: bool) -> int:
        if apply:
            self.ledger.account(sender).operators[(to, _lower(str(args[0])))] = bool(args[1])
        return GAS["setApprovalForAll"]

    def _condition(self, raw: object, *, version: str) -> Condition:
        if not isinstance(raw, bytes):
            raise Revert("bad condition id")
        if version == "v2":
            c = next((c for c in self.ledger.conditions.values() if c.version == "v2"
                      and bytes.fromhex(c.condition_id[2:])[:31] == raw), None)
        else:
            c = self.ledger.conditions.get("0x" + raw.hex())
        if c is None or c.version != version:
            raise Revert("condition not prepared")
        return c

    def _need_operator(self, sender: str, ledger: str, operator: str) -> None:
        if not self.ledger.account(sender).operators.get((_lower(ledger), operator), False):
            raise Revert("ERC1155: need operator approval for 3rd party transfers.")

    def _take_both(self, sender: str, c: Condition, amount: int, apply: bool) -> None:
        if min(self.ledger.balance(c.ledger, sender, t) for t in c.token_ids) < amount:
            raise Revert("ERC1155: insufficient balance for transfer")
        if apply:
            for t in c.token_ids:
                self.ledger.add_tokens(c.ledger, sender, t, -amount)

    def _adapter_merge(self, sender: str, to: str, args: tuple[object, ...], apply: bool) -> int:
        c = self._condition(args[2], version="v1")
        if c.neg_risk != _ADAPTERS[to]:
            raise Revert("condition not prepared")  # the other adapter's ids
        self._need_operator(sender, CTF, to)
        amount = int(str(args[4]))
        self._take_both(sender, c, amount, apply)
        if apply:
            self.ledger.account(sender).pusd += amount
        return GAS["merge"]

    def _payout(self, sender: str, c: Condition, apply: bool) -> int:
        if c.payouts is None:
            raise Revert("result for condition not received yet")
        held = [self.ledger.balance(c.ledger, sender, t) for t in c.token_ids]
        if apply:
            for t, n in zip(c.token_ids, held, strict=True):
                self.ledger.add_tokens(c.ledger, sender, t, -n)
        return sum(n * p for n, p in zip(held, c.payouts, strict=True)) // sum(c.payouts)

    def _adapter_redeem(self, sender: str, to: str, args: tuple[object, ...], apply: bool) -> int:
        c = self._condition(args[2], version="v1")
        if c.neg_risk != _ADAPTERS[to]:
            raise Revert("condition not prepared")
        self._need_operator(sender, CTF, to)
        paid = self._payout(sender, c, apply)
        if apply:
            self.ledger.account(sender).pusd += paid
        return GAS["redeem"]

    def _ctf_merge(self, sender: str, to: str, args: tuple[object, ...], apply: bool) -> int:
        if _lower(str(args[0])) != _lower(USDC_E):
            # Position ids keyed to any other collateral are held by nobody: burning them fails.
            raise Revert("SafeMath: subtraction overflow")
        c = self._condition(args[2], version="v1")
        amount = int(str(args[4]))
        self._take_both(sender, c, amount, apply)
        if apply:
            self.ledger.account(sender).usdce += amount
        return GAS["merge"]

    def _ctf_redeem(self, sender: str, to: str, args: tuple[object, ...], apply: bool) -> int:
        if _lower(str(args[0])) != _lower(USDC_E):
            return GAS["redeem"]  # the pitfall: succeeds, burns nothing, pays nothing (§10.2)
        c = self._condition(args[2], version="v1")
        paid = self._payout(sender, c, apply)
        if apply:
            self.ledger.account(sender).usdce += paid
        return GAS["redeem"]

    def _router_merge(self, sender: str, to: str, args: tuple[object, ...], apply: bool) -> int:
        c = self._condition(args[0], version="v2")
        self._need_operator(sender, POSITION_MANAGER, to)
        amount = int(str(args[1]))
        self._take_both(sender, c, amount, apply)
        if apply:
            self.ledger.account(sender).pusd += amount
        return GAS["merge"]

    def _router_redeem(self, sender: str, to: str, args: tuple[object, ...], apply: bool) -> int:
        c = self._condition(args[0], version="v2")
        if c.payouts is None:
            raise Revert("condition not resolved")
        self._need_operator(sender, POSITION_MANAGER, to)
        index, amount = int(str(args[1])), int(str(args[2]))
        if index not in (0, 1):
            raise Revert("bad outcome index")
        token = c.token_ids[index]
        if self.ledger.balance(c.ledger, sender, token) < amount:
            raise Revert("ERC1155: insufficient balance for transfer")
        if apply:
            self.ledger.add_tokens(c.ledger, sender, token, -amount)
            self.ledger.account(sender).pusd += amount * c.payouts[index] // sum(c.payouts)
        return GAS["redeem"]
