"""StatsD metrics, aggregated in process and flushed once a second.

A hot-path call (``incr``, ``gauge``, ``timing_ms``) costs a cached key lookup and a dict
update under a lock (about a microsecond); the UDP sends happen on the flusher thread, batched
by the ``statsd`` package's pipeline into ≤ 1432-byte datagrams, never on an actor's thread.
Timers keep at most ``max_samples`` values per name per interval (a uniform reservoir), so
emission cost is bounded at any message rate; StatsD computes the percentiles. (A timer's
StatsD ``count`` is therefore the number of samples kept, not seen: rates come from counters.)
Gauges are re-sent on every flush, a heartbeat that keeps them alive under the daemon's
``deleteIdleStats``.

A name must be in ``polymm.metric_names.TABLE`` and be used as the table says: the right kind
(``incr`` for counters, ``gauge``, ``timing_ms`` for timers) and a dimension exactly when the
table gives one. Anything else is logged once and dropped, so what reaches StatsD is always
what the Grafana dashboard can query.
"""

from __future__ import annotations

import logging
import random
import threading
from math import isfinite
from typing import Any

import statsd

from polymm.metric_names import BY_NAME, COUNTER, GAUGE, TIMER
from polymm.ticker import Ticker

logger = logging.getLogger(__name__)


class Metrics:
    """The aggregator every actor calls.

    Thread ownership: the pending counters, gauges and timer reservoirs are shared by all
    threads and guarded by one lock; the StatsD client belongs to the flusher thread (``flush``
    may also be called by the owner at stop). The key cache is written without the lock: a race
    only computes a key twice.

    Args:
        max_samples: timer samples kept per name per flush (a uniform reservoir).
        timer_sample_rate: keep each timer sample with this probability before it reaches the
            lock (config ``statsd.timer_sample_rate``); 1.0 keeps all, the reservoir still
            bounds what is sent.
        max_udp_bytes: datagram size of the pipeline (1432 fits an Ethernet MTU; the statsd
            package's 512 default is for paths across the internet).
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 8125, prefix: str = "polymm",
                 flush_interval_s: float = 1.0, max_samples: int = 200,
                 seed: int | None = None, timer_sample_rate: float = 1.0,
                 max_udp_bytes: int = 1432) -> None:
        self.prefix = prefix
        self._client = statsd.StatsClient(host, port, prefix=prefix, maxudpsize=max_udp_bytes)
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, str, str], str | None] = {}
        self._sample_rate = timer_sample_rate
        self._counters: dict[str, int] = {}
        self._gauges: dict[str, float] = {}
        # key -> [samples seen this interval, kept samples]
        self._timers: dict[str, list[Any]] = {}
        self._flushed_totals: dict[str, int] = {}
        self._max = max_samples
        self._rng = random.Random(seed)
        self._random = self._rng.random
        self._interval = flush_interval_s
        self._ticker: Ticker | None = None
        self.unknown: set[str] = set()
        self.misused: set[str] = set()

    def start(self) -> Metrics:
        self._ticker = Ticker(self._interval, self.flush, name="metrics").start()
        return self

    @property
    def totals(self) -> dict[str, int]:
        """Every counter's total since start (flushed plus pending), by StatsD key."""
        with self._lock:
            out = dict(self._flushed_totals)
            for key, n in self._counters.items():
                out[key] = out.get(key, 0) + n
        return out

    # -- hot path (any thread) -------------------------------------------------------------------

    def incr(self, name: str, n: int = 1, dim: str = "") -> None:
        key = self._keys.get((name, dim, COUNTER), _MISSING)
        if key is _MISSING:
            key = self._resolve(name, dim, COUNTER)
        if key is None:
            return
        with self._lock:
            self._counters[key] = self._counters.get(key, 0) + n

    def gauge(self, name: str, value: float, dim: str = "") -> None:
        key = self._keys.get((name, dim, GAUGE), _MISSING)
        if key is _MISSING:
            key = self._resolve(name, dim, GAUGE)
        if key is None:
            return
        if not isfinite(value):
            _dropped(name, value)
            return
        with self._lock:
            # bool is an int, but "True|g" is not a StatsD line.
            self._gauges[key] = int(value) if isinstance(value, bool) else value

    def drop_gauge(self, name: str, dim: str = "") -> None:
        """Stop re-sending a gauge (a market that rolled off); StatsD deletes it when idle."""
        key = self._resolve(name, dim, GAUGE)
        if key is None:
            return
        with self._lock:
            self._gauges.pop(key, None)

    def timing_ms(self, name: str, ms: float, dim: str = "") -> None:
        if self._sample_rate < 1.0 and self._random() >= self._sample_rate:
            return
        key = self._keys.get((name, dim, TIMER), _MISSING)
        if key is _MISSING:
            key = self._resolve(name, dim, TIMER)
        if key is None:
            return
        if not isfinite(ms):
            _dropped(name, ms)
            return
        with self._lock:
            entry = self._timers.get(key)
            if entry is None:
                self._timers[key] = [1, [ms]]
                return
            entry[0] += 1
            samples = entry[1]
            if len(samples) < self._max:
                samples.append(ms)
            else:
                j = int(self._random() * entry[0])
                if j < self._max:
                    samples[j] = ms

    # -- names -----------------------------------------------------------------------------------

    def _resolve(self, name: str, dim: str, kind: str) -> str | None:
        """The StatsD key for a use of ``name`` (None: not emitted), cached."""
        key = self._check(name, dim, kind)
        if len(self._keys) > _MAX_KEYS:  # dims are small sets; this only guards against a bug
            self._keys.clear()
        self._keys[(name, dim, kind)] = key
        return key

    def _check(self, name: str, dim: str, kind: str) -> str | None:
        d = BY_NAME.get(name)
        if d is None:
            if name not in self.unknown:
                self.unknown.add(name)
                logger.error("metrics: %r is not in the metric table; not emitted", name)
            return None
        problem = ""
        if d.kind != kind:
            problem = f"is a {d.kind}, used as a {kind}"
        elif d.dim and not dim:
            problem = f"needs a {d.dim} dimension"
        elif dim and not d.dim:
            problem = f"has no dimension, got {dim!r}"
        if problem:
            if name not in self.misused:
                self.misused.add(name)
                logger.error("metrics: %r %s; not emitted", name, problem)
            return None
        return f"{name}.{_clean(dim)}" if dim else name

    # -- flusher thread --------------------------------------------------------------------------

    def flush(self) -> None:
        """Send everything aggregated since the last flush (gauges every time)."""
        with self._lock:
            counters, self._counters = self._counters, {}
            timers, self._timers = self._timers, {}
            gauges = dict(self._gauges)
            for key, n in counters.items():
                self._flushed_totals[key] = self._flushed_totals.get(key, 0) + n
        pipe = self._client.pipeline()
        for key, n in counters.items():
            pipe.incr(key, n)
        for key, (_, samples) in timers.items():
            for ms in samples:
                pipe.timing(key, ms)
        for key, value in gauges.items():
            # A leading "-" is a delta to StatsD: for a negative gauge the package sends 0 first.
            pipe.gauge(key, value)
        try:
            pipe.send()
        except Exception as exc:  # metrics must never take the bot down
            logger.warning("metrics: flush failed: %s", exc)

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
        self.flush()
        self._client.close()


_MAX_KEYS = 10_000


_MISSING: Any = object()


def _dropped(name: str, value: float) -> None:
    # NaN and inf would reach StatsD as lines it counts as bad.
    logger.debug("metrics: %s: dropped non-finite value %r", name, value)


def _clean(dim: str) -> str:
    """A dimension is one dotted-name segment: no dots, colons, pipes or spaces."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in dim)


def build_metrics(cfg: Any) -> Metrics | None:
    """Metrics for a run, or None when ``statsd.enabled`` is false."""
    s = cfg.statsd
    if not s.enabled:
        return None
    return Metrics(host=s.host, port=s.port, prefix=metrics_prefix(cfg),
                   flush_interval_s=s.flush_interval_s,
                   timer_sample_rate=getattr(s, "timer_sample_rate", 1.0)).start()


def metrics_prefix(cfg: Any) -> str:
    """``<statsd.prefix>.<mode>.<instance>``: what the dashboard's ``polymm.$mode.$instance``
    templates match (with the default ``statsd.prefix``)."""
    return f"{cfg.statsd.prefix}.{cfg.mode}.{_clean(cfg.instance)}"


def kind_of(name: str) -> str:
    """The table's kind for a name (for tests and the dashboard check)."""
    return BY_NAME[name].kind if name in BY_NAME else ""


__all__ = ["GAUGE", "Metrics", "build_metrics", "kind_of", "metrics_prefix"]
