"""The config sections: frozen, slotted, keyword-only dataclasses the loader fills from YAML.

Each field's type hint is its schema (``int``, ``float``, ``bool``, ``str``, ``X | None``,
``tuple[X, ...]``, a nested section, ``Secret``); ranges and choices sit in the field metadata
(``trading.params.rng``: ``min``, ``max``, ``choices``; plus ``pattern`` for a regular
expression and ``address`` for a ``0x`` + 40 hex address). A section left out of the YAML, or a
key left out of a section, keeps the default shown here; where a section's default differs from
its class defaults (``user_feed`` logs raw frames), the ``Config`` field's default instance
provides the missing keys.

The ``quoter``, ``order_manager`` and ``risk`` sections are the trading logic's own parameter
classes (``trading.params``), and ``discovery``, ``market_feed``, ``user_feed``, ``price_feed``,
``event_log`` and ``treasury`` their actors' own construction data (``actors.discovery``,
``actors.ws_support``, ``actors.price_feed``, ``actors.event_log``, ``actors.treasury``), used
as they are.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from actors.discovery import DiscoveryConfig
from actors.event_log import EventLogConfig
from actors.price_feed import PriceFeedConfig
from actors.treasury import TreasuryConfig
from actors.ws_support import FeedConfig
from trading.params import OrderParams, QuoteParams, RiskLimits, rng

MASK = "********"


class Secret:
    """A secret string (private key, API secret) that never prints.

    ``str``, ``repr`` and ``format`` all give ``********``; the value is only available from
    ``reveal()``, so it cannot end up in a log line or an exception message by accident.
    Secrets are read from the environment only (``!ENV NAME`` in the YAML).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself: pass it straight to the code that needs it, never to a log."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def _address() -> dict[str, object]:
    return {"address": True}


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueConfig:
    """Section ``venue``: where the venue is and who we are.

    A URL given as the literal ``sim`` means "the simulated venue started for this run" (or
    given with ``--venue-url``): ``polymm.wiring`` fills it from the simulated venue's base URL
    (CLOB at the root, Gamma under ``/gamma``, websockets under ``/ws/...`` and ``/rtds``).
    ``sim`` is refused in live mode.

    ``private_key`` None (paper mode only) means a throw-away key; API credentials None mean
    "derive them with L1 auth at start". All four come from the environment (``!ENV``).
    Instead of ``private_key``, ``keystore_path`` names an encrypted Ethereum keystore file
    (eth-account's JSON) whose password comes from the environment (``keystore_password``).
    """

    clob_url: str = "sim"
    gamma_url: str = "sim"
    market_ws_url: str = "sim"
    user_ws_url: str = "sim"
    polybolt_url: str = "sim"
    rtds_url: str = "sim"
    chain_id: int = field(default=137, metadata=rng(1))
    private_key: Secret | None = None
    api_key: Secret | None = None
    api_secret: Secret | None = None
    api_passphrase: Secret | None = None
    keystore_path: str | None = None
    keystore_password: Secret | None = None
    signature_type: int = field(default=0, metadata=rng(0, 3))
    funder: str | None = field(default=None, metadata=_address())
    http_timeout_s: float = field(default=2.0, metadata=rng(0.05, 60))
    connect_timeout_s: float = field(default=1.0, metadata=rng(0.05, 60))
    # Polygon JSON-RPC (pre-flight's collateral reads): a provider URL often embeds a key, so
    # it is a secret (from the environment only); None = the simulated venue's chain. And the
    # venue's geoblock check (§11.2): None = Polymarket's in live mode, the simulated venue's
    # otherwise.
    rpc_url: Secret | None = None
    geoblock_url: str | None = None
    # Polymarket's gasless relayer, for a deposit wallet's (signature type 3) merges and
    # redeems (research §10.7): None = Polymarket's in live mode, the simulated venue's
    # (``<clob base>/relayer``) otherwise (``polymm.config_modes.relayer_url``). The relayer
    # API key (polymarket.com → Settings → API Keys → Relayer API Keys) from the environment
    # only; its address, None = the key's owner (the signing EOA).
    relayer_url: str | None = None
    relayer_api_key: Secret | None = None
    relayer_api_key_address: str | None = field(default=None, metadata=_address())


@dataclass(frozen=True, slots=True, kw_only=True)
class SimConfig:
    """Section ``sim``: the simulated venue ``bin/polymm run`` starts as a child process.

    ``noise_rate_per_s`` None keeps the simulated venue's own default.
    """

    enabled: bool = False
    port: int = field(default=0, metadata=rng(0, 65535))
    window_seconds: int = field(default=900, metadata=rng(10, 86400))
    assets: tuple[str, ...] = ("btc",)
    seed: int = 1
    faults: str | None = field(default=None, metadata={"pattern": r"[A-Za-z0-9_.-]+"})
    noise_rate_per_s: float | None = field(default=None, metadata=rng(0, 10000))


@dataclass(frozen=True, slots=True, kw_only=True)
class StatsdConfig:
    """Section ``statsd``: metrics over UDP (prefix ``<prefix>.<mode>.<instance>``)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = field(default=8125, metadata=rng(1, 65535))
    prefix: str = field(default="polymm", metadata={"pattern": r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*"})
    flush_interval_s: float = field(default=1.0, metadata=rng(0.05, 60))
    timer_sample_rate: float = field(default=0.1, metadata=rng(0.0001, 1))


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggingConfig:
    """Section ``logging``: level, the periodic INFO status line, optional log file.

    ``file``: also write the log there (appended, its directory created; stderr keeps it too).
    Null or empty: stderr only.
    """

    level: str = field(default="INFO",
                       metadata=rng(choices=("DEBUG", "INFO", "WARNING", "ERROR")))
    status_interval_s: float = field(default=5.0, metadata=rng(0.5, 3600))
    file: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusConfig:
    """Section ``status``: an optional local HTTP status page."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = field(default=8765, metadata=rng(0, 65535))


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeConfig:
    """Section ``runtime``: the GIL switch interval (the GIL is the scheduler), CPU pinning
    and the garbage collector."""

    switch_interval_s: float = field(default=0.0005, metadata=rng(0.00001, 0.1))
    cpu_affinity: tuple[int, ...] = field(default=(), metadata=rng(0, 4095))
    # After start-up, move every object then alive (modules, key material, actors) out of the
    # collector's reach (gc.freeze): a full collection then scans what the run allocated, not
    # the ~60,000 start-up objects (each full scan of them stops every thread for 38-50 ms on a
    # 2-core machine).
    gc_freeze: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class PreflightConfig:
    """Section ``preflight``: the bounds of the checks before a live start
    (``polymm.preflight``). The venue's clock is used for L2 timestamps once the offset to it
    is above ``venue_clock_above_s``; above ``max_clock_offset_s`` the start is refused."""

    max_clock_offset_s: float = field(default=5.0, metadata=rng(0.5, 600))
    venue_clock_above_s: float = field(default=1.0, metadata=rng(0, 600))
    min_gas_pol: float = field(default=0.05, metadata=rng(0, 1000))
    rpc_timeout_s: float = field(default=5.0, metadata=rng(0.1, 60))
    probe_order: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class PaperConfig:
    """Section ``paper``: the local paper exchange of ``mode: dry_run`` (orders never leave
    the machine; they fill from the venue's public tape, see ``trading.paper_exchange``).

    ``latency_ms``: the venue's delay on a post or a cancel, as the paper exchange applies it.
    """

    latency_ms: int = field(default=50, metadata=rng(0, 10_000))


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """The whole configuration of one run. ``mode`` is required: ``paper`` (the simulated
    venue), ``dry_run`` (the venue's public data, a local paper exchange) or ``live``."""

    mode: str = field(metadata=rng(choices=("paper", "dry_run", "live")))
    instance: str = field(default="default", metadata={"pattern": r"[A-Za-z0-9_-]{1,40}"})
    venue: VenueConfig = field(default_factory=VenueConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)
    market_feed: FeedConfig = field(default_factory=FeedConfig)
    user_feed: FeedConfig = field(default_factory=lambda: FeedConfig(raw_log_sample=1))
    price_feed: PriceFeedConfig = field(default_factory=PriceFeedConfig)
    quoter: QuoteParams = field(default_factory=QuoteParams)
    order_manager: OrderParams = field(default_factory=OrderParams)
    risk: RiskLimits = field(default_factory=RiskLimits)
    event_log: EventLogConfig = field(default_factory=EventLogConfig)
    statsd: StatsdConfig = field(default_factory=StatsdConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    status: StatusConfig = field(default_factory=StatusConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    paper: PaperConfig = field(default_factory=PaperConfig)
    preflight: PreflightConfig = field(default_factory=PreflightConfig)
    treasury: TreasuryConfig = field(default_factory=TreasuryConfig)


def cross_field_errors(cfg: Config, unset: Mapping[str, str]) -> list[str]:
    """Rules that span fields, checked once every field is valid.

    ``unset`` maps key paths whose ``!ENV`` variable was not set to the variable's name, so a
    requirement can name the variable to set.
    """
    from polymm.config_modes import mode_errors
    from venue.gamma import interval_seconds

    errors = mode_errors(cfg)
    live = cfg.mode == "live"
    v = cfg.venue
    if v.private_key is not None and v.keystore_path is not None:
        errors.append("venue.private_key/keystore_path: give one, not both")
    if v.keystore_path is not None and v.keystore_password is None:
        var = unset.get("venue.keystore_password")
        errors.append(f"venue.keystore_password: required with keystore_path: environment "
                      f"variable {var} is not set (from !ENV {var})" if var else
                      "venue.keystore_password: required with keystore_path "
                      "(keystore_password: !ENV POLYMM_KEYSTORE_PASSWORD)")
    if live and v.private_key is None and v.keystore_path is None:
        var = unset.get("venue.private_key")
        errors.append(f"venue.private_key: required in live mode: environment variable {var} "
                      f"is not set (from !ENV {var})" if var else
                      "venue.private_key: required in live mode (private_key: "
                      "!ENV POLYMM_PRIVATE_KEY)")
    if live:
        errors += [f"venue.{f.name}: 'sim' (the simulated venue) is not allowed in live mode"
                   for f in dataclasses.fields(v)
                   if f.name.endswith("_url") and getattr(v, f.name) == "sim"]
        if cfg.sim.enabled:
            errors.append("sim.enabled: must be false in live mode")
    creds = [v.api_key, v.api_secret, v.api_passphrase]
    if any(c is not None for c in creds) and any(c is None for c in creds):
        errors.append("venue.api_key/api_secret/api_passphrase: give all three or none "
                      "(none = derive them with L1 auth at start)")
    if cfg.sim.enabled and not live:
        for i, s in enumerate(cfg.discovery.series):
            n = interval_seconds(s.interval)
            if n != cfg.sim.window_seconds:
                errors.append(f"discovery.series[{i}].interval: {s.interval!r} ({n} s) does not "
                              f"match sim.window_seconds {cfg.sim.window_seconds}: the simulated "
                              "venue lists only windows of that length")
    for i, s in enumerate(cfg.discovery.series):
        if s.interval.endswith("s") and int(s.interval[:-1]) in (300, 900, 14400):
            errors.append(f"discovery.series[{i}].interval: write {s.interval!r} as "
                          f"{ {300: '5m', 900: '15m', 14400: '4h'}[int(s.interval[:-1])]!r}")
    for name in ("market_feed", "user_feed", "price_feed"):
        feed = getattr(cfg, name)
        if feed.reconnect_min_s > feed.reconnect_max_s:
            errors.append(f"{name}.reconnect_min_s: {feed.reconnect_min_s} is above "
                          f"reconnect_max_s {feed.reconnect_max_s}")
    aliases = [s.alias for s in cfg.discovery.slugs]
    errors += [f"discovery.slugs: alias {a!r} used twice" for a in sorted(set(aliases))
               if aliases.count(a) > 1]
    return errors


def resolve_sim_intervals(cfg: Config) -> tuple[Config, list[str]]:
    """Replace ``interval: sim`` by the simulated venue's window label (e.g. ``120s``)."""
    from venue.gamma import interval_label

    if not any(s.interval == "sim" for s in cfg.discovery.series):
        return cfg, []
    if not cfg.sim.enabled or cfg.mode == "live":
        return cfg, [f"discovery.series[{i}].interval: 'sim' (the simulated venue's window "
                     "length) needs sim.enabled in paper mode"
                     for i, s in enumerate(cfg.discovery.series) if s.interval == "sim"]
    label = interval_label(cfg.sim.window_seconds)
    series = tuple(dataclasses.replace(s, interval=label) if s.interval == "sim" else s
                   for s in cfg.discovery.series)
    return dataclasses.replace(cfg, discovery=dataclasses.replace(cfg.discovery,
                                                                  series=series)), []
