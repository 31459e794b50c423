"""StatsD metrics, aggregated in process and flushed once a second.

A hot-path call costs a dict update: ``incr`` and ``timing_ms`` in the calling thread's own
tables, with no lock, ``gauge`` under a lock; the UDP sends happen on the flusher thread, batched
by the ``statsd`` package's pipeline into ≤ 1432-byte datagrams, never on an actor's thread.
Timers keep at most ``max_samples`` values per name per interval (a uniform reservoir), so
emission cost is bounded at any message rate; StatsD computes the percentiles. (A timer's
StatsD ``count`` is therefore the number of samples kept, not seen: rates come from counters.)
Gauges are re-sent on every flush, a heartbeat that keeps them alive under the daemon's
``deleteIdleStats``.

A name must be in ``runtime.metric_names.TABLE`` and be used as the table says: the right kind
(``incr`` for counters, ``gauge``, ``timing_ms`` for timers) and a dimension exactly when the
table gives one. Anything else is logged once (at the flush that meets it) and dropped, so
what reaches StatsD is always what the Grafana dashboard can query.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from math import exp, isfinite, log, log1p
from typing import Any, Protocol

import statsd

from runtime.metric_names import BY_NAME, COUNTER, GAUGE, HIGH_RATE_TIMERS, TIMER
from runtime.timer import PeriodicTimer

logger = logging.getLogger(__name__)


Raw = tuple[str, str]
"""A use of a metric as the caller wrote it: ``(name, dim)``; checked and cleaned at flush."""

_TINY = 1e-300


class _ThreadTables:
    """One thread's counters (totals since start) and timer reservoirs (since the last flush).

    Only the owning thread writes them; the flusher copies ``counts`` and swaps ``table``.
    """

    __slots__ = ("counts", "table")

    def __init__(self) -> None:
        self.counts: dict[Raw, int] = {}
        # A reservoir per use: [seen: int, next kept: int, W: float, samples: list[float]]; a
        # list (not an object) because ``timing_ms`` updates it in place on the hot path.
        self.table: dict[Raw, list[Any]] = {}


def _skip(w: float, rnd: Callable[[], float]) -> int:
    """Samples to pass over before the next one a full reservoir keeps (Algorithm L)."""
    if w >= 1.0:
        return 1
    return int(log(rnd() or _TINY) / log1p(-w)) + 1


class Metrics:
    """The aggregator every actor calls.

    Thread ownership: counters and timer reservoirs are per thread (``_ThreadTables`` in a
    ``threading.local``, written only by its thread, so ``incr`` and ``timing_ms`` take no
    lock); the flusher copies each thread's counters (``dict.copy`` runs under the GIL in one
    step, so a copy never sees a torn update) and sends the increase since its last copy, and
    swaps out each thread's reservoirs. Gauges are shared and guarded by ``_lock``. The StatsD
    client, the key cache and the last-copy totals belong to whoever holds ``_flush_lock``: the
    flusher thread, or the owner in ``flush``/``close``. Names are checked against the table at
    flush, so the hot path does no lookup beyond its own dict.

    Args:
        max_samples: timer samples kept per name per flush (a uniform reservoir).
        timer_sample_rate: keep each sample of a per-message timer (``HIGH_RATE_TIMERS``)
            with this probability before it reaches the
            lock (config ``statsd.timer_sample_rate``); 1.0 keeps all, the reservoir still
            bounds what is sent.
        max_udp_bytes: datagram size of the pipeline (1432 fits an Ethernet MTU; the statsd
            package's 512 default is for paths across the internet).
    """

    def __init__(self, *, port: int, prefix: str, host: str = "127.0.0.1",
                 flush_interval_s: float = 1.0, max_samples: int = 200,
                 seed: int | None = None, timer_sample_rate: float = 1.0,
                 max_udp_bytes: int = 1432) -> None:
        self.prefix = prefix
        self._client = statsd.StatsClient(host, port, prefix=prefix, maxudpsize=max_udp_bytes)
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._local = threading.local()
        self._threads: list[_ThreadTables] = []
        self._counted: dict[Raw, int] = {}  # per-thread totals summed at the last flush
        self._gauges: dict[Raw, float] = {}
        self._keys: dict[tuple[str, str, str], str | None] = {}
        self._sample_rate = timer_sample_rate
        self._max = max_samples
        self._rng = random.Random(seed)
        self._random = self._rng.random
        self._interval = flush_interval_s
        self._timer: PeriodicTimer | None = None
        self.unknown: set[str] = set()
        self.misused: set[str] = set()

    def start(self) -> Metrics:
        self._timer = PeriodicTimer(self._interval, self.flush, name="metrics").start()
        return self

    @property
    def totals(self) -> dict[str, int]:
        """Every valid counter's total since start (flushed or not), by StatsD key."""
        out: dict[str, int] = {}
        with self._flush_lock:
            for (name, dim), n in self._sum_counts().items():
                key = self._resolve(name, dim, COUNTER)
                if key is not None:
                    out[key] = out.get(key, 0) + n
        return out

    # -- hot path (any thread) -------------------------------------------------------------------

    def incr(self, name: str, n: int = 1, dim: str = "") -> None:
        try:
            counts: dict[Raw, int] = self._local.counts
        except AttributeError:
            counts = self._register_thread().counts
        raw = (name, dim)
        counts[raw] = counts.get(raw, 0) + n

    def gauge(self, name: str, value: float, dim: str = "") -> None:
        if not isfinite(value):
            _dropped(name, value)
            return
        with self._lock:
            self._gauges[(name, dim)] = value

    def drop_gauge(self, name: str, dim: str = "") -> None:
        """Stop re-sending a gauge (a market that rolled off); StatsD deletes it when idle."""
        with self._lock:
            self._gauges.pop((name, dim), None)

    def timing_ms(self, name: str, ms: float, dim: str = "") -> None:
        if (self._sample_rate < 1.0 and name in HIGH_RATE_TIMERS
                and self._random() >= self._sample_rate):
            return
        if not isfinite(ms):
            _dropped(name, ms)
            return
        try:
            table: dict[Raw, list[Any]] = self._local.timers.table  # see _ThreadTables
        except AttributeError:
            table = self._register_thread().table
        raw = (name, dim)
        res = table.get(raw)
        if res is None:
            table[raw] = [1, 0, 0.0, [ms]]
            return
        # res = [seen, index of the next sample to keep, W, kept samples]: Li's "Algorithm L"
        # reservoir, which draws random numbers only for the samples it keeps.
        res[0] += 1
        samples = res[3]
        k = self._max
        if len(samples) < k:
            samples.append(ms)
            if len(samples) == k:
                res[2] = exp(log(self._random() or _TINY) / k)
                res[1] = res[0] + _skip(res[2], self._random)
        elif res[0] == res[1]:
            samples[int(self._random() * k)] = ms
            res[2] *= exp(log(self._random() or _TINY) / k)
            res[1] = res[0] + _skip(res[2], self._random)

    def _register_thread(self) -> _ThreadTables:
        tables = _ThreadTables()
        self._local.counts = tables.counts
        self._local.timers = tables
        with self._lock:
            self._threads.append(tables)
        return tables

    # -- flush (flusher thread, or the owner) ----------------------------------------------------

    def flush(self) -> None:
        """Send everything aggregated since the last flush (gauges every time)."""
        with self._flush_lock:
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            threads = list(self._threads)
            gauges = dict(self._gauges)
        timers: dict[Raw, list[float]] = {}
        for tables in threads:
            # The owner picks up the new table at its next call; a call already in flight may
            # still add one sample to the old one, which is then lost (sampling anyway).
            taken, tables.table = tables.table, {}
            for raw, res in taken.items():
                timers.setdefault(raw, []).extend(res[3])
        now = self._sum_counts()
        last, self._counted = self._counted, now
        counters: dict[str, int] = {}
        for raw, total in now.items():
            n = total - last.get(raw, 0)
            key = self._resolve(raw[0], raw[1], COUNTER) if n else None
            if key is not None:
                counters[key] = counters.get(key, 0) + n
        pipe = self._client.pipeline()
        for key, n in counters.items():
            pipe.incr(key, n)
        for (name, dim), samples in timers.items():
            key = self._resolve(name, dim, TIMER)
            if key is not None:
                for ms in samples:
                    pipe.timing(key, ms)
        for (name, dim), value in gauges.items():
            key = self._resolve(name, dim, GAUGE)
            if key is not None:
                # bool is an int, but "True|g" is not a StatsD line. A leading "-" is a delta
                # to StatsD: for a negative gauge the package sends "0" first.
                pipe.gauge(key, int(value) if isinstance(value, bool) else value)
        try:
            pipe.send()
        except Exception as exc:  # metrics must never take the bot down
            logger.warning("metrics: flush failed: %s", exc)

    def _sum_counts(self) -> dict[Raw, int]:
        with self._lock:
            threads = list(self._threads)
        total: dict[Raw, int] = {}
        for tables in threads:
            # One C call under the GIL: never a half-applied update of the owning thread.
            for raw, n in tables.counts.copy().items():
                total[raw] = total.get(raw, 0) + n
        return total

    def close(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.flush()
        self._client.close()

    # -- names -----------------------------------------------------------------------------------

    def _resolve(self, name: str, dim: str, kind: str) -> str | None:
        """The StatsD key for a use of ``name`` (None: not emitted), cached."""
        cache_key = (name, dim, kind)
        if cache_key in self._keys:
            return self._keys[cache_key]
        key = self._check(name, dim, kind)
        if len(self._keys) > _MAX_KEYS:  # dims are small sets; this only guards against a bug
            self._keys.clear()
        self._keys[cache_key] = key
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


_MAX_KEYS = 10_000


def _dropped(name: str, value: float) -> None:
    # NaN and inf would reach StatsD as lines it counts as bad.
    logger.debug("metrics: %s: dropped non-finite value %r", name, value)


def _clean(dim: str) -> str:
    """A dimension is one dotted-name segment: no dots, colons, pipes or spaces."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in dim)


class StatsdSettings(Protocol):
    """The ``statsd`` config section's fields (the section and its defaults are the roof's:
    this floor sits below the config loader)."""

    @property
    def enabled(self) -> bool: ...

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def prefix(self) -> str: ...

    @property
    def flush_interval_s(self) -> float: ...

    @property
    def timer_sample_rate(self) -> float: ...


class RunSettings(Protocol):
    """What a run's metrics are built from: the ``statsd`` section, the mode and instance."""

    @property
    def statsd(self) -> StatsdSettings: ...

    @property
    def mode(self) -> str: ...

    @property
    def instance(self) -> str: ...


def build_metrics(cfg: RunSettings) -> Metrics | None:
    """Metrics for a run, or None when ``statsd.enabled`` is false."""
    s = cfg.statsd
    if not s.enabled:
        return None
    return Metrics(host=s.host, port=s.port, prefix=metrics_prefix(cfg),
                   flush_interval_s=s.flush_interval_s,
                   timer_sample_rate=s.timer_sample_rate).start()


def metrics_prefix(cfg: RunSettings) -> str:
    """``<statsd.prefix>.<mode>.<instance>``: what the dashboard's ``polymm.$mode.$instance``
    templates match (with the default ``statsd.prefix``)."""
    return f"{cfg.statsd.prefix}.{cfg.mode}.{_clean(cfg.instance)}"


def kind_of(name: str) -> str:
    """The table's kind for a name (for tests and the dashboard check)."""
    return BY_NAME[name].kind if name in BY_NAME else ""


__all__ = ["GAUGE", "Metrics", "build_metrics", "kind_of", "metrics_prefix"]
