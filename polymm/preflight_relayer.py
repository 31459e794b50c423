"""Pre-flight of a deposit wallet's relayer (signature type 3, research §10.7).

A deposit wallet merges and redeems through Polymarket's gasless relayer, so a live start
needs its relayer API key (``venue.relayer_api_key``, from the environment) and a relayer
(``venue.relayer_url``) that answers the nonce route for the owner with that key. UNVERIFIED
whether the real relayer checks the key on that read (the simulated one refuses a wrong one;
a submit would). Each failure is one line: what is wrong and how to fix it.

Runs on the main thread before any actor starts; the read has a timeout.
"""

from __future__ import annotations

from typing import Any

from messages.errors import PolymmError, Unauthorized
from polymm.preflight_checks import Failure, relayer_failures
from venue.relayer import RELAYER_URL, RelayerClient

__all__ = ["relayer_check", "resolve_relayer_url"]


def resolve_relayer_url(cfg: Any, sim_base_url: str | None) -> str:
    """``venue.relayer_url``, or by mode as the geoblock's: Polymarket's relayer in live mode,
    the simulated venue's (``<sim base>/relayer``) otherwise; ``""`` when there is none."""
    url = cfg.venue.relayer_url or (RELAYER_URL if cfg.mode == "live" else "sim")
    if url == "sim":
        return f"{sim_base_url.rstrip('/')}/relayer" if sim_base_url else ""
    return str(url)


def relayer_check(cfg: Any, signer: str, sim_base_url: str | None) -> list[Failure]:
    """The relayer failures of a type-3 account whose owner EOA is ``signer``."""
    vc = cfg.venue
    url = resolve_relayer_url(cfg, sim_base_url)
    failures = relayer_failures(int(vc.signature_type), relayer_url=url,
                                api_key_set=vc.relayer_api_key is not None)
    if failures or int(vc.signature_type) != 3:
        return failures
    address = vc.relayer_api_key_address or signer
    try:
        client = RelayerClient(url, api_key=vc.relayer_api_key.reveal(),
                               api_key_address=address, timeout_s=max(2.0, vc.http_timeout_s),
                               connect_timeout_s=vc.connect_timeout_s)
    except (PolymmError, ValueError) as exc:
        return [Failure("relayer", f"{exc}: check venue.relayer_url and "
                        "venue.relayer_api_key_address")]
    try:
        client.nonce(signer)
    except Unauthorized as exc:
        return [Failure("relayer", f"the relayer refused the relayer API key for {address} "
                        f"({exc.message}): check POLYMM_RELAYER_API_KEY, and "
                        "POLYMM_RELAYER_API_KEY_ADDRESS (the address the key was created for)")]
    except PolymmError as exc:
        return [Failure("relayer", f"the relayer did not answer the nonce route "
                        f"({type(exc).__name__}: {exc}): check venue.relayer_url and the "
                        "network")]
    finally:
        client.close()
    return []
