"""Parameters of the pure trading logic, also the schema of their config sections.

The config loader builds these dataclasses straight from YAML (``quoter:``, ``risk:``,
``order_manager:``), checking every field's type and the range given in its metadata
(``min``/``max``/``choices``). Defaults are the paper-trading defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def rng(lo: float | None = None, hi: float | None = None, **extra: object) -> dict[str, object]:
    """Field metadata for the config loader: inclusive range and optional ``choices``."""
    meta: dict[str, object] = dict(extra)
    if lo is not None:
        meta["min"] = lo
    if hi is not None:
        meta["max"] = hi
    return meta


@dataclass(frozen=True, slots=True, kw_only=True)
class RefWeights:
    """Blend of the reference streams into one price S (weights of available streams are
    renormalised; a stale stream counts as unavailable)."""

    binance: float = field(default=0.5, metadata=rng(0, 1))
    chainlink: float = field(default=0.0, metadata=rng(0, 1))
    twap: float = field(default=0.5, metadata=rng(0, 1))


@dataclass(frozen=True, slots=True, kw_only=True)
class BandsParams:
    """The ``bands`` strategy: BUY both outcomes at distances from the book mid."""

    half_spread_pips: int = field(default=200, metadata=rng(1, 5000))
    size_shares: int = field(default=10, metadata=rng(1, 100000))


@dataclass(frozen=True, slots=True, kw_only=True)
class QuoteParams:
    """Section ``quoter``: the quoting model and its gates.

    There is no strategy setting here: the strategy belongs to the market (``Market.strategy``:
    ``updown`` for the rolling series, each fixed slug's own from ``discovery.slugs``).
    """

    half_spread_pips: int = field(default=150, metadata=rng(1, 5000))
    skew_pips_per_share: float = field(default=2.0, metadata=rng(0, 1000))
    size_shares: int = field(default=10, metadata=rng(1, 100000))
    # Sizes taper linearly to zero as the position on that side nears risk.max_position_shares.
    taper: bool = True
    ref_weights: RefWeights = field(default_factory=RefWeights)
    ref_stale_ms: int = field(default=5000, metadata=rng(100, 600000))
    book_stale_ms: int = field(default=60000, metadata=rng(100, 3600000))
    min_seconds_to_close: int = field(default=45, metadata=rng(0, 86400))
    vol_floor_per_sqrt_s: float = field(default=0.0001, metadata=rng(0, 1))
    vol_halflife_s: float = field(default=60.0, metadata=rng(1, 86400))
    bands: BandsParams = field(default_factory=BandsParams)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderParams:
    """Section ``order_manager``: diff tolerances, batching, heartbeat, rate budgets."""

    reprice_ticks: int = field(default=1, metadata=rng(0, 100))
    resize_frac: float = field(default=0.2, metadata=rng(0, 1))
    batch_size: int = field(default=15, metadata=rng(1, 15))
    post_only: bool = True
    heartbeat_interval_s: float = field(default=5.0, metadata=rng(1, 9))
    order_rate_per_s: float = field(default=40.0, metadata=rng(1, 1000))
    order_burst: int = field(default=60, metadata=rng(1, 2000))
    cancel_rate_per_s: float = field(default=80.0, metadata=rng(1, 2000))
    cancel_burst: int = field(default=120, metadata=rng(1, 4000))
    resolve_timeout_s: float = field(default=10.0, metadata=rng(0.5, 300))
    # Re-pricing: write the cancels, then post the replacements at once on a second connection
    # (exposure counts both until the cancel is confirmed; a replacement that could trade with
    # one of our canceling orders waits), instead of waiting for the cancels' reply. Off by
    # default: a post written before the cancel's reply can land inside a Retry-After window
    # that reply opens (a 425 covers posts too), which the venue may count against the key.
    pipeline_replace: bool = False
    # An order the venue acknowledged must show up on the user channel within this time, or
    # the user socket is treated as silently stuck and reconnected.
    user_ack_timeout_s: float = field(default=5.0, metadata=rng(1, 120))


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskLimits:
    """Section ``risk``: worst-case limits checked on every post, and the kill switch."""

    max_position_shares: int = field(default=100, metadata=rng(1, 10_000_000))
    max_notional_usd: int = field(default=500, metadata=rng(1, 100_000_000))
    max_open_orders_per_market: int = field(default=4, metadata=rng(1, 1000))
    max_order_shares: int = field(default=50, metadata=rng(1, 10_000_000))
    kill_error_rate: float = field(default=0.5, metadata=rng(0, 1))
    kill_min_posts: int = field(default=20, metadata=rng(1, 100000))
    kill_window_s: int = field(default=60, metadata=rng(1, 3600))
    kill_max_rejects: int = field(default=50, metadata=rng(1, 100000))
