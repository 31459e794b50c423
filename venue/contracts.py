"""Polymarket's contracts on Polygon (chain 137), and which of them each kind of market needs.

Addresses are research §10.1 / §11.3 and protocol §0 (DOC ``/resources/contracts``, SDK
``polymarket-client`` 0.14.0 ``environments.py``). Per market (Gamma ``version`` and
``negRisk``), ``contracts_for`` names:

* the **exchange**: the pUSD spender of BUY orders and the ERC-1155 operator of SELL orders;
* the **ledger**: the ERC-1155 contract that holds the outcome tokens (the Conditional Tokens
  contract for ``v1``, the PositionManager for ``v2``);
* the **collateral target**: where merge and redeem go. For ``v1`` that is the collateral
  adapter, never the CTF itself: ``CTF.redeemPositions(pUSD, ...)`` succeeds and pays nothing,
  because v1 token ids are keyed to USDC.e (research §10.2).

``approvals_needed`` lists the on-chain approvals a wallet must hold for a set of markets
(protocol §6.8, research §10.6): what pre-flight reads.

UNVERIFIED (research §10.5, §13): the Protocol V2 (``v2``) Router and PositionManager are known
from the SDK's call strings and documentation quoted by third parties, not from a deployment
read here; no up/down market was ``v2`` when the research was written. A ``v2`` merge or redeem
is therefore only as good as that source: the Treasury must check the pUSD delta on chain after
each one (the route is the same the official SDK uses).

Pure constants and functions; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from venue.eip712 import EXCHANGE_V2, EXCHANGE_V3, NEG_RISK_EXCHANGE_V2

__all__ = [
    "CTF",
    "CTF_COLLATERAL_ADAPTER",
    "EXCHANGE_V2",
    "EXCHANGE_V3",
    "MAX_UINT256",
    "NAMES",
    "NEG_RISK_CTF_COLLATERAL_ADAPTER",
    "NEG_RISK_EXCHANGE_V2",
    "POSITION_MANAGER",
    "PUSD",
    "RETIRED",
    "ROUTER",
    "USDC_E",
    "Approval",
    "MarketContracts",
    "approvals_needed",
    "contracts_for",
    "name_of",
]

PUSD = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"
"""pUSD, the CLOB's collateral (ERC-20, 6 decimals)."""
USDC_E = "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174"
"""USDC.e: the collateral v1 token ids are keyed to (research §10.2); never the bot's cash."""
CTF = "0x4D97DCd97eC945f40cF65F87097ACe5EA0476045"
"""Gnosis Conditional Tokens: the ERC-1155 ledger of v1 outcome tokens."""
CTF_COLLATERAL_ADAPTER = "0xAdA100Db00Ca00073811820692005400218FcE1f"
"""Merge/split/redeem of v1, not-neg-risk markets; takes and pays pUSD (research §10.1)."""
NEG_RISK_CTF_COLLATERAL_ADAPTER = "0xadA2005600Dec949baf300f4C6120000bDB6eAab"
"""The same for v1 neg-risk markets."""
POSITION_MANAGER = "0x006F54F7f9A22e0000CC2AB60031000000ae9fEF"
"""Protocol V2's ERC-1155 ledger of positions (UNVERIFIED, see the module docstring)."""
ROUTER = "0x12121212006e4CD160D18e3f00711DA5c3372600"
"""Protocol V2's split/merge/redeem entry point (UNVERIFIED, see the module docstring)."""

RETIRED = frozenset(a.lower() for a in (
    "0xADa100874d00e3331D00F2007a9c336a65009718",  # launch CtfCollateralAdapter (to 2026-05-01)
    "0xAdA200001000ef00D07553cEE7006808F895c6F1",  # launch NegRiskCtfCollateralAdapter
    "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296",  # legacy NegRiskAdapter (CLOB v1)
))
"""Addresses that must never be a transaction's target again (research §10.1, "History")."""

MAX_UINT256 = 2**256 - 1
"""The "unlimited" ERC-20 allowance the official clients approve."""

NAMES: dict[str, str] = {a.lower(): n for a, n in (
    (PUSD, "pUSD"), (USDC_E, "USDC.e"), (CTF, "Conditional Tokens"),
    (EXCHANGE_V2, "CTF Exchange V2"), (NEG_RISK_EXCHANGE_V2, "Neg Risk CTF Exchange V2"),
    (EXCHANGE_V3, "ExchangeV3"), (CTF_COLLATERAL_ADAPTER, "CtfCollateralAdapter"),
    (NEG_RISK_CTF_COLLATERAL_ADAPTER, "NegRiskCtfCollateralAdapter"),
    (POSITION_MANAGER, "PositionManager"), (ROUTER, "Router"),
)}


def name_of(address: str) -> str:
    """``"CTF Exchange V2 (0xE111…996B)"`` for a known contract, else the address."""
    name = NAMES.get(address.lower())
    short = f"{address[:6]}…{address[-4:]}"
    return f"{name} ({short})" if name else address


@dataclass(frozen=True, slots=True)
class MarketContracts:
    """The contracts one kind of market uses (see the module docstring)."""

    version: str
    neg_risk: bool
    exchange: str
    ledger: str
    collateral_target: str


def contracts_for(version: str, neg_risk: bool) -> MarketContracts:
    """The contracts of a market with Gamma ``version`` (``"v1"``/``"v2"``) and ``negRisk``.

    ``v2`` ignores ``neg_risk`` (ExchangeV3 and the Router serve every Protocol V2 market).

    Raises:
        ValueError: any other version (never guess a contract for money).
    """
    if version == "v1":
        if neg_risk:
            return MarketContracts(version, True, NEG_RISK_EXCHANGE_V2, CTF,
                                   NEG_RISK_CTF_COLLATERAL_ADAPTER)
        return MarketContracts(version, False, EXCHANGE_V2, CTF, CTF_COLLATERAL_ADAPTER)
    if version == "v2":
        return MarketContracts(version, neg_risk, EXCHANGE_V3, POSITION_MANAGER, ROUTER)
    raise ValueError(f"unknown market version {version!r} (expected 'v1' or 'v2')")


@dataclass(frozen=True, slots=True)
class Approval:
    """One approval a wallet needs: ``kind`` ``"erc20"`` (``token.allowance(wallet, spender)``
    must cover the collateral at risk) or ``"erc1155"`` (``token.isApprovedForAll(wallet,
    spender)`` must be true). ``purpose`` says what fails without it."""

    kind: str
    token: str
    spender: str
    purpose: str


def approvals_needed(markets: Iterable[MarketContracts]) -> tuple[Approval, ...]:
    """Every approval the wallet needs to trade, merge and redeem ``markets``, each once, in
    a stable order: pUSD to each exchange (BUY), the ledger to each exchange (SELL), the
    ledger to each collateral target (merge and redeem)."""
    kinds = sorted(set(markets), key=lambda c: (c.version, c.neg_risk))
    out: dict[tuple[str, str, str], Approval] = {}
    for c in kinds:
        out.setdefault(("erc20", PUSD, c.exchange),
                       Approval("erc20", PUSD, c.exchange, "BUY orders"))
    for c in kinds:
        out.setdefault(("erc1155", c.ledger, c.exchange),
                       Approval("erc1155", c.ledger, c.exchange, "SELL orders"))
    for c in kinds:
        out.setdefault(("erc1155", c.ledger, c.collateral_target),
                       Approval("erc1155", c.ledger, c.collateral_target,
                                "merging complete sets and redeeming"))
    return tuple(out.values())
