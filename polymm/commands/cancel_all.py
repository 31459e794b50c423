"""``bin/polymm cancel-all``: cancel every open order of the configured credentials, then check.

The emergency brake, usable while the bot is down or wedged: it builds the same venue side as
``run`` (signing key and API credentials from the config's environment variables, L1-derived
if not given), sends ``DELETE /cancel-all`` (or ``/cancel-market-orders`` with ``--market`` /
``--asset-id``), then lists what is still open. Exit status 0 when nothing is left open, 1
otherwise. As with ``run``, a live config needs ``--live`` too.
"""

from __future__ import annotations

import argparse
import sys

HELP = "cancel all open orders of the configured credentials at the venue, then verify"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="config file (default conf/default.yaml)")
    p.add_argument("--live", action="store_true",
                   help="act on Polymarket (also needs mode: live in the config)")
    p.add_argument("--venue-url", help="a running simulated venue (for venue URLs 'sim')")
    p.add_argument("--market", help="only this market (condition id, 0x + 64 hex)")
    p.add_argument("--asset-id", help="only this token id")


def run(args: argparse.Namespace) -> int:
    from polymm.commands.run import check_mode
    from polymm.config import load_config
    from polymm.wiring import build_venue

    cfg = load_config(args.config)
    check_mode(cfg, live_flag=bool(args.live), venue_url=args.venue_url)
    if cfg.venue.private_key is None and cfg.venue.keystore_path is None:
        print("cancel-all: no private key configured: a throw-away key owns no orders",
              file=sys.stderr)
    venue = build_venue(cfg, args.venue_url)
    client = venue.private().client  # a dry run's venue has none: PolymmError
    try:
        if args.market or args.asset_id:
            result = client.cancel_market(market=args.market, asset_id=args.asset_id)
        else:
            result = client.cancel_all()
        canceled = result.get("canceled") or []
        not_canceled = result.get("not_canceled") or {}
        left = client.open_orders(market=args.market, asset_id=args.asset_id)
    finally:
        client.close()
        close_gamma = getattr(venue.gamma, "close", None)
        if callable(close_gamma):
            close_gamma()
    print(f"canceled {len(canceled)} order(s) at {venue.urls.clob}")
    for order_id, reason in sorted(not_canceled.items()):
        print(f"  not canceled: {order_id}: {reason}")
    print(f"{len(left)} order(s) still open")
    for order in left[:20]:
        print(f"  open: {order.get('id')} {order.get('side')} {order.get('price')} "
              f"x {order.get('original_size')}")
    return 0 if not left else 1
