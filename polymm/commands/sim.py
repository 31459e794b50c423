"""``polymm sim``: run the simulated Polymarket venue on loopback (one port, own process)."""

from __future__ import annotations

import argparse
import asyncio
import logging

from messages.errors import ConfigError

HELP = "run the simulated venue (Gamma, CLOB REST, websockets, price feeds) on 127.0.0.1"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    p.add_argument("--chain-port", type=int, default=0,
                   help="port of the simulated chain's Polygon JSON-RPC (0 = pick a free one)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--window-seconds", type=int, default=900)
    p.add_argument("--assets", default="btc,eth", help="comma-separated, e.g. btc,eth")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--faults", default="none", help="profile name in conf/faults/ or a path")
    p.add_argument("--noise-rate", type=float, default=3.0, help="noise actions per second")
    p.add_argument("--market-rate", type=float, default=0.0,
                   help="extra price_change messages per second (load knob)")
    p.add_argument("--tick-change-every", type=float, default=0.0, metavar="S",
                   help="flip a market's tick every S seconds (0 = per the fault profile)")
    p.add_argument("--heartbeat-timeout-s", type=float, default=10.0)
    p.add_argument("--mined-delay-ms", type=int, default=200)
    p.add_argument("--confirmed-delay-ms", type=int, default=1000)
    p.add_argument("--trade-fail-rate", type=float, default=0.0)
    p.add_argument("--vol", type=float, default=2e-4, help="log volatility per sqrt(second)")
    p.add_argument("--windows-ahead", type=int, default=2)
    p.add_argument("--no-resolution-messages", action="store_true",
                   help="never send market_resolved (the bot must settle from the reference)")
    p.add_argument("--log-level", default="INFO")
    p.add_argument("--exit-with-parent", action="store_true",
                   help="stop when standard input closes (set by a parent that owns the pipe)")


def run(args: argparse.Namespace) -> int:
    from sim.app import SimConfig, serve

    assets = tuple(a.strip().lower() for a in args.assets.split(",") if a.strip())
    errors = []
    if args.window_seconds < 10:
        errors.append(f"--window-seconds: expected >= 10, got {args.window_seconds}")
    if not assets:
        errors.append("--assets: expected at least one asset")
    if args.heartbeat_timeout_s <= 0:
        errors.append("--heartbeat-timeout-s: expected > 0")
    if not 0 <= args.trade_fail_rate <= 1:
        errors.append("--trade-fail-rate: expected within [0, 1]")
    if errors:
        raise ConfigError(errors)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    cfg = SimConfig(host=args.host, port=args.port, chain_port=args.chain_port,
                    window_seconds=args.window_seconds,
                    assets=assets, seed=args.seed, faults=args.faults,
                    noise_rate=args.noise_rate, market_rate=args.market_rate,
                    tick_change_every_s=args.tick_change_every,
                    heartbeat_timeout_s=args.heartbeat_timeout_s,
                    mined_delay_s=args.mined_delay_ms / 1000,
                    confirmed_delay_s=args.confirmed_delay_ms / 1000,
                    trade_fail_rate=args.trade_fail_rate, vol=args.vol,
                    windows_ahead=args.windows_ahead,
                    resolution_messages=not args.no_resolution_messages,
                    exit_with_parent=args.exit_with_parent)
    return asyncio.run(serve(cfg))
