"""StatsD metrics, aggregated in process and flushed once a second.

A hot-path call (``incr``, ``gauge``, ``timing_ms``) costs a dict update under a lock (well
under a microsecond); the UDP sends happen on the flusher thread, batched by the ``statsd``
package's pipeline into ≤ 512-byte datagrams, never on an actor's thread. Timers keep at most
``max_samples`` values per name per interval (a uniform reservoir), so emission cost is bounded
at any message rate; StatsD computes the percentiles. Gauges are re-sent on every flush.
"""

from __future__ import annotations

import logging
import random
import threading
from typing import Any

import statsd

from polymm.metric_names import BY_NAME, GAUGE
from polymm.ticker import Ticker

logger = logging.getLogger(__name__)


class Metrics:
    """The aggregator every actor calls.

    Thread ownership: the three tables are shared by all threads and guarded by one lock; the
    StatsD client belongs to the flusher thread (``flush`` may also be called by the owner at
    stop).
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 8125, prefix: str = "polymm",
                 flush_interval_s: float = 1.0, max_samples: int = 200,
                 seed: int | None = None) -> None:
        self.prefix = prefix
        self._client = statsd.StatsClient(host, port, prefix=prefix)
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}
        self._gauges: dict[str, float] = {}
        self._timers: dict[str, list[float]] = {}
        self._seen: dict[str, int] = {}
        self._max = max_samples
        self._rng = random.Random(seed)
        self._interval = flush_interval_s
        self._ticker: Ticker | None = None
        self.unknown: set[str] = set()
        self.totals: dict[str, int] = {}

    def start(self) -> Metrics:
        self._ticker = Ticker(self._interval, self.flush, name="metrics").start()
        return self

    def _key(self, name: str, dim: str) -> str | None:
        if name not in BY_NAME:
            if name not in self.unknown:
                self.unknown.add(name)
                logger.error("metrics: %r is not in the metric table; not emitted", name)
            return None
        return f"{name}.{_clean(dim)}" if dim else name

    def incr(self, name: str, n: int = 1, dim: str = "") -> None:
        key = self._key(name, dim)
        if key is None:
            return
        with self._lock:
            self._counters[key] = self._counters.get(key, 0) + n
            self.totals[key] = self.totals.get(key, 0) + n

    def gauge(self, name: str, value: float, dim: str = "") -> None:
        key = self._key(name, dim)
        if key is None:
            return
        with self._lock:
            self._gauges[key] = value

    def timing_ms(self, name: str, ms: float, dim: str = "") -> None:
        key = self._key(name, dim)
        if key is None:
            return
        with self._lock:
            seen = self._seen.get(key, 0) + 1
            self._seen[key] = seen
            samples = self._timers.get(key)
            if samples is None:
                self._timers[key] = [ms]
            elif len(samples) < self._max:
                samples.append(ms)
            else:
                j = self._rng.randrange(seen)
                if j < self._max:
                    samples[j] = ms

    def flush(self) -> None:
        """Send everything aggregated since the last flush (gauges every time)."""
        with self._lock:
            counters, self._counters = self._counters, {}
            timers, self._timers = self._timers, {}
            self._seen = {}
            gauges = dict(self._gauges)
        pipe = self._client.pipeline()
        for key, n in counters.items():
            pipe.incr(key, n)
        for key, samples in timers.items():
            for ms in samples:
                pipe.timing(key, ms)
        for key, value in gauges.items():
            # A negative gauge would be read as a delta: the pipeline sends 0 first.
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


def _clean(dim: str) -> str:
    """A dimension is one dotted-name segment: no dots, colons, pipes or spaces."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in dim)


def build_metrics(cfg: Any) -> Metrics | None:
    """Metrics for a run, or None when ``statsd.enabled`` is false."""
    s = cfg.statsd
    if not s.enabled:
        return None
    prefix = f"{s.prefix}.{cfg.mode}.{_clean(cfg.instance)}"
    return Metrics(host=s.host, port=s.port, prefix=prefix,
                   flush_interval_s=s.flush_interval_s).start()


def kind_of(name: str) -> str:
    """The table's kind for a name (for tests and the dashboard check)."""
    return BY_NAME[name].kind if name in BY_NAME else ""


__all__ = ["GAUGE", "Metrics", "build_metrics", "kind_of"]
