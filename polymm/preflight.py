"""Pre-flight: the checks that must pass before real money trades (research §11).

``run_checks(cfg, venue)`` reads the venue, Gamma and the chain, applies the rules of
``polymm.preflight_checks``, and returns a ``Report`` whose ``failures`` are one line each
(what is wrong, how to fix it). ``bin/polymm preflight`` prints them; ``run --live`` refuses
to start unless ``report.ok``. In order:

1. **identity**: key, ``signature_type`` and ``funder`` agree; the API credentials are valid
   for the key's address (``GET /auth/api-keys``); for types 1-3 the wallet is a contract on
   chain (``eth_getCode``).
2. **clock**: the offset to ``GET /time``. Beyond ``preflight.max_clock_offset_s`` it fails;
   beyond ``preflight.venue_clock_above_s`` the report says to sign L2 timestamps with the
   venue's clock (``use_venue_clock``, ``clock_offset_s``).
3. **access**: geoblock (``venue.geoblock_url``) and closed-only status.
4. **markets**: the configured series and slugs on Gamma: tick, minimum size, fee schedule
   (a note), accepting orders; one heartbeat round trip; for an EOA (type 0) a probe order
   (post-only BUY of the minimum size at the lowest tick, cancelled at once) so a venue that
   does not allowlist the EOA says so now ("maker address not allowed").
5. **collateral**, on chain via ``venue.rpc_url`` (``/balance-allowance`` is only a note: it is
   right for type 0 only): pUSD of the wallet, the allowances and approvals every market kind
   found needs (``venue.contracts.approvals_needed``), all against ``risk.max_notional_usd``.
6. **gas**: POL of the EOA, for type 0 (it sends its own transactions).
7. **relayer**, for type 3: its API key is set and the relayer answers the nonce route with it
   (``polymm.preflight_relayer``).

Runs on the main thread before any actor starts; every read has a timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from actors.discovery import wanted_slugs
from messages import Market
from messages.errors import InvalidHeartbeat, PolymmError, Unauthorized
from messages.ids import Side
from polymm.config_schema import PreflightConfig
from polymm.preflight_checks import (
    Failure,
    approval_failures,
    clock_failure,
    explain_venue_error,
    funds_failures,
    identity_failures,
    market_failures,
    pol_wei,
    series_failures,
)
from polymm.preflight_relayer import relayer_check, resolve_relayer_url
from polymm.wiring import PrivateSide, Venue
from venue.account import AccountReads, read_geoblock
from venue.chain import ChainClient
from venue.contracts import PUSD, approvals_needed, contracts_for, name_of
from venue.gamma_events import build_markets
from venue.keepalive import KeepAliveAdapter, new_session
from venue.orders import BUY, Order, exchange_for, limit_order_amounts_int, order_body

__all__ = ["GEOBLOCK_URL", "Report", "Settings", "resolve_relayer_url", "resolve_urls",
           "run_checks", "settings_of"]

GEOBLOCK_URL = "https://polymarket.com/api/geoblock"


Settings = PreflightConfig
"""The ``preflight`` section (``polymm.config_schema.PreflightConfig``)."""


def settings_of(cfg: Any) -> Settings:
    return cfg.preflight  # type: ignore[no-any-return]


@dataclass(slots=True)
class Report:
    """What pre-flight found. ``ok`` when there is no failure; ``notes`` never fail it."""

    signer: str
    maker: str
    signature_type: int
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    clock_offset_s: float | None = None
    use_venue_clock: bool = False
    markets: tuple[Market, ...] = ()
    pusd_micro: int | None = None
    pol_wei: int | None = None
    allowances: dict[str, int] = field(default_factory=dict)
    approvals: dict[str, bool] = field(default_factory=dict)
    heartbeat_id: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures

    def lines(self) -> list[str]:
        return [f.line for f in self.failures]

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "failures": self.lines(), "notes": list(self.notes),
            "signer": self.signer, "maker": self.maker, "signature_type": self.signature_type,
            "clock_offset_s": self.clock_offset_s, "use_venue_clock": self.use_venue_clock,
            "markets": [{"slug": m.slug, "alias": m.alias, "version": m.version,
                         "neg_risk": m.neg_risk, "tick_pips": m.tick_pips,
                         "min_size_micro": m.min_size_micro,
                         "accepting_orders": m.accepting_orders,
                         "taker_fee_rate_bps": m.taker_fee_rate_bps,
                         "maker_rebate_bps": m.maker_rebate_bps} for m in self.markets],
            # Allowances as strings: "unlimited" is 2**256 - 1, beyond a JSON double.
            "collateral": {"pusd_micro": self.pusd_micro,
                           "allowances": {k: str(v) for k, v in self.allowances.items()},
                           "approvals": self.approvals},
            "pol_wei": self.pol_wei,
        }


def _sim_chain_url(sim_base_url: str) -> str:
    session = new_session(KeepAliveAdapter(sim_base_url, connect_timeout_s=5, timeout_s=5))
    try:
        state = orjson.loads(session.get(sim_base_url.rstrip("/") + "/_sim/state").content)
    finally:
        session.close()
    url = state.get("chain_url") if isinstance(state, dict) else None
    if not isinstance(url, str) or not url:
        raise PolymmError("the simulated venue serves no chain (no chain_url in /_sim/state)")
    return url


def resolve_urls(cfg: Any, sim_base_url: str | None,
                 sim_chain_url: str | None = None) -> tuple[str, str]:
    """``(rpc_url, geoblock_url)``, with ``sim`` resolved against the simulated venue; ``""``
    when unset."""
    secret = cfg.venue.rpc_url
    rpc = "sim" if secret is None else str(secret.reveal())
    geo = cfg.venue.geoblock_url or (GEOBLOCK_URL if cfg.mode == "live" else "sim")
    if rpc == "sim":
        rpc = sim_chain_url or (_sim_chain_url(sim_base_url) if sim_base_url else "")
    if geo == "sim":
        geo = f"{sim_base_url.rstrip('/')}/api/geoblock" if sim_base_url else ""
    return rpc, geo


def _guard(report: Report, check: str, fn: Callable[[], None]) -> bool:
    """Run one check; an error it could not turn into a failure line becomes one. True if
    it ran through."""
    try:
        fn()
    except Unauthorized as exc:
        report.failures.append(Failure(check, f"the venue refused the API credentials "
                                       f"({exc.message}): unset POLYMM_API_KEY/SECRET/"
                                       "PASSPHRASE to derive them from the key, or create new "
                                       "ones"))
        return False
    except (PolymmError, ValueError, OSError) as exc:
        why = explain_venue_error(str(exc))
        report.failures.append(Failure(check, f"{type(exc).__name__}: {exc}"
                                       + (f" ({why})" if why else "")))
        return False
    return True


def run_checks(cfg: Any, venue: Venue, *, sim_base_url: str | None = None,
               sim_chain_url: str | None = None, unsupported_signature_types: Iterable[int] = (),
               clock: Callable[[], float] = time.time) -> Report:
    """Every pre-flight check for ``cfg`` and ``venue``.

    Raises:
        PolymmError: ``venue`` is a dry run's (no signer, REST client or credentials).
    """
    side = venue.private()
    vc = cfg.venue
    sig = int(vc.signature_type)
    signer = str(side.signer.address)
    report = Report(signer=signer, maker=str(venue.maker), signature_type=sig)
    settings = settings_of(cfg)
    report.failures += identity_failures(sig, signer, vc.funder, unsupported_signature_types)
    if _guard(report, "clock", lambda: _clock(report, side, settings, clock)):
        offset = report.clock_offset_s or 0.0
        reads = AccountReads(venue.urls.clob, address=signer, creds=side.creds,
                             clock=lambda: int(clock() + (offset if report.use_venue_clock
                                                          else 0)),
                             timeout_s=vc.http_timeout_s, connect_timeout_s=vc.connect_timeout_s)
        try:
            if _guard(report, "identity", lambda: _creds(report, side, reads)):
                _guard(report, "access", lambda: _closed_only(report, reads))
                _guard(report, "markets", lambda: _markets(report, cfg, venue, side, clock))
                _guard(report, "heartbeat", lambda: _heartbeat(report, side))
                # Only on a clean slate: a refusal for a reason already reported (closed-only,
                # funds) would be the same failure twice.
                if sig == 0 and settings.probe_order and report.markets and report.ok:
                    _guard(report, "identity", lambda: _probe(report, side, clock))
                _guard(report, "collateral", lambda: _clob_balance(report, reads))
        finally:
            reads.close()
    rpc_url, geo_url = resolve_urls(cfg, sim_base_url, sim_chain_url)
    if geo_url:
        _guard(report, "access", lambda: _geoblock(report, geo_url, vc.http_timeout_s))
    else:
        report.notes.append("access: geoblock not checked (venue.geoblock_url unset)")
    if sig == 3:
        report.failures += relayer_check(cfg, signer, sim_base_url)
    if not rpc_url:
        report.failures.append(Failure("collateral", "venue.rpc_url is not set: pUSD, "
                                       "approvals and gas cannot be checked on chain; set it "
                                       "to a Polygon JSON-RPC URL (!ENV POLYMM_RPC_URL)"))
        return report
    chain = ChainClient(rpc_url, timeout_s=settings.rpc_timeout_s,
                        connect_timeout_s=min(settings.rpc_timeout_s, 5.0))
    try:
        _guard(report, "collateral", lambda: _chain(report, cfg, chain, settings))
    finally:
        chain.close()
    return report


def _clock(report: Report, side: PrivateSide, settings: Settings,
           clock: Callable[[], float]) -> None:
    t0 = clock()
    venue_s = side.client.server_time()
    t1 = clock()
    # /time is whole seconds: compare with the middle of the round trip, to within ~0.5 s.
    offset = venue_s + 0.5 - (t0 + t1) / 2
    report.clock_offset_s = round(offset, 3)
    report.use_venue_clock = abs(offset) > settings.venue_clock_above_s
    failure = clock_failure(offset, settings.max_clock_offset_s)
    if failure is not None:
        report.failures.append(failure)
    elif report.use_venue_clock:
        report.notes.append(f"clock: {offset:+.1f} s to the venue: L2 timestamps use the "
                            "venue's clock")


def _creds(report: Report, side: PrivateSide, reads: AccountReads) -> None:
    keys = reads.api_keys()
    if side.creds.api_key not in keys:
        report.failures.append(Failure("identity", f"the API key is not one of "
                                       f"{report.signer}'s ({len(keys)} listed): unset "
                                       "POLYMM_API_KEY/SECRET/PASSPHRASE to derive them from "
                                       "the key"))


def _closed_only(report: Report, reads: AccountReads) -> None:
    if reads.closed_only():
        report.failures.append(Failure("access", f"{report.signer} is in closed-only mode: "
                                       "the venue accepts only orders that reduce a position "
                                       "(polymarket.com support can say why)"))


def _geoblock(report: Report, url: str, timeout_s: float) -> None:
    g = read_geoblock(url, timeout_s=max(2.0, timeout_s))
    if g.blocked:
        report.failures.append(Failure("access", f"Polymarket blocks orders from this "
                                       f"machine's IP {g.ip} (country {g.country}, region "
                                       f"{g.region or '-'}): run the bot from an allowed region"))


def _markets(report: Report, cfg: Any, venue: Venue, side: PrivateSide,
             clock: Callable[[], float]) -> None:
    d = cfg.discovery
    now = clock()
    wanted = wanted_slugs(d.series, d.slugs, now)
    errors: list[Failure] = []
    events = venue.gamma.events_by_slug(list(wanted))
    markets = build_markets(events, wanted, int(now * 1000),
                            lambda slug, exc: errors.append(Failure("markets", f"{exc}")))
    report.markets = markets
    report.failures += errors
    groups: dict[str, tuple[list[str], str]] = {}
    for slug, (alias, _, _) in wanted.items():
        where = next((f"discovery.series[{i}]" for i, s in enumerate(d.series)
                      if alias == f"{s.asset}-{s.interval}"), "discovery.slugs")
        groups.setdefault(alias, ([], where))[0].append(slug)
    for alias, (slugs, where) in groups.items():
        found = [m for m in markets if m.alias == alias or m.alias.startswith(alias + "-")]
        report.failures += series_failures(alias, slugs, found, where)
    for m in markets:
        report.failures += market_failures(m)
        if m.taker_fee_rate_bps == 0:
            report.notes.append(f"markets: {m.slug}: no taker fee schedule (fee-free)")
    for m in markets[:1]:
        tick = side.client.get_tick_size(m.token_ids[0])
        if tick != m.tick_pips:
            report.notes.append(f"markets: {m.slug}: Gamma says tick {m.tick_pips} pips, the "
                                f"CLOB {tick} (the CLOB's is used)")


def _heartbeat(report: Report, side: PrivateSide) -> None:
    try:
        report.heartbeat_id = side.client.heartbeat("")
    except InvalidHeartbeat as exc:  # an earlier session's chain: continue it once
        report.heartbeat_id = side.client.heartbeat(exc.expected_id)


def _probe(report: Report, side: PrivateSide, clock: Callable[[], float]) -> None:
    """A post-only BUY of the minimum size at the lowest tick, cancelled at once: the venue
    refuses it from an EOA it does not allowlist (research §11.0 step 7)."""
    m = next((m for m in report.markets if m.accepting_orders), None)
    if m is None:
        return
    maker_amt, taker_amt = limit_order_amounts_int(Side.BUY, m.tick_pips, m.min_size_micro,
                                                   m.tick_pips)
    order = Order.create(maker=report.maker, signer=report.signer, token_id=m.token_ids[0],
                         maker_amount=maker_amt, taker_amount=taker_amt, side=BUY,
                         timestamp_ms=int(clock() * 1000), signature_type=0)
    exchange, domain = exchange_for(m.version, m.neg_risk)
    order_hash, sig = side.signer.sign_with_hash(order, exchange=exchange,
                                                 domain_version=domain)
    try:
        side.client.post_order(order_body(order, sig, owner=side.creds.api_key))
    except PolymmError as exc:
        why = explain_venue_error(str(exc))
        if "crosses" in str(exc) or "not enough balance" in str(exc):
            report.notes.append(f"identity: the probe order on {m.slug} was refused ({exc}): "
                                "EOA allowlisting not confirmed")
            return
        report.failures.append(Failure("identity", f"the venue refused a probe order on "
                                       f"{m.slug}: {exc}" + (f" ({why})" if why else "")))
        return
    side.client.cancel_order(order_hash)


def _clob_balance(report: Report, reads: AccountReads) -> None:
    ba = reads.balance_allowance(asset_type="COLLATERAL", signature_type=report.signature_type)
    report.notes.append(f"collateral: the CLOB's cached pUSD balance is "
                        f"{ba.balance_micro / 1e6:g} (informational: the chain is read below)")


def _chain(report: Report, cfg: Any, chain: ChainClient, settings: Settings) -> None:
    got = chain.chain_id()
    if got != cfg.venue.chain_id:
        report.failures.append(Failure("collateral", f"venue.rpc_url serves chain {got}, not "
                                       f"{cfg.venue.chain_id} (Polygon): point it at a Polygon "
                                       "node"))
        return
    wallet, sig = report.maker, report.signature_type
    if sig in (1, 2, 3) and wallet.lower() != report.signer.lower() \
            and not chain.code(wallet):
        report.failures.append(Failure("identity", f"venue.funder {wallet} has no contract on "
                                       f"Polygon, but signature_type {sig} needs a deployed "
                                       "wallet: check the address (polymarket.com → Settings), "
                                       "or signature_type 0 for a plain EOA"))
    need = int(cfg.risk.max_notional_usd) * 1_000_000
    kinds = {contracts_for(m.version, m.neg_risk) for m in report.markets} \
        or {contracts_for("v1", False)}
    approvals = approvals_needed(kinds)
    report.pusd_micro = chain.erc20_balance(PUSD, wallet)
    report.failures += funds_failures(wallet, report.pusd_micro, need)
    allowances: dict[tuple[str, str], int] = {}
    operators: dict[tuple[str, str], bool] = {}
    for ap in approvals:
        key = (ap.token, ap.spender)
        label = f"{name_of(ap.token).split(' (')[0]} → {name_of(ap.spender).split(' (')[0]}"
        if ap.kind == "erc20":
            allowances[key] = chain.erc20_allowance(ap.token, wallet, ap.spender)
            report.allowances[label] = allowances[key]
        else:
            operators[key] = chain.is_approved_for_all(ap.token, wallet, ap.spender)
            report.approvals[label] = operators[key]
    report.failures += approval_failures(wallet, approvals, allowances, operators, need)
    if sig == 0:
        report.pol_wei = chain.balance_wei(report.signer)
        least = pol_wei(settings.min_gas_pol)
        if report.pol_wei < least:
            report.failures.append(Failure("gas", f"{report.signer} holds "
                                           f"{report.pol_wei / 1e18:g} POL, below "
                                           f"preflight.min_gas_pol {settings.min_gas_pol:g}: "
                                           "send POL to it (an EOA pays gas for its merges, "
                                           "redeems and approvals)"))
