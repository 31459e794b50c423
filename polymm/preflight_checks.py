"""The rules of pre-flight, as pure functions: each turns what was read into failure lines.

Every failure is one line that names what is wrong and how to fix it (``Failure.line``). The
reads themselves (venue, Gamma, chain) are ``polymm.preflight``'s; nothing here does I/O, so
each rule is tested with plain tables (tests/test_preflight.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from messages import Market
from venue.contracts import Approval, name_of

__all__ = ["Failure", "approval_failures", "clock_failure", "explain_venue_error",
           "funds_failures", "identity_failures", "market_failures", "pol_wei",
           "relayer_failures", "series_failures"]

VALID_TICKS_PIPS = frozenset((1000, 100, 50, 25, 10, 1))
SIGNATURE_TYPES = {0: "EOA", 1: "email/magic proxy", 2: "browser proxy (Safe)",
                   3: "deposit wallet"}


@dataclass(frozen=True, slots=True)
class Failure:
    """One pre-flight failure: the check it belongs to and one line of what to do."""

    check: str
    text: str

    @property
    def line(self) -> str:
        return f"{self.check}: {' '.join(self.text.split())}"


def _usd(micro: int) -> str:
    """Base units as pUSD, exactly and without trailing zeros: 50_000_000 → ``"50"``."""
    text = f"{Decimal(micro) / 1_000_000:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def pol_wei(pol: float) -> int:
    """A POL amount from config as wei (exact for the decimal the YAML wrote)."""
    return int(Decimal(str(pol)) * 10**18)


def identity_failures(signature_type: int, signer: str, funder: str | None,
                      unsupported: Iterable[int] = ()) -> list[Failure]:
    """Key, ``signature_type`` and ``funder`` consistency (protocol §6.2, research §10.7).

    EOA (0): maker = signer = the key's address, so ``funder`` is unset or that address.
    Proxy (1), Safe (2): the maker is the wallet in ``funder``, the signer the key.
    Deposit wallet (3): maker = signer = the wallet in ``funder``, which is not the key.
    """
    out: list[Failure] = []
    same = funder is not None and funder.lower() == signer.lower()
    kind = SIGNATURE_TYPES.get(signature_type, "?")
    if signature_type == 0 and funder is not None and not same:
        out.append(Failure("identity", f"venue.funder is {funder} but signature_type 0 (EOA) "
                           f"trades from the key's own address {signer}: remove venue.funder, "
                           "or set venue.signature_type to 1/2 (proxy, Safe) or 3 (deposit "
                           "wallet) for that wallet"))
    elif signature_type in (1, 2, 3) and funder is None:
        out.append(Failure("identity", f"venue.signature_type {signature_type} ({kind}) needs "
                           "venue.funder: the wallet's address (polymarket.com shows it under "
                           "Settings); or signature_type 0 if the key's own address trades"))
    elif signature_type in (1, 2, 3) and same:
        out.append(Failure("identity", f"venue.funder is the key's own address {signer}, but "
                           f"signature_type {signature_type} ({kind}) trades from a separate "
                           "wallet contract: set venue.funder to the wallet's address, or "
                           "signature_type 0 for a plain EOA"))
    if signature_type in unsupported:
        out.append(Failure("identity", f"signature type {signature_type} ({kind}) is not "
                           "supported yet: its collateral could not be merged or redeemed; "
                           "use a deposit wallet (3) or an allowlisted EOA (0)"))
    return out


def relayer_failures(signature_type: int, *, api_key_set: bool, relayer_url: str
                     ) -> list[Failure]:
    """A deposit wallet (3) merges and redeems through Polymarket's relayer (research
    §10.7): its API key and URL must be set. Other types need neither."""
    if signature_type != 3:
        return []
    out = []
    if not api_key_set:
        out.append(Failure("relayer", "venue.relayer_api_key is not set: a deposit wallet "
                           "(signature_type 3) merges and redeems through Polymarket's "
                           "relayer; create a Relayer API key (polymarket.com → Settings → API "
                           "Keys → Relayer API Keys) and set POLYMM_RELAYER_API_KEY (and "
                           "POLYMM_RELAYER_API_KEY_ADDRESS if it was made for another address)"))
    if not relayer_url:
        out.append(Failure("relayer", "venue.relayer_url is not set and there is no simulated "
                           "venue to default to: set it to https://relayer-v2.polymarket.com"))
    return out


def clock_failure(offset_s: float, max_offset_s: float) -> Failure | None:
    """The venue's clock minus ours (``offset_s``) beyond ``max_offset_s``."""
    if abs(offset_s) <= max_offset_s:
        return None
    way = "behind" if offset_s > 0 else "ahead of"
    return Failure("clock", f"this machine's clock is {abs(offset_s):.1f} s {way} the venue's "
                   f"(GET /time), more than preflight.max_clock_offset_s {max_offset_s:g}: "
                   "signed timestamps would be refused; sync the clock (timedatectl "
                   "set-ntp true, or chrony) and run pre-flight again")


def market_failures(m: Market) -> list[Failure]:
    """What makes one market untradable: its tick, minimum size or accepting flag."""
    out = []
    if m.tick_pips not in VALID_TICKS_PIPS:
        out.append(Failure("markets", f"{m.slug}: tick {m.tick_pips} pips is not one the "
                           "venue uses (0.1 ... 0.0001): Gamma's data is off; do not trade it"))
    if m.min_size_micro <= 0:
        out.append(Failure("markets", f"{m.slug}: no minimum order size (orderMinSize): "
                           "Gamma's data is off; do not trade it"))
    return out


def series_failures(alias: str, slugs: Sequence[str], found: Sequence[Market],
                    where: str) -> list[Failure]:
    """A configured series (or fixed slug) with no market, or none accepting orders."""
    if not found:
        return [Failure("markets", f"Gamma lists no market for {alias} ({slugs[0]}"
                        f"{' …' if len(slugs) > 1 else ''}): check {where} and "
                        "venue.gamma_url")]
    if not any(m.accepting_orders for m in found):
        return [Failure("markets", f"no {alias} market accepts orders now (Gamma "
                        f"acceptingOrders false on all {len(found)}): wait for the next "
                        f"window, or check {where}")]
    return []


def funds_failures(wallet: str, pusd_micro: int, need_micro: int) -> list[Failure]:
    """pUSD on chain below what ``risk.max_notional_usd`` puts at risk."""
    if pusd_micro >= need_micro:
        return []
    return [Failure("collateral", f"the wallet {wallet} holds {_usd(pusd_micro)} pUSD on "
                    f"Polygon, below risk.max_notional_usd {_usd(need_micro)}: deposit pUSD "
                    "to it (polymarket.com → Deposit), or lower risk.max_notional_usd")]


def approval_failures(wallet: str, approvals: Sequence[Approval],
                      allowances: Mapping[tuple[str, str], int],
                      operators: Mapping[tuple[str, str], bool],
                      need_micro: int) -> list[Failure]:
    """Each missing approval of ``approvals`` (read into ``allowances``/``operators`` keyed by
    (token, spender)), with the call that grants it."""
    out = []
    for ap in approvals:
        key = (ap.token, ap.spender)
        if ap.kind == "erc20":
            got = allowances.get(key, 0)
            if got < need_micro:
                out.append(Failure("collateral", f"{wallet}'s pUSD allowance to "
                                   f"{name_of(ap.spender)} is {_usd(got)}, below "
                                   f"risk.max_notional_usd {_usd(need_micro)} ({ap.purpose} "
                                   "fail): approve it from "
                                   f"the wallet (pUSD.approve({ap.spender}, max); "
                                   "polymarket.com sets it on the first trade)"))
        elif not operators.get(key, False):
            out.append(Failure("collateral", f"{wallet} has not approved "
                               f"{name_of(ap.spender)} on {name_of(ap.token)} ({ap.purpose} "
                               f"fail): call {name_of(ap.token).split(' (')[0]}"
                               f".setApprovalForAll({ap.spender}, true) from the wallet"))
    return out


_EXPLAINED: tuple[tuple[str, str], ...] = (
    ("maker address not allowed",
     "the venue does not allowlist this EOA as a maker (signature_type 0): use a deposit "
     "wallet (venue.signature_type 3, venue.funder = the wallet; README \"Going live\"), or "
     "have the EOA allowlisted"),
    ("not enough balance / allowance",
     "the wallet lacks pUSD or an approval for this order: run bin/polymm preflight, which "
     "names what is missing"),
    ("address in closed only mode",
     "the account is in closed-only mode: only orders that reduce a position are accepted"),
    ("address banned", "the venue has banned this address"),
    ("has to be the address of the api key",
     "the order's signer is not the API key's address: venue.signature_type or venue.funder "
     "does not match the key"),
)


def explain_venue_error(message: str) -> str | None:
    """A one-line explanation and fix for a venue refusal that pre-flight knows, or None."""
    text = message.lower()
    return next((why for needle, why in _EXPLAINED if needle in text), None)
