"""Pure helpers of the websocket feeds: their config section, backoff, log rate limiting,
redaction, and the part of a websocket connection they use.

No threads and no clock reads of their own (clocks and random sources are injected), so each is
tested without a socket.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from trading.params import rng

Frame = str | dict[str, object]
"""An outbound frame: text sent as it is, or a JSON object (orjson encodes it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedConfig:
    """Sections ``market_feed`` and ``user_feed``: one websocket feed's construction data, with
    the one set of defaults (the config loader checks the ranges; :func:`feed_config_errors`
    re-checks what a caller that builds one directly could get wrong).

    ``raw_log_sample``: 0 = raw frames not logged, N = one frame in N logged.
    ``liveness_timeout_s`` of 0 turns the liveness check off (tests: the loader refuses it).
    """

    ping_interval_s: float = field(default=10.0, metadata=rng(0.5, 300))
    liveness_timeout_s: float = field(default=30.0, metadata=rng(1, 3600))
    reconnect_min_s: float = field(default=0.5, metadata=rng(0.01, 60))
    reconnect_max_s: float = field(default=30.0, metadata=rng(0.01, 600))
    raw_log_sample: int = field(default=0, metadata=rng(0, 1_000_000))
    max_frame_bytes: int = field(default=4 * 1024 * 1024, metadata=rng(1024, 256 * 1024 * 1024))
    connect_timeout_s: float = field(default=10.0, metadata=rng(0.1, 120))


def feed_config_errors(cfg: FeedConfig, where: str) -> list[str]:
    """What is wrong with ``cfg`` (section ``where``), one message per problem."""
    errors = []
    if cfg.ping_interval_s <= 0:
        errors.append(f"{where}.ping_interval_s: expected > 0, got {cfg.ping_interval_s}")
    if not 0 < cfg.reconnect_min_s <= cfg.reconnect_max_s:
        errors.append(f"{where}.reconnect_min_s/reconnect_max_s: expected "
                      f"0 < min <= max, got {cfg.reconnect_min_s}/{cfg.reconnect_max_s}")
    if cfg.raw_log_sample < 0:
        errors.append(f"{where}.raw_log_sample: expected >= 0, got {cfg.raw_log_sample}")
    if cfg.max_frame_bytes <= 0:
        errors.append(f"{where}.max_frame_bytes: expected > 0, got {cfg.max_frame_bytes}")
    return errors


def timer_interval_s(cfg: FeedConfig) -> float:
    """The feed's timer period: fine enough for both the ping and the liveness bound."""
    t = cfg.ping_interval_s
    if cfg.liveness_timeout_s > 0:
        t = min(t, cfg.liveness_timeout_s / 4)
    return max(0.005, min(t, 1.0))


class WsConn(Protocol):
    """The part of a ``websocket.WebSocket`` (websocket-client) the feeds use.

    Declared here because websocket-client leaves some of these methods unannotated, and strict
    mypy does not let typed code call an unannotated function.
    """

    @property
    def sock(self) -> socket.socket | None: ...

    def connect(self, url: str, **options: object) -> None: ...

    def settimeout(self, timeout: float | None) -> None: ...

    def send(self, payload: bytes | str, opcode: int = ...) -> int: ...

    def pong(self, payload: str | bytes = ...) -> None: ...

    def send_close(self, status: int = ..., reason: str | bytes = ...) -> None: ...

    def abort(self) -> None: ...

    def shutdown(self) -> None: ...


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


def redact(obj: Frame) -> Frame:
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
