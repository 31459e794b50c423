"""Pre-flight: its rules as tables, then every check against a real simulated venue and chain.

Against the simulator, a funded and approved account passes; each broken account (unfunded,
unapproved, no POL, a wrong funder or signature type, a skewed venue clock, a geoblock,
closed-only, an EOA the venue does not allowlist, bad API credentials) fails with its own line
and only that line. Each case has its own key, so the accounts it breaks are its own.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from eth_account import Account

from messages import ConditionId, Market, TokenId
from polymm.cli import main
from polymm.config import DEFAULT_PATH, load_config
from polymm.preflight import Report, run_checks
from polymm.preflight_checks import (
    Failure,
    approval_failures,
    clock_failure,
    explain_venue_error,
    funds_failures,
    identity_failures,
    market_failures,
    series_failures,
)
from polymm.wiring import build_venue
from sim.process import SimProcess
from tests.test_sim_support import start_sim
from venue import contracts as c
from venue.auth import ApiCreds

pytestmark = pytest.mark.timeout(120)

A = "0x" + "aa" * 20
B = "0x" + "bb" * 20


# -- the rules ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sig", "funder", "unsupported", "expected"), [
    (0, None, (), []),
    (0, A, (), []),                       # the key's own address, in another case
    (0, A.upper().replace("0X", "0x"), (), []),
    (0, B, (), ["signature_type 0 (EOA) trades from the key's own address"]),
    (1, B, (), []),
    (2, B, (), []),
    (3, B, (), []),
    (1, None, (), ["signature_type 1 (email/magic proxy) needs venue.funder"]),
    (2, None, (), ["signature_type 2 (browser proxy (Safe)) needs venue.funder"]),
    (3, None, (), ["signature_type 3 (deposit wallet) needs venue.funder"]),
    (3, A, (), ["venue.funder is the key's own address"]),
    (2, B, (1, 2), ["signature type 2 (browser proxy (Safe)) is not supported yet"]),
])
def test_identity_rules(sig: int, funder: str | None, unsupported: tuple[int, ...],
                        expected: list[str]) -> None:
    got = identity_failures(sig, A, funder, unsupported)
    assert [f.check for f in got] == ["identity"] * len(expected)
    assert all(e in f.line for e, f in zip(expected, got, strict=True)), got


@pytest.mark.parametrize(("offset", "fails", "words"), [
    (0.0, False, ""), (4.9, False, ""), (-5.0, False, ""),
    (5.1, True, "5.1 s behind the venue's"), (-120.0, True, "120.0 s ahead of the venue's")])
def test_clock_rule(offset: float, fails: bool, words: str) -> None:
    f = clock_failure(offset, 5.0)
    assert (f is not None) == fails
    if f is not None:
        assert f.check == "clock" and words in f.line and "sync the clock" in f.line


def _market(**kw: Any) -> Market:
    base: dict[str, Any] = dict(
        condition_id=ConditionId("0x" + "01" * 32), slug="btc-updown-15m-1", alias="btc-15m",
        question="q", token_ids=(TokenId("1"), TokenId("2")), outcomes=("Up", "Down"),
        version="v1", neg_risk=False, tick_pips=100, min_size_micro=5_000_000, start_ms=0,
        end_ms=1, accepting_orders=True)
    return Market(**{**base, **kw})


@pytest.mark.parametrize(("market", "expected"), [
    (_market(), []), (_market(tick_pips=100), []), (_market(tick_pips=30), ["tick 30 pips"]),
    (_market(min_size_micro=0), ["no minimum order size"])])
def test_market_rules(market: Market, expected: list[str]) -> None:
    got = market_failures(market)
    assert len(got) == len(expected) and all(e in f.line for e, f in zip(expected, got,
                                                                        strict=True))


@pytest.mark.parametrize(("found", "expected"), [
    ([_market()], None), ([], "Gamma lists no market for btc-15m"),
    ([_market(accepting_orders=False)] * 2, "acceptingOrders false on all 2")])
def test_series_rule(found: list[Market], expected: str | None) -> None:
    got = series_failures("btc-15m", ["btc-updown-15m-1", "btc-updown-15m-2"], found,
                          "discovery.series[0]")
    assert [expected in f.line for f in got] == ([True] if expected else [])


def test_funds_and_approval_rules() -> None:
    assert funds_failures(A, 50_000_000, 50_000_000) == []
    (f,) = funds_failures(A, 12_340_000, 50_000_000)
    assert "holds 12.34 pUSD" in f.line and "risk.max_notional_usd 50" in f.line
    aps = c.approvals_needed([c.contracts_for("v1", False)])
    ok_allow = {(c.PUSD, c.EXCHANGE_V2): 50_000_000}
    ok_ops = {(c.CTF, c.EXCHANGE_V2): True, (c.CTF, c.CTF_COLLATERAL_ADAPTER): True}
    assert approval_failures(A, aps, ok_allow, ok_ops, 50_000_000) == []
    got = approval_failures(A, aps, {(c.PUSD, c.EXCHANGE_V2): 49_999_999},
                            {(c.CTF, c.EXCHANGE_V2): True}, 50_000_000)
    assert [f.line.split(":")[0] for f in got] == ["collateral", "collateral"]
    assert "allowance to CTF Exchange V2 (0xE111…996B) is 49.999999" in got[0].line
    assert ("has not approved CtfCollateralAdapter" in got[1].line
            and "Conditional Tokens.setApprovalForAll(0xAdA100" in got[1].line)


@pytest.mark.parametrize(("message", "words"), [
    ("maker address not allowed, please use the deposit wallet flow", "deposit wallet"),
    ("400: not enough balance / allowance", "lacks pUSD"),
    ("'0xab' address in closed only mode", "closed-only"),
    ("invalid post-only order: order crosses book", None)])
def test_explained_venue_errors(message: str, words: str | None) -> None:
    why = explain_venue_error(message)
    assert (why is None) if words is None else (why is not None and words in why)


def test_a_failure_is_one_line() -> None:
    assert Failure("gas", "a\n  b   c").line == "gas: a b c"


# -- against the simulated venue ------------------------------------------------------------------

@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    proc = start_sim("--seed", "23")
    yield proc
    proc.stop()


def _key(n: int) -> str:
    return "0x" + f"{n:02x}" * 32


def _addr(n: int) -> str:
    return str(Account.from_key(_key(n)).address)


def _check(sim: SimProcess, monkeypatch: pytest.MonkeyPatch, key: int,
           overrides: dict[str, object], tweak: Callable[[Any], Any] | None = None) -> Report:
    monkeypatch.setenv("POLYMM_PRIVATE_KEY", _key(key))
    cfg = load_config(DEFAULT_PATH, overrides={"sim.window_seconds": 900, **overrides})
    venue = build_venue(cfg, sim.base_url)
    try:
        return run_checks(cfg, tweak(venue) if tweak else venue, sim_base_url=sim.base_url,
                          sim_chain_url=sim.chain_url)
    finally:
        venue.client.close()
        venue.gamma.close()


WALLET = _addr(0x71)   # a deposit wallet (a contract on the simulated chain)
EOA = _addr(0x72)      # an address without code

CASES: list[tuple[str, int, dict[str, object], Callable[[SimProcess, str], Any] | None,
                  Callable[[Any], Any] | None, list[tuple[str, str]]]] = [
    ("funded and approved EOA", 0x51, {}, None, None, []),
    ("deposit wallet without a relayer key", 0x52, {"venue.signature_type": 3,
                                                   "venue.funder": WALLET},
     lambda s, _: s.account(WALLET, contract=True), None,
     [("relayer", "venue.relayer_api_key is not set")]),  # with one: test_preflight_relayer
    ("unfunded", 0x53, {}, lambda s, who: s.account(who, funded=False), None,
     [("collateral", "holds 0 pUSD on Polygon"), ("gas", "holds 0 POL")]),
    ("unapproved", 0x54, {}, lambda s, who: s.account(who, approved=False), None,
     [("collateral", "pUSD allowance to CTF Exchange V2"),
      ("collateral", "has not approved CTF Exchange V2 (0xE111…996B) on Conditional Tokens"),
      ("collateral", "has not approved CtfCollateralAdapter")]),
    ("no POL", 0x55, {}, lambda s, who: s.account(who, pol="0.01"), None,
     [("gas", "holds 0.01 POL, below preflight.min_gas_pol 0.05")]),
    ("EOA with another funder", 0x56, {"venue.funder": EOA}, None, None,
     [("identity", "signature_type 0 (EOA) trades from the key's own address")]),
    ("Safe without a funder", 0x57, {"venue.signature_type": 2}, None, None,
     [("identity", "signature_type 2 (browser proxy (Safe)) needs venue.funder")]),
    ("deposit wallet that is the key", 0x58, {"venue.signature_type": 3,
                                              "venue.funder": _addr(0x58)}, None, None,
     [("identity", "venue.funder is the key's own address"),
      ("relayer", "venue.relayer_api_key is not set")]),
    ("proxy whose funder is not a contract", 0x59, {"venue.signature_type": 1,
                                                    "venue.funder": EOA}, None, None,
     [("identity", f"venue.funder {EOA} has no contract on Polygon")]),
    ("clock skew", 0x5a, {}, lambda s, _: s.skew_clock(120), None,
     [("clock", "behind the venue's (GET /time), more than preflight.max_clock_offset_s 5")]),
    ("geoblocked", 0x5b, {}, lambda s, _: s.set_geoblock(True), None,
     [("access", "Polymarket blocks orders from this machine's IP 127.0.0.1 (country US")]),
    ("closed-only", 0x5c, {}, lambda s, who: s.account(who, closed_only=True), None,
     [("access", "is in closed-only mode")]),
    ("EOA not allowlisted", 0x5d, {}, lambda s, who: s.account(who, eoa_allowed=False), None,
     [("identity", "maker address not allowed, please use the deposit wallet flow (the venue "
                   "does not allowlist this EOA")]),
    ("bad API credentials", 0x5e, {}, None,
     lambda v: dataclasses.replace(v, creds=ApiCreds(api_key=v.creds.api_key,
                                                     secret="A" * 43 + "=", passphrase="x")),
     [("identity", "the venue refused the API credentials")]),
]


@pytest.mark.parametrize(("name", "key", "overrides", "setup", "tweak", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_preflight_against_the_sim(sim: SimProcess, monkeypatch: pytest.MonkeyPatch, name: str,
                                   key: int, overrides: dict[str, object],
                                   setup: Callable[[SimProcess, str], Any] | None,
                                   tweak: Callable[[Any], Any] | None,
                                   expected: list[tuple[str, str]]) -> None:
    if setup is not None:
        setup(sim, _addr(key))
    try:
        report = _check(sim, monkeypatch, key, overrides, tweak)
    finally:
        sim.skew_clock(0)
        sim.set_geoblock(False)
    lines = report.lines()
    assert len(lines) == len(expected), lines
    for (check, words), line in zip(expected, lines, strict=True):
        assert line.startswith(check + ": ") and words in line, line
        assert "\n" not in line
    if not expected:
        assert report.ok and report.markets and report.heartbeat_id
        assert report.pusd_micro == 100_000 * 10**6 and not report.use_venue_clock


def test_a_venue_clock_a_little_off_is_used_not_refused(sim: SimProcess,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    sim.skew_clock(3)
    try:
        report = _check(sim, monkeypatch, 0x5f, {})
    finally:
        sim.skew_clock(0)
    assert report.ok, report.lines()
    assert report.use_venue_clock and 2 < (report.clock_offset_s or 0) < 4


def test_the_command(sim: SimProcess, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("POLYMM_PRIVATE_KEY", _key(0x60))
    args = ["preflight", "--venue-url", sim.base_url, "--set", "sim.window_seconds=900"]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["failures"] == []
    assert report["collateral"]["approvals"] == {
        "Conditional Tokens → CTF Exchange V2": True,
        "Conditional Tokens → CtfCollateralAdapter": True}
    sim.account(_addr(0x60), pusd="1.5")
    assert main(args) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("collateral: the wallet ") and "holds 1.5 pUSD" in out[0]
    assert out[-1].startswith("preflight: 1 failed (signer ")
