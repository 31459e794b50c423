"""The venue side of a run: URLs, signing key, API credentials, REST and Gamma clients.

Secrets come from the config (which reads them from the environment only). In paper mode
against the simulated venue with no key configured, a throw-away key is generated and API
credentials are created with L1 auth, so ``make run`` needs no credentials at all. A dry run
builds no signer, no credentials and no REST client: only Gamma, and the public feeds' URLs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from messages.errors import ConfigError, PolymmError, VenueError

if TYPE_CHECKING:
    from messages import TradeEvent
    from polymm.config_schema import Config, Secret, VenueConfig
    from trading.paper_gateway import PaperGateway
    from venue.auth import ApiCreds
    from venue.gamma import GammaClient
    from venue.orders import OrderSigner
    from venue.rest import ClobClient

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Urls:
    clob: str
    gamma: str
    market_ws: str
    user_ws: str
    polybolt: str
    rtds: str


def sim_urls(base_url: str) -> Urls:
    """The simulated venue serves everything on one port (see ``sim/``)."""
    ws = "ws" + base_url[len("http"):]
    return Urls(clob=base_url, gamma=f"{base_url}/gamma", market_ws=f"{ws}/ws/market",
                user_ws=f"{ws}/ws/user", polybolt=f"{ws}/ws/prices", rtds=f"{ws}/rtds")


def config_urls(venue_cfg: VenueConfig, sim_base_url: str | None, *,
                stand_in: bool = False) -> Urls:
    """Resolve the ``venue`` section's URLs; the literal ``sim`` means the simulated venue.
    ``stand_in`` (a dry run given a simulated venue): every URL goes to it."""
    sim = sim_urls(sim_base_url) if sim_base_url else None
    if stand_in and sim is not None:
        return sim
    out = {}
    for key, attr in (("clob", "clob_url"), ("gamma", "gamma_url"),
                      ("market_ws", "market_ws_url"), ("user_ws", "user_ws_url"),
                      ("polybolt", "polybolt_url"), ("rtds", "rtds_url")):
        value = str(getattr(venue_cfg, attr))
        if value == "sim":
            if sim is None:
                raise ConfigError([f"venue.{attr}: 'sim' needs a simulated venue "
                                   "(sim.enabled or --venue-url)"])
            value = getattr(sim, key)
        out[key] = value
    return Urls(**out)


class PrivateSide(NamedTuple):
    """What signs and authenticates: the venue side of a run that is not a dry run."""

    signer: OrderSigner
    client: ClobClient
    creds: ApiCreds


@dataclass
class Venue:
    """Everything that talks to the venue, built once per run on the main thread.

    A dry run has no ``signer``, ``client`` or ``creds`` (None): public data only.
    """

    urls: Urls
    signer: OrderSigner | None
    client: ClobClient | None
    gamma: GammaClient
    creds: ApiCreds | None
    maker: str
    # The signing key, for the Treasury's own transactions (an EOA's); never printed.
    key: Secret | None = None

    def private(self) -> PrivateSide:
        """The signer, REST client and API credentials, for code that runs only outside a
        dry run.

        Raises:
            PolymmError: this is a dry run's venue, which holds none of them.
        """
        if self.signer is None or self.client is None or self.creds is None:
            raise PolymmError("a dry run has no signer, REST client or API credentials "
                              "(public data only)")
        return PrivateSide(self.signer, self.client, self.creds)

    @property
    def market_ws_url(self) -> str:
        return self.urls.market_ws

    @property
    def user_ws_url(self) -> str:
        return self.urls.user_ws

    @property
    def polybolt_url(self) -> str:
        return self.urls.polybolt

    @property
    def rtds_url(self) -> str:
        return self.urls.rtds


def _secret(value: object) -> str | None:
    """A ``Secret``'s text (or a plain string's), None for None."""
    if value is None:
        return None
    raw = getattr(value, "reveal", None)
    return str(raw() if callable(raw) else value)


def build_venue(config: Config, sim_base_url: str | None = None) -> Venue:
    """Signer, credentials (from config or created with L1 auth) and clients for this run."""
    from venue.auth import ApiCreds
    from venue.gamma import GammaClient
    from venue.orders import OrderSigner
    from venue.rest import ClobClient

    vc = config.venue
    dry_run = config.mode == "dry_run"
    urls = config_urls(vc, sim_base_url, stand_in=dry_run)
    if dry_run:
        # Public data only: nothing here can sign or authenticate a request.
        return Venue(urls=urls, signer=None, client=None,
                     gamma=GammaClient(urls.gamma, timeout_s=max(2.0, vc.http_timeout_s)),
                     creds=None, maker="")
    key = _secret(vc.private_key)
    if key is None and vc.keystore_path:
        key = read_keystore(vc.keystore_path, _secret(vc.keystore_password))
    if key is None:
        if config.mode == "live":
            raise ConfigError(["venue.private_key: required in live mode (use !ENV)"])
        from eth_account import Account

        key = "0x" + bytes(Account.create().key).hex()
        logger.info("venue: paper mode without a key: using a throw-away signing key")
    signer = OrderSigner(key, chain_id=vc.chain_id)
    api_key, secret, passphrase = (_secret(vc.api_key), _secret(vc.api_secret),
                                   _secret(vc.api_passphrase))
    client = ClobClient(urls.clob, address=signer.address, creds=None,
                        timeout_s=vc.http_timeout_s, connect_timeout_s=vc.connect_timeout_s)
    if api_key and secret and passphrase:
        creds = ApiCreds(api_key=api_key, secret=secret, passphrase=passphrase)
    else:
        creds = _l1_creds(client, key)
    client = ClobClient(urls.clob, address=signer.address, creds=creds,
                        timeout_s=vc.http_timeout_s, connect_timeout_s=vc.connect_timeout_s)
    gamma = GammaClient(urls.gamma, timeout_s=max(2.0, vc.http_timeout_s))
    from polymm.config_schema import Secret

    maker = vc.funder or signer.address
    return Venue(urls=urls, signer=signer, client=client, gamma=gamma, creds=creds, maker=maker,
                 key=Secret(key))


def read_keystore(path: str, password: str | None) -> str:
    """The private key (``0x`` hex) in an encrypted keystore file (eth-account's JSON format).

    Raises:
        ConfigError: the file cannot be read, is not a keystore, or the password is wrong. The
            message names the file, never the password or any key material.
    """
    import json

    from eth_account import Account

    where = f"venue.keystore_path: {path}"
    if not password:
        raise ConfigError([f"{where}: no password (keystore_password: !ENV ...)"])
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise ConfigError([f"{where}: no such file"]) from None
    except OSError as exc:
        raise ConfigError([f"{where}: cannot read: {exc.strerror or type(exc).__name__}"]) \
            from None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        raise ConfigError([f"{where}: not a JSON keystore file"]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("crypto", doc.get("Crypto")), dict):
        raise ConfigError([f"{where}: not a keystore file (no 'crypto' section)"])
    try:
        raw = Account.decrypt(doc, password)
    except ValueError as exc:
        # eth-account says "MAC mismatch" for a wrong password; its messages carry no secret.
        what = "wrong password" if "MAC" in str(exc) else "cannot decrypt"
        raise ConfigError([f"{where}: {what}"]) from None
    except Exception as exc:  # a malformed keystore: KeyError, TypeError... from eth-keyfile
        raise ConfigError([f"{where}: malformed keystore ({type(exc).__name__})"]) from None
    return "0x" + bytes(raw).hex()


def _l1_creds(client: ClobClient, key: str) -> ApiCreds:
    """Derive existing API credentials, or create them (L1 auth), retrying briefly."""
    last: Exception | None = None
    for attempt in range(3):
        for fn in (client.derive_api_key, client.create_api_key):
            try:
                return fn(key)
            except Exception as exc:
                last = exc
        time.sleep(0.2 * (attempt + 1))  # start-up only, before any actor runs
    raise ConfigError([f"venue.api_key: could not derive or create API credentials: {last}"])


def startup_trades(venue: Venue, mode: str) -> list[TradeEvent]:
    """Our trades at the venue, to rebuild positions after a restart (or a crash).

    Live, quoting without knowing our positions is refused; on paper it is only logged. A dry
    run starts flat (the paper exchange is new) and makes no private request.

    Raises:
        PolymmError: live, and the venue did not answer.
    """
    if mode == "dry_run":
        return []
    from venue.trades import our_trades

    _, client, creds = venue.private()
    try:
        return our_trades(client, creds.api_key)
    except VenueError as exc:
        if mode == "live":
            raise PolymmError(f"cannot read our trades from the venue ({exc}); not "
                              "quoting without knowing our positions") from None
        logger.error("supervisor: reading our trades failed (%s); positions start at "
                     "zero", exc)
        return []


def paper_gateway(cfg: Config) -> PaperGateway:
    """The dry run's venue: a paper exchange (``trading.paper_exchange``) behind the gateway
    seam, with the configured latency; it fills from the market channel."""
    from trading.paper_exchange import PaperExchange
    from trading.paper_gateway import PaperGateway
    from venue.redact import SELF

    return PaperGateway(PaperExchange(owner=SELF, latency_ms=cfg.paper.latency_ms),
                        post_only=cfg.order_manager.post_only)
