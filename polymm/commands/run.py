"""``bin/polymm run``: the bot, by default against a simulated venue it starts itself."""

from __future__ import annotations

import argparse
import faulthandler
import json
import logging
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NotRequired, TypedDict

from messages.errors import ConfigError, PolymmError
from polymm.config_modes import PAPER_ONLY_HINT, is_loopback_url
from polymm.config_schema import MASK

if TYPE_CHECKING:
    from actors.treasury import TreasuryStats
    from polymm.config_schema import Config
    from polymm.health import PnlReport, ShutdownResult
    from polymm.supervisor import Supervisor
    from polymm.wiring import Venue
    from sim.process import SimProcess

HELP = "run the market maker (default: against a simulated venue started as a child process)"
logger = logging.getLogger("polymm.run")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="config file (default conf/default.yaml)")
    p.add_argument("--duration", type=float, help="stop by itself after this many seconds")
    p.add_argument("--venue-url", help="use an already running simulated venue at this URL")
    p.add_argument("--live", action="store_true",
                   help="trade on Polymarket (also needs mode: live in the config)")
    p.add_argument("--faults", help="fault profile for the simulated venue it starts")
    p.add_argument("--seed", type=int, help="seed for the simulated venue it starts")
    p.add_argument("--window-seconds", type=int, help="window length of the simulated venue")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set quoter.half_spread_pips=200 "
                        "(VALUE is read as YAML)")
    p.add_argument("--summary", default="var/run-summary.json",
                   help="where to write the run summary JSON (default var/run-summary.json)")


def _check_args(args: argparse.Namespace) -> None:
    if args.duration is not None and args.duration <= 0:
        raise PolymmError(f"--duration: expected > 0 seconds, got {args.duration}")
    if args.window_seconds is not None and args.window_seconds < 10:
        raise PolymmError(f"--window-seconds: expected >= 10, got {args.window_seconds}")


def parse_overrides(items: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` pairs; VALUE is parsed as YAML (so numbers and booleans keep types)."""
    import yaml

    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise PolymmError(f"--set: expected KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError as exc:
            raise PolymmError(f"--set {key}: value is not valid YAML: {exc}") from None
    return out


def load(args: argparse.Namespace) -> Config:
    from polymm.config import load_config

    overrides: dict[str, object] = parse_overrides(getattr(args, "overrides", []))
    if args.seed is not None:
        overrides["sim.seed"] = args.seed
    if args.window_seconds is not None:
        overrides["sim.window_seconds"] = args.window_seconds
    if args.faults is not None:
        overrides["sim.faults"] = args.faults
    cfg = load_config(args.config, overrides=overrides)
    check_mode(cfg, live_flag=bool(args.live), venue_url=args.venue_url)
    return cfg


def check_mode(cfg: Config, *, live_flag: bool, venue_url: str | None) -> None:
    """The mode and the command line must agree: ``--live`` exactly with ``mode: live``, and
    ``--venue-url`` only for a simulated venue on loopback (never with real money)."""
    live = cfg.mode == "live"
    if live != live_flag:
        raise ConfigError([f"mode: the config says mode: {cfg.mode} but --live was "
                           f"{'given' if live_flag else 'not given'}; both must agree"])
    if live and venue_url:
        raise ConfigError(["--venue-url: not allowed with --live"])
    if venue_url and not is_loopback_url(venue_url):
        raise ConfigError([f"--venue-url: mode {cfg.mode} trades only against the simulated "
                           f"venue on loopback, got {venue_url!r}; {PAPER_ONLY_HINT}"])


def setup_logging(cfg: Config) -> None:
    """Log to stderr and, when ``logging.file`` is set, to that file too (appended, same
    format). ``redact_logs`` later puts the secret filter on every root handler, this one too.

    Raises:
        ConfigError: ``logging.file`` cannot be opened for appending (before anything started).
    """
    fmt = "%(asctime)s %(levelname)-5s [%(threadName)s] %(name)s: %(message)s"
    level = getattr(logging, str(cfg.logging.level).upper(), logging.INFO)
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr)
    root = logging.getLogger()
    root.setLevel(level)  # basicConfig leaves a root configured before (in-process) as it is
    if cfg.logging.file:
        path = Path(cfg.logging.file)
        if not any(isinstance(h, logging.FileHandler)
                   and Path(h.baseFilename) == path.resolve() for h in root.handlers):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                handler = logging.FileHandler(path, encoding="utf-8")
            except OSError as exc:
                raise ConfigError([f"logging.file: {path}: cannot open for appending: "
                                   f"{exc.strerror or exc}"]) from None
            handler.setFormatter(logging.Formatter(fmt))
            root.addHandler(handler)
    # SIGUSR1 dumps every thread's stack (a hung bot explains itself).
    faulthandler.register(signal.SIGUSR1, all_threads=True)


def run(args: argparse.Namespace) -> int:
    _check_args(args)
    cfg = load(args)
    if cfg.event_log.enabled:  # before a simulated venue or any actor is started
        from actors.event_log import journal_dir_errors

        errors = journal_dir_errors(cfg.event_log.dir)
        if errors:
            raise ConfigError(errors)
    setup_logging(cfg)
    sim = None
    sim_url = args.venue_url
    try:
        if sim_url is None and cfg.sim.enabled and cfg.mode != "live":
            from sim.process import SimProcess

            sim = SimProcess(sim_args(cfg))
            sim.start()
            sim_url = sim.base_url
            logger.info("simulated venue at %s", sim_url)
        return _run_bot(cfg, args, sim_url, sim)
    finally:
        if sim is not None:
            sim.stop()


def sim_args(cfg: Config) -> list[str]:
    s = cfg.sim
    out = ["--window-seconds", str(s.window_seconds), "--seed", str(s.seed),
           "--assets", ",".join(s.assets)]
    if s.faults:
        out += ["--faults", s.faults]
    if s.noise_rate_per_s is not None:
        out += ["--noise-rate", str(s.noise_rate_per_s)]
    return out


class SecretFilter(logging.Filter):
    """A handler filter that masks known secret strings in every record it passes.

    Defence in depth behind the rule that secrets are never logged: raw frames at DEBUG (the
    user channel labels our orders with our API key), a venue's error text, a traceback. The
    message is formatted once, masked, and stored back (``args`` cleared).
    """

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def _mask(self, text: str) -> str:
        for s in self._secrets:
            if s in text:
                text = text.replace(s, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        masked = self._mask(msg)
        if masked is not msg:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._mask(record.exc_text)
        return True


def redact_logs(venue: Venue, cfg: Config | None = None) -> None:
    """Mask this run's API credentials (and the relayer API key and the RPC URL, which may
    embed a provider key) in everything the root logging handlers emit.

    (The signing key stays inside the signer and is never formatted anywhere.)
    """
    c = venue.creds
    if c is None:  # a dry run holds no secret
        return
    extra = [] if cfg is None else [str(s.reveal()) for s in (
        cfg.venue.relayer_api_key, cfg.venue.rpc_url) if s is not None]
    flt = SecretFilter([s for s in (c.api_key, c.secret, c.passphrase, *extra) if s])
    for handler in logging.getLogger().handlers:
        handler.addFilter(flt)


# The Treasury acts for EOAs and deposit wallets only: proxy and Safe accounts (legacy) would
# not get their collateral back, so a live start refuses them (README "Going live").
UNSUPPORTED_SIGNATURE_TYPES = (1, 2)


def preflight(cfg: Config, venue: Venue) -> None:
    """The pre-flight checks (``polymm.preflight``) before a live start: a failure refuses it,
    one line each; a venue clock off by more than ``preflight.venue_clock_above_s`` is used
    for the L2 timestamps from here on.

    Raises:
        ConfigError: a check failed (before any actor started).
    """
    from polymm.preflight import run_checks

    report = run_checks(cfg, venue, unsupported_signature_types=UNSUPPORTED_SIGNATURE_TYPES)
    for note in report.notes:
        logger.warning("pre-flight: %s", note)
    if not report.ok:
        raise ConfigError([f"pre-flight: {line}" for line in report.lines()])
    if report.use_venue_clock and report.clock_offset_s is not None:
        offset = report.clock_offset_s
        logger.warning("pre-flight: using the venue's clock (ours is %+.1f s off)", -offset)
        venue.private().client.set_clock(lambda: int(time.time() + offset))
    logger.info("pre-flight: passed (signer %s, maker %s, signature type %d)", report.signer,
                report.maker, report.signature_type)


def _run_bot(cfg: Config, args: argparse.Namespace, sim_url: str | None,
             sim: SimProcess | None) -> int:
    from polymm.supervisor import Supervisor
    from polymm.wiring import build_venue
    from runtime.metrics import build_metrics

    venue = build_venue(cfg, sim_url)
    redact_logs(venue, cfg)
    if cfg.mode == "live":
        preflight(cfg, venue)
    metrics = build_metrics(cfg)
    sup = Supervisor(cfg, venue, metrics=metrics)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal %d: stopping", signum)
        sup.stop_event.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    # SIGUSR2 is the manual kill switch: cancel everything, stop quoting, keep running.
    signal.signal(signal.SIGUSR2, lambda _s, _f: sup.kill_switch("SIGUSR2"))
    started = time.time()
    try:
        sup.start()
        sup.run(args.duration)
    finally:
        result = sup.shutdown()
        if metrics is not None:
            metrics.close()
    summary = build_summary(sup, result, sim, started)
    text = json.dumps(summary, indent=2, sort_keys=True)
    print(text)
    path = Path(args.summary)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    ok = (summary["open_orders_after_shutdown"] == 0 and not sup.crashed_critical()
          and summary["actors_left"] == 0)
    return 0 if ok else 1


class Recoveries(TypedDict, total=False):
    """What the bot recovered from; the keys after the first three only with a simulated
    venue, as it saw them."""

    reconnects_by_feed: dict[str, int]
    unknown_outcome_resolved: int
    unknown_outcome_left: int
    resubscribed_connections: dict[str, int]
    book_resyncs: int
    retry_after_windows: dict[str, int]
    retry_after_violations: dict[str, int]
    backoffs_honoured: int


class RunSummary(TypedDict):
    """The run summary ``run`` prints and writes (``--summary``); the ``NotRequired`` keys
    after ``recoveries`` only with a simulated venue (its ``/_sim/state``)."""

    mode: str
    duration_s: float
    orders_posted: int
    orders_canceled: int
    rejects: dict[str, int]
    fills: int
    fills_before_start: int
    duplicate_orders: int
    unknown_orders: int
    events_logged: int
    reconnects: int
    reconnects_by_feed: dict[str, int]
    restarts: dict[str, int]
    crashed: list[str]
    open_orders_after_shutdown: int
    actors_left: int
    pnl: PnlReport
    # The Treasury's: pUSD merged and redeemed, what resolved markets still owe, in flight.
    collateral: NotRequired[TreasuryStats]
    paper: NotRequired[dict[str, object]]  # a dry run's account (``PaperGateway.summary``)
    faults_injected: dict[str, object]  # by fault, or {"error": ...} if the venue did not say
    recoveries: Recoveries
    orders_canceled_by_window_close: NotRequired[int]
    venue: NotRequired[dict[str, object]]
    venue_open_orders: NotRequired[int]


def build_summary(sup: Supervisor, result: ShutdownResult, sim: SimProcess | None,
                  started: float) -> RunSummary:
    stats = result.get("stats", {})
    summary: RunSummary = {
        "mode": sup.config.mode,
        "duration_s": round(time.time() - started, 1),
        "orders_posted": stats.get("orders_posted", 0),
        "orders_canceled": stats.get("orders_canceled", 0),
        "rejects": stats.get("rejects", {}),
        # This run's fills; fills from before it (read back from REST at start) apart.
        "fills": stats.get("fills", 0) - sup.fills_at_start,
        "fills_before_start": sup.fills_at_start,
        "duplicate_orders": stats.get("duplicate_orders", 0),
        "unknown_orders": stats.get("unknown_orders", 0),
        "events_logged": result.get("events_logged", 0),
        "reconnects": sum(result.get("reconnects", {}).values()),
        "reconnects_by_feed": result.get("reconnects", {}),
        "restarts": dict(sup.restarts),
        "crashed": list(sup.crashed),
        "open_orders_after_shutdown": result.get("open_orders_after_shutdown", -1),
        "actors_left": result.get("actors_left", 0),
        "pnl": result.get("pnl", {}),
        "faults_injected": {},
        # What the bot recovered from: reconnects (each one resubscribes and resyncs), POSTs
        # with an unknown outcome resolved by event or lookup; the venue's view is added below.
        "recoveries": {
            "reconnects_by_feed": result.get("reconnects", {}),
            "unknown_outcome_resolved": stats.get("unknown_resolved", 0),
            "unknown_outcome_left": stats.get("unknown_outcome", 0),
        },
    }
    if "paper" in stats:  # a dry run's (a TypedDict literal takes no conditional key)
        summary["paper"] = stats["paper"]
    if "collateral" in result:
        summary["collateral"] = result["collateral"]
    if sim is not None:
        try:
            st = sim.state()
            summary["faults_injected"] = st.get("faults", {})
            # As the venue saw it: connections that completed their subscription (resubscribes
            # after reconnects), book dumps (market resyncs), Retry-After windows it opened and
            # requests sent inside one (a window without such a request was honoured).
            windows = st.get("retry_after_windows", {})
            violations = st.get("retry_after_violations", {})
            summary["recoveries"].update({
                "resubscribed_connections": st.get("subscribed", {}),
                "book_resyncs": st.get("book_dumps", 0),
                "retry_after_windows": windows,
                "retry_after_violations": violations,
                "backoffs_honoured": max(0, sum(windows.values()) - sum(violations.values())),
            })
            summary["orders_canceled_by_window_close"] = st.get("canceled_at_close", 0)
            summary["venue"] = {k: st.get(k) for k in ("orders_received", "orders_accepted",
                                                       "duplicates", "fills", "rejects",
                                                       "signature_failures", "auth_failures",
                                                       "heartbeat_expiries")}
            # What the venue itself still holds, read back after the final cancel-all.
            summary["venue_open_orders"] = sum(
                int(v.get("count", 0)) for v in st.get("open_orders", {}).values())
        except Exception as exc:
            summary["faults_injected"] = {"error": str(exc)}
    return summary
