"""The simulated venue's on-chain ledger: pUSD, POL, approvals, outcome tokens, conditions.

The truth the bot is checked against. Accounts appear on first reference, funded (pUSD and
POL) and approved (every spender and operator ``venue.contracts.approvals_needed`` lists for
any market kind); ``configure`` makes one unfunded, unapproved, a contract (a proxy or
deposit wallet), closed-only, or an EOA the venue does not allowlist; ``create_wallet``
registers an owner's deposit wallet (signature type 3, acting through ``sim.relayer``).
Positions follow the bot's fills when their trades are mined (``settle``: to the order's
maker, so a deposit wallet's fills land in the wallet), and a resolved condition pays 1 or 0
per share (``resolve``). ``eth_call`` reads are decoded with ``eth_abi`` against selectors
computed here from the signatures: independent of the bot's ``venue.calldata``. Contract
writes are ``sim.chain_exec``.

Owned by the simulator's event loop; no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sha3
from eth_abi.abi import decode, encode

from sim.book import BUY
from sim.gamma import FEE_SCHEDULE
from sim.trades import Trade
from sim.wire import PIPS
from venue.contracts import (
    CTF,
    MAX_UINT256,
    POSITION_MANAGER,
    PUSD,
    USDC_E,
    approvals_needed,
    contracts_for,
)

CHAIN_ID = 137
GWEI = 10**9
START_PUSD = 100_000 * 10**6
"""pUSD (micro) every account starts with: more than any test or demo run puts at risk."""
START_POL_WEI = 10 * 10**18
NOT_ENOUGH = "not enough balance / allowance"
NOT_ALLOWED = "maker address not allowed, please use the deposit wallet flow"
TAKER_FEE_BPS = round(float(FEE_SCHEDULE["rate"]) * 10_000)  # crypto: 0.07 (protocol §7.2)
FAKE_CODE = bytes.fromhex("6080604052")
"""What ``eth_getCode`` returns for a contract here: any non-empty code."""


def selector(signature: str) -> bytes:
    digest: bytes = sha3.keccak_256(signature.encode()).digest()
    return digest[:4]


def _lower(address: str) -> str:
    return address.lower()


class Revert(Exception):
    """A call that reverts, with its reason string."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def taker_fee_micro(size_micro: int, price_pips: int) -> int:
    """``shares × rate × p × (1 − p)`` in pUSD micro, rounded half up to 5 decimals (protocol
    §7.2: "rounded to 5 dp, minimum 0.00001"), exact in integers."""
    e12 = size_micro * TAKER_FEE_BPS * price_pips * (PIPS - price_pips)  # micro × 1e-12
    return (e12 + 5 * 10**12) // 10**13 * 10


@dataclass(slots=True)
class Account:
    """One address: balances (micro for pUSD/USDC.e, wei for POL), nonce and permissions."""

    pusd: int = START_PUSD
    usdce: int = 0
    pol_wei: int = START_POL_WEI
    nonce: int = 0
    allowances: dict[tuple[str, str], int] = field(default_factory=dict)  # (token, spender)
    operators: dict[tuple[str, str], bool] = field(default_factory=dict)  # (ledger, operator)
    contract: bool = False
    closed_only: bool = False
    eoa_allowed: bool = True
    owner: str = ""
    """A deposit wallet's owner EOA (lower case); empty for every other account."""
    batch_nonce: int = 0
    """A deposit wallet's ``Batch`` nonce (the relayer's, ``sim.relayer``)."""


@dataclass(slots=True)
class Condition:
    condition_id: str
    token_ids: tuple[int, int]
    version: str
    neg_risk: bool
    payouts: tuple[int, int] | None = None

    @property
    def ledger(self) -> str:
        return _lower(contracts_for(self.version, self.neg_risk).ledger)


_ALL_KINDS = [contracts_for("v1", False), contracts_for("v1", True), contracts_for("v2", False)]

_READS: dict[bytes, tuple[str, tuple[str, ...]]] = {selector(s): (s.split("(")[0], t) for s, t in (
    ("balanceOf(address)", ("address",)),
    ("allowance(address,address)", ("address", "address")),
    ("balanceOf(address,uint256)", ("address", "uint256")),
    ("isApprovedForAll(address,address)", ("address", "address")),
    ("payoutDenominator(bytes32)", ("bytes32",)),
    ("payoutNumerators(bytes32,uint256)", ("bytes32", "uint256")),
)}


def deposit_wallet_address(owner: str) -> str:
    """The simulated deposit wallet of ``owner``: keccak(``polymm-sim deposit wallet`` ‖
    owner)[12:], lower case. Deterministic, but NOT Polymarket's CREATE2 derivation from its
    wallet factory (research §10.8): a test must take the address from the simulator."""
    raw = bytes.fromhex(_lower(owner)[2:])
    if len(raw) != 20:
        raise ValueError("owner: 0x + 40 hex required")
    digest: bytes = sha3.keccak_256(b"polymm-sim deposit wallet" + raw).digest()
    return "0x" + digest[12:].hex()


class ChainLedger:
    """Accounts, ERC-1155 balances by (ledger, owner, id), conditions, receipts."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[tuple[str, str, int], int] = {}
        self.conditions: dict[str, Condition] = {}
        self.by_token: dict[int, Condition] = {}
        self.receipts: dict[str, dict[str, object]] = {}
        self.block = 1
        self.base_fee_wei = 30 * GWEI
        self.tip_wei = 30 * GWEI
        self.txs = 0
        self.settled_trades = 0

    # -- accounts ------------------------------------------------------------------------------

    def account(self, address: str) -> Account:
        a = self.accounts.get(_lower(address))
        if a is None:
            a = Account()
            self._approve_all(a, True)
            self.accounts[_lower(address)] = a
        return a

    @staticmethod
    def _approve_all(a: Account, on: bool) -> None:
        for ap in approvals_needed(_ALL_KINDS):
            if ap.kind == "erc20":
                a.allowances[(_lower(ap.token), _lower(ap.spender))] = MAX_UINT256 if on else 0
            else:
                a.operators[(_lower(ap.token), _lower(ap.spender))] = on

    def configure(self, address: str, *, funded: bool | None = None,
                  approved: bool | None = None, pusd: int | None = None,
                  pol_wei: int | None = None, contract: bool | None = None,
                  closed_only: bool | None = None, eoa_allowed: bool | None = None) -> Account:
        """Change one account (``None`` leaves a setting as it is). ``funded`` sets pUSD and
        POL to the start amounts or to 0; ``approved`` grants or revokes every approval."""
        a = self.account(address)
        if funded is not None:
            a.pusd, a.pol_wei = (START_PUSD, START_POL_WEI) if funded else (0, 0)
        if approved is not None:
            self._approve_all(a, approved)
        if pusd is not None:
            a.pusd = pusd
        if pol_wei is not None:
            a.pol_wei = pol_wei
        if contract is not None:
            a.contract = contract
        if closed_only is not None:
            a.closed_only = closed_only
        if eoa_allowed is not None:
            a.eoa_allowed = eoa_allowed
        return a

    def create_wallet(self, owner: str) -> Account:
        """Register ``owner``'s deposit wallet (``deposit_wallet_address``): a contract owned
        by it, funded and approved like any new account (``configure`` changes that)."""
        a = self.account(deposit_wallet_address(owner))
        a.owner, a.contract = _lower(owner), True
        return a

    def wallet_owner(self, address: str) -> str | None:
        """The owner EOA of the deposit wallet at ``address``, or None if it is not one."""
        a = self.accounts.get(_lower(address))
        return a.owner if a is not None and a.owner else None

    def snapshot(self, address: str) -> dict[str, object]:
        """``GET /_sim/account``: balances, permissions and positions of one address."""
        a = self.account(address)
        addr = _lower(address)
        return {
            "address": addr, "pusd_micro": a.pusd, "usdce_micro": a.usdce, "pol_wei": a.pol_wei,
            "nonce": a.nonce, "contract": a.contract, "closed_only": a.closed_only,
            "eoa_allowed": a.eoa_allowed, "owner": a.owner or None,
            "batch_nonce": a.batch_nonce,
            "allowances": {f"{t}:{s}": str(v) for (t, s), v in sorted(a.allowances.items())},
            "operators": {f"{t}:{o}": v for (t, o), v in sorted(a.operators.items())},
            "positions": {str(tid): n for (_, owner, tid), n in sorted(self.tokens.items())
                          if owner == addr and n},
        }

    # -- markets -------------------------------------------------------------------------------

    def register(self, condition_id: str, token_ids: tuple[str, str], version: str,
                 neg_risk: bool) -> None:
        cid = _lower(condition_id)
        if cid in self.conditions:
            return
        c = Condition(cid, (int(token_ids[0]), int(token_ids[1])), version, neg_risk)
        self.conditions[cid] = c
        for t in c.token_ids:
            self.by_token[t] = c

    def resolve(self, condition_id: str, winner: int) -> None:
        """The oracle reports: the winner's tokens pay 1 pUSD each, the loser's 0."""
        c = self.conditions.get(_lower(condition_id))
        if c is not None and c.payouts is None:
            c.payouts = (1, 0) if winner == 0 else (0, 1)

    def balance(self, ledger: str, owner: str, token_id: int) -> int:
        return self.tokens.get((_lower(ledger), _lower(owner), token_id), 0)

    def add_tokens(self, ledger: str, owner: str, token_id: int, delta: int) -> None:
        key = (_lower(ledger), _lower(owner), token_id)
        self.tokens[key] = self.tokens.get(key, 0) + delta

    # -- the CLOB's view -----------------------------------------------------------------------

    def order_refusal(self, *, address: str, signature_type: int, token_id: str, side: str,
                      usd_micro: int, shares_micro: int, reserved_usd_micro: int,
                      reserved_shares_micro: int) -> str | None:
        """Why the venue would refuse an order of ``address`` (None: it would not). The
        ``reserved`` amounts are what the account's open orders already hold."""
        a = self.account(address)
        c = self.by_token.get(int(token_id))
        if c is None:
            return None
        if signature_type == 0 and not a.eoa_allowed:
            return NOT_ALLOWED
        if a.closed_only and side == BUY:
            return f"'{address}' address in closed only mode"
        kind = contracts_for(c.version, c.neg_risk)
        exchange = _lower(kind.exchange)
        if side == BUY:
            need = usd_micro + reserved_usd_micro
            if a.pusd < need or a.allowances.get((_lower(PUSD), exchange), 0) < need:
                return NOT_ENOUGH
        else:
            held = self.balance(kind.ledger, address, int(token_id))
            if (held < shares_micro + reserved_shares_micro
                    or not a.operators.get((_lower(kind.ledger), exchange), False)):
                return NOT_ENOUGH
        return None

    def settle(self, trade: Trade) -> None:
        """A mined trade moves tokens and pUSD for every bot account in it (noise has none).

        Makers pay no fee; a bot taker pays ``taker_fee_micro`` per fill, in pUSD."""
        c = self.by_token.get(int(trade.token_id))
        if c is None:
            return
        self.settled_trades += 1
        for m in trade.makers:
            if m.owner:
                self._fill(c, m.maker_address, int(m.token_id), m.side, m.price_pips,
                           m.matched_micro, 0)
            if trade.taker_owner:
                # The taker fills at the maker's price, in the taker's token's terms.
                price = m.price_pips if m.token_index == trade.token_index \
                    else PIPS - m.price_pips
                self._fill(c, trade.taker_address, int(trade.token_id), trade.side, price,
                           m.matched_micro, taker_fee_micro(m.matched_micro, price))

    def _fill(self, c: Condition, address: str, token_id: int, side: str, price_pips: int,
              size_micro: int, fee_micro: int) -> None:
        a = self.account(address)
        usd = size_micro * price_pips // PIPS
        sign = 1 if side == BUY else -1
        a.pusd -= sign * usd + fee_micro
        self.add_tokens(c.ledger, address, token_id, sign * size_micro)

    # -- reads ---------------------------------------------------------------------------------

    def has_code(self, address: str) -> bool:
        addr = _lower(address)
        a = self.accounts.get(addr)
        return (a is not None and a.contract) or addr in _KNOWN_CODE

    def call(self, to: str, data: bytes) -> bytes:
        """``eth_call`` of a view; an address without code returns nothing, as a node does."""
        target = _lower(to)
        if target not in _KNOWN_CODE:
            return b""
        spec = _READS.get(data[:4])
        if spec is None:
            raise Revert("function selector was not recognized")
        name, types = spec
        try:
            args = decode(list(types), data[4:])
        except Exception as exc:  # eth_abi's decoding errors have no common base we can name
            raise Revert(f"malformed calldata: {type(exc).__name__}") from None
        return encode([_RETURNS[name]], [self._read(target, name, args)])

    def _read(self, target: str, name: str, args: tuple[object, ...]) -> object:
        erc20 = target in (_lower(PUSD), _lower(USDC_E))
        ledger = target in (_lower(CTF), _lower(POSITION_MANAGER))
        if name == "balanceOf" and erc20 and len(args) == 1:
            a = self.account(str(args[0]))
            return a.pusd if target == _lower(PUSD) else a.usdce
        if name == "allowance" and erc20:
            return self.account(str(args[0])).allowances.get((target, _lower(str(args[1]))), 0)
        if name == "balanceOf" and ledger and len(args) == 2:
            return self.balance(target, str(args[0]), int(str(args[1])))
        if name == "isApprovedForAll" and ledger:
            return self.account(str(args[0])).operators.get((target, _lower(str(args[1]))),
                                                            False)
        if name in ("payoutDenominator", "payoutNumerators") and target == _lower(CTF):
            raw = args[0]
            c = self.conditions.get("0x" + raw.hex()) if isinstance(raw, bytes) else None
            if c is None or c.payouts is None:
                return 0
            return 1 if name == "payoutDenominator" else c.payouts[int(str(args[1]))]
        raise Revert(f"{name} is not a function of {target}")


_RETURNS = {"balanceOf": "uint256", "allowance": "uint256", "isApprovedForAll": "bool",
            "payoutDenominator": "uint256", "payoutNumerators": "uint256"}
_KNOWN_CODE = frozenset(_lower(a) for a in (
    PUSD, USDC_E, CTF, POSITION_MANAGER,
    *(c.exchange for c in _ALL_KINDS), *(c.collateral_target for c in _ALL_KINDS)))
