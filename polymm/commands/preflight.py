"""``bin/polymm preflight``: check that a start would work, and say what to fix if not.

Runs ``polymm.preflight.run_checks`` (identity, the venue's clock, access, markets and one
heartbeat, collateral and approvals on chain, gas) and prints one line per failure, or the
whole report with ``--json``. Exit status 0 when every check passes, 1 otherwise. With a
paper config it checks against the simulated venue (started for the check, or ``--venue-url``).

It sends one heartbeat and, for an EOA (signature type 0), one probe order (post-only, the
minimum size at the lowest tick, cancelled at once; ``--no-probe`` skips it): do not run it
while a bot with the same API credentials is running.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from messages.errors import PolymmError

HELP = "check identity, clock, access, markets, collateral and gas before going live"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="config file (default conf/default.yaml)")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    p.add_argument("--venue-url", help="a running simulated venue (for venue URLs 'sim')")
    p.add_argument("--no-probe", action="store_true",
                   help="skip the EOA probe order (signature type 0)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set venue.signature_type=3 "
                        "(VALUE is read as YAML)")


def _with_probe(cfg: Any, probe: bool) -> Any:
    from polymm.preflight import settings_of

    if probe:
        return cfg
    settings = dataclasses.replace(settings_of(cfg), probe_order=False)
    return _Overlay(cfg, settings)


class _Overlay:
    """``cfg`` with another ``preflight`` section (the config itself is frozen)."""

    def __init__(self, cfg: Any, preflight: Any) -> None:
        self._cfg = cfg
        self.preflight = preflight

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cfg, name)


def run(args: argparse.Namespace) -> int:
    from polymm.commands.run import check_mode, parse_overrides
    from polymm.config import load_config
    from polymm.preflight import run_checks
    from polymm.wiring import build_venue

    cfg = load_config(args.config, overrides=parse_overrides(args.overrides))
    if cfg.mode == "dry_run":
        raise PolymmError("a dry run sends no private request, so there is nothing to check "
                          "before it; run preflight with the live config")
    check_mode(cfg, live_flag=cfg.mode == "live", venue_url=args.venue_url)
    sim = None
    sim_url = args.venue_url
    try:
        if sim_url is None and cfg.sim.enabled and cfg.mode != "live":
            from polymm.commands.run import sim_args
            from sim.process import SimProcess

            sim = SimProcess([*sim_args(cfg), "--log-level", "WARNING"]).start()
            sim_url = sim.base_url
        venue = build_venue(cfg, sim_url)
        try:
            report = run_checks(_with_probe(cfg, not args.no_probe), venue,
                                sim_base_url=sim_url,
                                sim_chain_url=sim.chain_url if sim is not None else None)
        finally:
            if venue.client is not None:
                venue.client.close()
            venue.gamma.close()
    finally:
        if sim is not None:
            sim.stop()
    if args.json:
        print(json.dumps(report.as_json(), indent=2, sort_keys=True))
    else:
        for line in report.lines():
            print(line)
        for note in report.notes:
            print(f"note: {note}", file=sys.stderr)
        verdict = "OK" if report.ok else f"{len(report.failures)} failed"
        print(f"preflight: {verdict} (signer {report.signer}, maker {report.maker}, "
              f"signature type {report.signature_type})")
    return 0 if report.ok else 1
