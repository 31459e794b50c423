"""What each mode may touch, checked on the configuration before anything starts.

* ``paper``: the simulated venue only (loopback), with a throw-away key: pointed at a real
  venue it would create API keys and send real orders there.
* ``dry_run``: the venue's public data only (Gamma, the market channel, RTDS reference
  prices); never a key, API credentials, the user channel, or an order, cancel, heartbeat or
  auth route. Orders go to the local paper exchange.
* ``live``: both keys (checked in ``config_schema.cross_field_errors``), never the simulator.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from polymm.config_schema import Config, VenueConfig

PAPER_ONLY_HINT = ("to trade on Polymarket use mode: live with --live; to watch the bot quote "
                   "against Polymarket's real book without a key or any order at the venue, "
                   "use a dry run: --config conf/dry-run.yaml")


def is_loopback_url(url: str) -> bool:
    """Whether ``url``'s host is this machine (127.0.0.0/8, ::1 or ``localhost``)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def paper_url_errors(venue: VenueConfig) -> list[str]:
    """Paper mode trades with a throw-away key against the simulated venue only (``sim``, a
    loopback URL, or for ``rpc_url`` None: the simulated venue's chain)."""
    errors = []
    for f in dataclasses.fields(venue):
        value = getattr(venue, f.name)
        if not f.name.endswith("_url") or value is None or value == "sim":
            continue
        reveal = getattr(value, "reveal", None)
        url = str(reveal() if callable(reveal) else value)
        if not is_loopback_url(url):
            shown = "********" if callable(reveal) else repr(url)
            errors.append(f"venue.{f.name}: mode paper trades only against the simulated venue "
                          f"on loopback, got {shown} (there it would create API keys for a "
                          f"throw-away key and send real orders); {PAPER_ONLY_HINT}")
    return errors


_DRY_RUN_SECRETS = ("private_key", "keystore_path", "api_key", "api_secret", "api_passphrase",
                    "relayer_api_key")


def dry_run_errors(cfg: Config) -> list[str]:
    """A dry run holds no secret and uses only public feeds."""
    v = cfg.venue
    errors = [f"venue.{name}: a dry run never uses a key or API credentials: remove it "
              "(orders go to the local paper exchange)"
              for name in _DRY_RUN_SECRETS if getattr(v, name) is not None]
    if cfg.price_feed.provider != "rtds":
        errors.append(f"price_feed.provider: {cfg.price_feed.provider!r} needs API credentials, "
                      "which a dry run never uses: use rtds (public reference prices)")
    return errors


def mode_errors(cfg: Config) -> list[str]:
    """Every rule of ``cfg.mode`` (see the module docstring) that ``cfg`` breaks."""
    if cfg.mode == "paper":
        return paper_url_errors(cfg.venue)
    if cfg.mode == "dry_run":
        return dry_run_errors(cfg)
    return []
