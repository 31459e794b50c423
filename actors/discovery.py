"""Discovery: which markets to trade, from Gamma, announced only when the set changes.

The decisions are pure functions (which slugs are wanted now, which markets they give, did the
set change, when to poll next) tested without the actor; the actor only polls, calls them and
tells the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypedDict

from actors.timers import start_timer
from actors.ws_support import LogLimiter
from messages import ConditionId, Market, MarketsChanged, TimerFired
from messages.errors import ConfigError
from runtime.actor import Actor
from runtime.sinks import MetricSink, Tell
from runtime.timer import PeriodicTimer
from trading.params import rng
from venue.gamma import interval_seconds, window_slug, window_start
from venue.gamma_events import Target, build_markets

logger = logging.getLogger(__name__)

ASSET_PATTERN = r"[a-z0-9]{1,16}"
# 5m, 15m and 4h are Polymarket's crypto up/down series; "<N>s" is any other window length
# in seconds (the simulated venue names a 120 s window "120s"); "sim" is resolved by the loader
# to the simulated venue's window length (sim.window_seconds).
INTERVAL_PATTERN = r"5m|15m|4h|[1-9][0-9]{0,5}s|sim"


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesConfig:
    """One rolling up/down series: the current window and the next ``windows - 1``.

    ``interval: sim`` follows ``sim.window_seconds`` (so ``run --window-seconds`` just works);
    the loaded config holds the resolved label (``120s``), never ``sim``.
    """

    asset: str = field(metadata={"pattern": ASSET_PATTERN})
    interval: str = field(metadata={"pattern": INTERVAL_PATTERN})
    windows: int = field(default=2, metadata=rng(1, 12))


@dataclass(frozen=True, slots=True, kw_only=True)
class SlugConfig:
    """One fixed market quoted by slug."""

    slug: str = field(metadata={"pattern": r"[a-z0-9][a-z0-9-]{0,199}"})
    alias: str = field(metadata={"pattern": r"[A-Za-z0-9_.-]{1,40}"})
    strategy: str = field(default="bands", metadata=rng(choices=("bands", "updown")))


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscoveryConfig:
    """Section ``discovery``: which markets to trade and how often to ask Gamma; Discovery's
    construction data, with the one set of defaults (the config loader checks the ranges).

    Polls every ``poll_interval_s``, and every ``fast_poll_interval_s`` within
    ``fast_window_s`` of a window boundary.
    """

    series: tuple[SeriesConfig, ...] = ()
    slugs: tuple[SlugConfig, ...] = ()
    poll_interval_s: float = field(default=30.0, metadata=rng(1, 3600))
    fast_poll_interval_s: float = field(default=1.0, metadata=rng(0.1, 60))
    fast_window_s: float = field(default=10.0, metadata=rng(0, 600))


class GammaEvents(Protocol):
    """What Discovery asks of Gamma (``venue.gamma.GammaClient``)."""

    def events_by_slug(self, slugs: Sequence[str]) -> Sequence[Mapping[str, object]]:
        """Gamma's event objects (JSON) for those of ``slugs`` that exist."""
        ...


class DiscoveryStats(TypedDict):
    """``Discovery.stats()``."""

    polls: int
    errors: int
    changes: int
    markets: int
    next_poll_s: float


def wanted_slugs(series: Sequence[SeriesConfig], slugs: Sequence[SlugConfig],
                 now_s: float) -> dict[str, Target]:
    """Every event slug to ask Gamma for at ``now_s``: the current window of each series and
    the next ``windows - 1``, then the fixed slugs, in that order."""
    out: dict[str, Target] = {}
    now = int(now_s)
    for s in series:
        n = interval_seconds(s.interval)
        start = window_start(now, s.interval)
        for k in range(max(1, s.windows)):
            out[window_slug(s.asset, s.interval, start + k * n)] = (
                f"{s.asset}-{s.interval}", s.asset, "updown")
    for c in slugs:
        out.setdefault(c.slug, (c.alias, "", c.strategy))
    return out


def drop_expired(markets: tuple[Market, ...], now_ms: int) -> tuple[Market, ...]:
    """``markets`` without those whose window has ended."""
    return tuple(m for m in markets if m.end_ms > now_ms)


def diff_markets(old: Sequence[Market], new: Sequence[Market]
                 ) -> tuple[bool, tuple[ConditionId, ...], tuple[ConditionId, ...]]:
    """(changed, added, removed). Any field change of a kept market counts as a change (tick,
    accepting flag, strike...), since consumers act on every field."""
    old_by = {m.condition_id: m for m in old}
    new_by = {m.condition_id: m for m in new}
    added = tuple(c for c in new_by if c not in old_by)
    removed = tuple(c for c in old_by if c not in new_by)
    changed = bool(added or removed) or any(old_by[c] != m for c, m in new_by.items())
    return changed, added, removed


def next_poll_at(now_s: float, intervals_s: Sequence[int], poll_interval_s: float,
                 fast_poll_interval_s: float, fast_window_s: float) -> float:
    """When to poll next: every ``fast_poll_interval_s`` within ``fast_window_s`` of a window
    boundary of any series, else every ``poll_interval_s`` but never past the start of the next
    fast period. Computed from ``now``, so a late poll shifts the schedule instead of bursting.
    """
    if not intervals_s:
        return now_s + poll_interval_s
    next_fast = float("inf")
    for n in intervals_s:
        prev = now_s - now_s % n
        nxt = prev + n
        if now_s - prev <= fast_window_s or nxt - now_s <= fast_window_s:
            return now_s + fast_poll_interval_s
        next_fast = min(next_fast, nxt - fast_window_s)
    return min(now_s + poll_interval_s, next_fast)


class Discovery(Actor):
    """Polls Gamma for the configured series windows and fixed slugs.

    Thread ownership: everything here belongs to the actor thread; a :class:`PeriodicTimer`
    thread only tells it ``TimerFired(name="discovery")``. The Gamma call blocks this thread
    (bounded by the client's timeout), which is fine: nothing waits on Discovery.

    Accepts: its ``TimerFired`` (poll when due, drop ended markets in between), ``poll_now()``
    and ``markets()`` through a proxy (supervisor and tests). Emits: ``MarketsChanged`` to every
    sink, only when the set or a field of a market changed. On failure: Gamma errors are logged
    (rate-limited) and counted and the last known set stays; nothing here is fatal.

    Args:
        gamma: the Gamma client, called on this actor's thread only.
        config: the ``discovery`` section.
        sinks: where ``MarketsChanged`` goes (the consumers' roles).
    """

    TIMER_NAME = "discovery"

    def __init__(self, gamma: GammaEvents, config: DiscoveryConfig, sinks: Sequence[Tell],
                 clock_s: Callable[[], float] = time.time,
                 metrics: MetricSink | None = None) -> None:
        super().__init__()
        self._gamma = gamma
        self._series = tuple(config.series)
        self._slugs = tuple(config.slugs)
        self._poll_s = config.poll_interval_s
        self._fast_s = config.fast_poll_interval_s
        self._fast_window_s = config.fast_window_s
        errors = []
        if self._poll_s <= 0 or self._fast_s <= 0:
            errors.append("discovery.poll_interval_s/fast_poll_interval_s: expected > 0")
        try:
            self._intervals = tuple(sorted({interval_seconds(s.interval) for s in self._series}))
        except Exception as exc:
            errors.append(f"discovery.series: {exc}")
        if errors:
            raise ConfigError(errors)
        self._sinks = tuple(sinks)
        self._clock_s = clock_s
        self._metrics = metrics
        self._markets: tuple[Market, ...] = ()
        self._next_poll = 0.0
        self._timer: PeriodicTimer | None = None
        self._err_log = LogLimiter()
        self.polls = 0
        self.errors = 0
        self._said_none = False
        self.changes = 0

    def on_start(self) -> None:
        ref = self.actor_ref
        self._timer = start_timer(ref, self.TIMER_NAME, min(self._fast_s, 1.0))
        ref.tell(TimerFired(name=self.TIMER_NAME, ts_recv_ns=time.time_ns()))  # first poll now

    def on_stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()

    def on_failure(self, *exc_info: object) -> None:
        self.on_stop()

    def on_receive(self, message: object) -> None:
        if isinstance(message, TimerFired) and message.name == self.TIMER_NAME:
            try:
                self.on_poll()
            except Exception:
                logger.exception("discovery: tick failed")
        return None

    def on_poll(self) -> None:
        """Poll when due; otherwise only drop markets whose window ended."""
        now = self._clock_s()
        if now >= self._next_poll:
            self.poll_now()
        else:
            self._publish(drop_expired(self._markets, int(now * 1000)))

    # -- proxy calls ------------------------------------------------------------------------

    def poll_now(self) -> tuple[Market, ...]:
        """Ask Gamma now; emit if the set changed. Returns the current set."""
        now = self._clock_s()
        self._next_poll = next_poll_at(now, self._intervals, self._poll_s, self._fast_s,
                                       self._fast_window_s)
        wanted = wanted_slugs(self._series, self._slugs, now)
        self.polls += 1
        self._incr("discovery.polls")
        try:
            events = self._gamma.events_by_slug(list(wanted))
        except Exception as exc:
            self._error("events_by_slug", exc)
            self._publish(drop_expired(self._markets, int(now * 1000)))
            return self._markets
        markets = build_markets(events, wanted, int(now * 1000), self._error)
        self._say_if_none(markets, wanted)
        self._publish(markets)
        return self._markets

    def _say_if_none(self, markets: tuple[Market, ...], wanted: dict[str, Target]) -> None:
        """A warning (once until something is found) when Gamma lists none of the wanted
        markets: with nothing to quote the status line alone says nothing about why."""
        if markets or not wanted:
            self._said_none = False
            return
        if not self._said_none:
            self._said_none = True
            logger.warning("discovery: the venue lists none of the %d markets asked for (%s); "
                           "check discovery.series and discovery.slugs against the venue's "
                           "markets (a stand-in `bin/polymm sim` lists windows of its "
                           "--window-seconds only)", len(wanted), ", ".join(list(wanted)[:4]))

    def markets(self) -> tuple[Market, ...]:
        return self._markets

    def stats(self) -> DiscoveryStats:
        return {"polls": self.polls, "errors": self.errors, "changes": self.changes,
                "markets": len(self._markets), "next_poll_s": self._next_poll}

    # -- internals ------------------------------------------------------------------------------

    def _publish(self, markets: tuple[Market, ...]) -> None:
        changed, added, removed = diff_markets(self._markets, markets)
        if not changed:
            return
        self._markets = markets
        self.changes += 1
        msg = MarketsChanged(markets=markets, added=added, removed=removed,
                             ts_recv_ns=time.time_ns())
        logger.info("discovery: %d markets (+%d -%d): %s", len(markets), len(added),
                    len(removed), ", ".join(m.slug for m in markets))
        if self._metrics is not None:
            self._metrics.incr("discovery.changes")
            self._metrics.gauge("discovery.markets", len(markets))
        for sink in self._sinks:
            try:
                sink(msg)
            except Exception:
                logger.exception("discovery: a sink failed on MarketsChanged")

    def _error(self, where: str, exc: Exception) -> None:
        self.errors += 1
        self._incr("discovery.errors")
        n = self._err_log.allow()
        if n is not None:
            logger.warning("discovery: %s: %s (%d similar suppressed)", where, exc, n)

    def _incr(self, name: str) -> None:
        if self._metrics is not None:
            self._metrics.incr(name)
