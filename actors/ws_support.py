"""Pure helpers of the websocket feeds: settings, backoff, log rate limiting, redaction.

No threads and no clock reads of their own (clocks and random sources are injected), so each is
tested without a socket.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from messages.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedSettings:
    """The knobs every feed shares, read duck-typed from a ``FeedConfig``-like object."""

    ping_interval_s: float = 10.0
    liveness_timeout_s: float = 30.0
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    raw_log_sample: int = 0
    max_frame_bytes: int = 4 * 1024 * 1024
    connect_timeout_s: float = 10.0

    @classmethod
    def of(cls, config: Any, where: str) -> FeedSettings:
        """Copy the known attributes of ``config`` (missing ones keep defaults) and check them."""
        values = {name: getattr(config, name) for name in cls.__dataclass_fields__
                  if config is not None and hasattr(config, name)}
        s = cls(**values)
        errors = []
        if s.ping_interval_s <= 0:
            errors.append(f"{where}.ping_interval_s: expected > 0, got {s.ping_interval_s}")
        if not 0 < s.reconnect_min_s <= s.reconnect_max_s:
            errors.append(f"{where}.reconnect_min_s/reconnect_max_s: expected "
                          f"0 < min <= max, got {s.reconnect_min_s}/{s.reconnect_max_s}")
        if s.raw_log_sample < 0:
            errors.append(f"{where}.raw_log_sample: expected >= 0, got {s.raw_log_sample}")
        if s.max_frame_bytes <= 0:
            errors.append(f"{where}.max_frame_bytes: expected > 0, got {s.max_frame_bytes}")
        if errors:
            raise ConfigError(errors)
        return s

    def tick_s(self) -> float:
        """Timer granularity: fine enough for both the ping and the liveness bound."""
        t = self.ping_interval_s
        if self.liveness_timeout_s > 0:
            t = min(t, self.liveness_timeout_s / 4)
        return max(0.005, min(t, 1.0))


class ReconnectBackoff:
    """Jittered exponential backoff: delay ``n`` is uniform in ``[d/2, d]``, ``d = min·2ⁿ``
    capped at ``max``. Pure apart from the injected ``rng``."""

    def __init__(self, min_s: float, max_s: float,
                 rng: Callable[[], float] = random.random) -> None:
        self.min_s, self.max_s, self._rng = min_s, max_s, rng
        self.attempt = 0

    def next_delay(self) -> float:
        d = min(self.max_s, self.min_s * (2.0 ** min(self.attempt, 32)))
        self.attempt += 1
        return d * (0.5 + 0.5 * self._rng())

    def reset(self) -> None:
        self.attempt = 0


class LogLimiter:
    """Lets the first ``burst`` events through, then one per ``period_s``; counts the rest."""

    def __init__(self, burst: int = 5, period_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._burst, self._period, self._clock = burst, period_s, clock
        self._seen = 0
        self._next = 0.0
        self.suppressed = 0

    def allow(self) -> int | None:
        """None to suppress; otherwise how many were suppressed since the last one allowed."""
        self._seen += 1
        now = self._clock()
        if self._seen <= self._burst or now >= self._next:
            self._next = now + self._period
            n, self.suppressed = self.suppressed, 0
            return n
        self.suppressed += 1
        return None


def redact(obj: Any) -> Any:
    """A copy of an outbound frame safe to log: the ``auth`` object is replaced."""
    if isinstance(obj, dict) and "auth" in obj:
        return {**obj, "auth": "********"}
    return obj


def retry_after_s(exc: BaseException) -> float | None:
    """``Retry-After`` of a refused handshake (HTTP 429/503), in seconds, if given."""
    headers = getattr(exc, "resp_headers", None) or {}
    value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def close_code(payload: bytes) -> int:
    """The status code of a close frame's payload (1005 = none given)."""
    return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
