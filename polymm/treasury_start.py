"""Building the Treasury of a run: its chain client, the sender its signature type needs, and
the actor with its sinks. Runs on the main thread, at start-up.

A dry run has none (no wallet; its paper exchange settles resolutions itself), nor a run with
``treasury.enabled`` false. Paper mode reads and sends on the simulated venue's chain (its
``/_sim/state`` names it); live mode on ``venue.rpc_url``, which pre-flight has checked.

Senders by signature type (research §10.7): 0 (EOA) signs its own Polygon transactions
(``venue.chain_tx.EoaSender``). 3 (deposit wallet) sends batches signed by the owner key through
Polymarket's relayer (``venue.relayer_sender.RelayerSender``; reads still go over JSON-RPC).
1 and 2 (proxy, Safe) are refused: pre-flight refuses them at a live start, and so does this.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from messages.errors import ConfigError, PolymmError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pykka

    from actors.treasury import ChainReads, Treasury, TxSender
    from messages import TradeEvent
    from polymm.config_schema import Config
    from polymm.wiring import Venue
    from runtime.sinks import EventSink, MetricSink, Tell

logger = logging.getLogger(__name__)


def treasury_rpc_url(cfg: Config, venue: Venue) -> str:
    """The JSON-RPC URL the Treasury uses.

    Raises:
        ConfigError: none is configured (live) or the simulated venue names none.
    """
    from polymm.preflight import resolve_urls

    sim_base = None if cfg.mode == "live" else venue.urls.clob
    try:
        rpc, _ = resolve_urls(cfg, sim_base)
    except (PolymmError, OSError) as exc:
        raise ConfigError([f"venue.rpc_url: the Treasury found no chain at the simulated "
                           f"venue ({exc}); set venue.rpc_url, or treasury.enabled: false"]
                          ) from None
    if not rpc:
        raise ConfigError(["venue.rpc_url: the Treasury needs a Polygon JSON-RPC URL to "
                           "merge and redeem (rpc_url: !ENV POLYMM_RPC_URL), or set "
                           "treasury.enabled: false"])
    return rpc


def build_sender(cfg: Config, venue: Venue, rpc_url: str) -> tuple[TxSender, ChainReads]:
    """The sender for ``venue.signature_type`` and the chain client it reads through (the
    Treasury owns and closes the client).

    Raises:
        ConfigError: a signature type the Treasury cannot act for, or a missing key.
    """
    from venue.chain import ChainClient
    from venue.chain_tx import EoaSender

    kind = cfg.venue.signature_type
    if kind in (1, 2):
        raise ConfigError([f"venue.signature_type: {kind} (proxy/Safe): the Treasury is not "
                           "supported for signature type 1 or 2; use a deposit wallet (3) or "
                           "an EOA (0), or set treasury.enabled: false"])
    if venue.key is None:
        raise ConfigError(["venue.private_key: the Treasury needs the signing key"])
    settings = cfg.preflight
    chain = ChainClient(rpc_url, timeout_s=settings.rpc_timeout_s)
    try:
        if kind == 0:
            return EoaSender(chain, venue.key.reveal(), chain_id=cfg.venue.chain_id,
                             caps=cfg.treasury.gas_caps()), chain
        return _relayer_sender(cfg, venue), chain
    except BaseException:
        chain.close()
        raise


def _relayer_sender(cfg: Config, venue: Venue) -> TxSender:
    """A deposit wallet's sender: batches signed by the owner key, through the relayer."""
    from polymm.preflight_relayer import resolve_relayer_url
    from venue.relayer_sender import RelayerSender

    vc = cfg.venue
    url = resolve_relayer_url(cfg, None if cfg.mode == "live" else venue.urls.clob)
    errors = [] if url else ["venue.relayer_url: a deposit wallet's Treasury needs the relayer"]
    if vc.relayer_api_key is None:
        errors.append("venue.relayer_api_key: a deposit wallet's Treasury needs a relayer API "
                      "key (relayer_api_key: !ENV POLYMM_RELAYER_API_KEY; polymarket.com → "
                      "Settings → API Keys), or set treasury.enabled: false")
    if vc.funder is None:
        errors.append("venue.funder: the deposit wallet's address")
    if errors or vc.relayer_api_key is None or vc.funder is None or venue.key is None:
        raise ConfigError(errors or ["venue.private_key: the Treasury needs the owner's key"])
    return RelayerSender.connect(
        url, api_key=vc.relayer_api_key.reveal(), api_key_address=vc.relayer_api_key_address,
        private_key=venue.key.reveal(), wallet=vc.funder, chain_id=vc.chain_id,
        timeout_s=cfg.preflight.rpc_timeout_s, connect_timeout_s=vc.connect_timeout_s)


def start_treasury(cfg: Config, venue: Venue, trades: Sequence[TradeEvent], *, owner: str,
                   sinks: list[Tell], event_log: EventSink | None, metrics: MetricSink | None
                   ) -> pykka.ActorRef[Treasury] | None:
    """Start the Treasury for this run, told our ``trades`` from before it (read back at
    start-up), or None when the run has none (see the module doc).

    Raises:
        ConfigError: see ``treasury_rpc_url`` and ``build_sender``.
    """
    from actors.treasury import Treasury

    if cfg.mode == "dry_run" or not cfg.treasury.enabled:
        return None
    sender, chain = build_sender(cfg, venue, treasury_rpc_url(cfg, venue))
    logger.info("treasury: merging and redeeming for %s (signature type %d)", venue.maker,
                cfg.venue.signature_type)
    ref = Treasury.start(config=cfg.treasury, owner=owner, sender=sender, chain=chain,
                         signature_type=cfg.venue.signature_type, sinks=sinks,
                         event_log=event_log, metrics=metrics)
    for ev in trades:
        ref.tell(ev)
    return ref
