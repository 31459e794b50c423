"""Fakes and builders shared by the IO-actor tests: sinks, metrics, Gamma, configs, markets.

Builders take overrides over a dict of defaults (``make_market(end_ms=...)``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from messages import ConditionId, Market, MarketsChanged, TokenId


class Collector:
    """A thread-safe sink: ``collector(msg)`` appends; tests wait on ``wait_for``."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._cond = threading.Condition()

    def __call__(self, msg: Any) -> None:
        with self._cond:
            self.items.append(msg)
            self._cond.notify_all()

    def of(self, cls: type, **attrs: Any) -> list[Any]:
        """Items of type ``cls`` whose attributes equal ``attrs``."""
        with self._cond:
            return [m for m in self.items if isinstance(m, cls)
                    and all(getattr(m, k) == v for k, v in attrs.items())]

    def wait_for(self, pred: Callable[[], Any], timeout: float = 10.0) -> Any:
        with self._cond:
            ok = self._cond.wait_for(pred, timeout)
        if not ok:
            raise TimeoutError(f"collector: condition not met; have {self.items!r}"[:2000])
        return ok

    def wait_of(self, cls: type, count: int = 1, timeout: float = 10.0,
                **attrs: Any) -> list[Any]:
        """Wait until ``count`` items match ``of(cls, **attrs)``; returns them."""
        self.wait_for(lambda: len(self._of_locked(cls, attrs)) >= count, timeout)
        return self.of(cls, **attrs)

    def _of_locked(self, cls: type, attrs: dict[str, Any]) -> list[Any]:
        return [m for m in self.items if isinstance(m, cls)
                and all(getattr(m, k) == v for k, v in attrs.items())]


class FakeMetrics:
    """Records ``incr``/``gauge``/``timing_ms`` calls (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[tuple[str, str], int] = {}
        self.gauges: dict[tuple[str, str], float] = {}
        self.timings: list[tuple[str, float, str]] = []

    def incr(self, name: str, n: int = 1, dim: str = "") -> None:
        with self._lock:
            self.counts[(name, dim)] = self.counts.get((name, dim), 0) + n

    def gauge(self, name: str, value: float, dim: str = "") -> None:
        with self._lock:
            self.gauges[(name, dim)] = value

    def timing_ms(self, name: str, ms: float, dim: str = "") -> None:
        with self._lock:
            self.timings.append((name, ms, dim))

    def count(self, name: str, dim: str = "") -> int:
        with self._lock:
            return self.counts.get((name, dim), 0)


@dataclass(frozen=True)
class FakeCreds:
    api_key: str = "11111111-2222-3333-4444-555555555555"
    secret: str = field(default="c2VjcmV0LXNob3VsZC1uZXZlci1sZWFr", repr=False)
    passphrase: str = field(default="pass-phrase-never-logged", repr=False)


@dataclass(frozen=True)
class FeedCfg:
    """Shaped like ``polymm.config.FeedConfig`` (plus the price feed's fields)."""

    ping_interval_s: float = 10.0
    liveness_timeout_s: float = 0.0
    reconnect_min_s: float = 0.01
    reconnect_max_s: float = 0.05
    raw_log_sample: int = 0
    max_frame_bytes: int = 1 << 20
    provider: str = "polybolt"
    twap_window_seconds: int = 60


def make_feed_config(**over: Any) -> FeedCfg:
    return FeedCfg(**over)


@dataclass(frozen=True)
class SeriesCfg:
    asset: str
    interval: str
    windows: int = 2


@dataclass(frozen=True)
class SlugCfg:
    slug: str
    alias: str
    strategy: str = "bands"


@dataclass(frozen=True)
class DiscoveryCfg:
    series: tuple[SeriesCfg, ...] = (SeriesCfg("btc", "15m"),)
    slugs: tuple[SlugCfg, ...] = ()
    poll_interval_s: float = 30.0
    fast_poll_interval_s: float = 2.0
    fast_window_s: float = 20.0


def make_discovery_config(**over: Any) -> DiscoveryCfg:
    return DiscoveryCfg(**over)


@dataclass(frozen=True)
class EventLogCfg:
    enabled: bool = True
    dir: str = ""
    batch_size: int = 256
    flush_interval_ms: int = 50
    rotate_bytes: int = 64 * 1024 * 1024
    fsync: bool = False


def make_event_log_config(**over: Any) -> EventLogCfg:
    return EventLogCfg(**over)


_MARKET = dict(
    condition_id=ConditionId("0x" + "ab" * 32), slug="btc-updown-15m-1767225600",
    alias="btc-15m", question="Bitcoin Up or Down?",
    token_ids=(TokenId("1001"), TokenId("1002")), outcomes=("Up", "Down"), version="v1",
    neg_risk=False, tick_pips=100, min_size_micro=5_000_000, start_ms=1_767_225_600_000,
    end_ms=1_767_226_500_000, accepting_orders=True, asset="btc", strategy="updown",
)


def make_market(**over: Any) -> Market:
    return Market(**{**_MARKET, **over})  # type: ignore[arg-type]


def make_markets_changed(markets: Sequence[Market], ts_recv_ns: int = 1) -> MarketsChanged:
    cids = tuple(m.condition_id for m in markets)
    return MarketsChanged(markets=tuple(markets), added=cids, removed=(), ts_recv_ns=ts_recv_ns)


def market_n(i: int, **over: Any) -> Market:
    """A distinct market number ``i`` (own condition id and tokens)."""
    base = make_market(condition_id=ConditionId("0x" + f"{i:02x}" * 32),
                       token_ids=(TokenId(str(1000 + 2 * i)), TokenId(str(1001 + 2 * i))))
    return replace(base, **over) if over else base


class FakeGamma:
    """``events_by_slug`` answers from ``events`` (slug → event dict); records each call.

    ``fail`` makes the next calls raise (an HTTP error stand-in).
    """

    def __init__(self, events: dict[str, dict[str, Any]] | None = None) -> None:
        self.events: dict[str, dict[str, Any]] = dict(events or {})
        self.calls: list[tuple[str, ...]] = []
        self.fail: Exception | None = None
        self._cond = threading.Condition()

    def events_by_slug(self, slugs: Sequence[str]) -> list[dict[str, Any]]:
        with self._cond:
            self.calls.append(tuple(slugs))
            self._cond.notify_all()
            if self.fail is not None:
                raise self.fail
            return [self.events[s] for s in slugs if s in self.events]

    def wait_calls(self, n: int, timeout: float = 10.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.calls) >= n, timeout):
                raise TimeoutError("gamma: not called in time")


def gamma_event(slug: str, start_s: int, interval_s: int, *, cid_byte: int = 0xab,
                tokens: tuple[str, str] = ("1001", "1002"), tick: str = "0.01",
                accepting: bool = True) -> dict[str, Any]:
    """A Gamma event with one up/down market, shaped as in protocol §4.3."""
    import datetime as dt

    def iso(s: int) -> str:
        return dt.datetime.fromtimestamp(s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    market = {
        "conditionId": "0x" + f"{cid_byte:02x}" * 32, "slug": slug,
        "question": f"Up or Down {slug}", "clobTokenIds": f'["{tokens[0]}", "{tokens[1]}"]',
        "outcomes": '["Up", "Down"]', "orderPriceMinTickSize": float(tick),
        "orderMinSize": 5, "negRisk": False, "acceptingOrders": accepting,
        "enableOrderBook": True, "active": True, "closed": False,
        "eventStartTime": iso(start_s), "endDate": iso(start_s + interval_s),
        "startDate": iso(start_s - 86400), "version": "v1",
    }
    return {"slug": slug, "title": slug, "startTime": iso(start_s),
            "endDate": iso(start_s + interval_s), "markets": [market]}
