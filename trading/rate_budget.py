"""Per-signer rate budgets and venue back-off, with time passed in (protocol §5.5, §5.6).

The venue keeps two token buckets per signer: **order** (a ``POST /orders`` batch costs one
token per order) and **cancel** (``DELETE /orders`` one per id; ``cancel-all`` 1 + the number
canceled, debited after the fact, so the bucket may go negative). A batch is accepted only if
the bucket covers all of it, so ``TokenBucket.try_take`` is all-or-nothing: sending a batch the
venue would refuse wastes a round trip and counts as an error.

``Backoff`` remembers until when an operation (``post`` or ``cancel``) must not be tried after a
425 (engine restarting), 429 (rate limited) or 503 (disabled / cancel-only / post-only mode),
honouring ``Retry-After`` when the venue gives one and doubling from 1 s (cap 30 s) otherwise.

Pure: no threads, no clock. Times are seconds on any monotonic scale the caller chooses.
"""

from __future__ import annotations

from collections.abc import Iterable

from venue.refusals import CANCEL, POST

__all__ = ["BACKOFF_MAX_S", "BACKOFF_MIN_S", "CANCEL", "POST", "Backoff", "TokenBucket"]
BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 30.0


class TokenBucket:
    """A token bucket: ``rate_per_s`` refill up to ``burst`` tokens; starts full.

    Not thread-safe: owned by the OrderManager's thread.
    """

    __slots__ = ("_last_s", "_tokens", "burst", "rate_per_s")

    def __init__(self, rate_per_s: float, burst: int, now_s: float) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError(f"token bucket needs rate > 0 and burst >= 1, got {rate_per_s}, "
                             f"{burst}")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._tokens = float(burst)
        self._last_s = now_s

    def _refill(self, now_s: float) -> None:
        if now_s > self._last_s:
            self._tokens = min(float(self.burst),
                               self._tokens + (now_s - self._last_s) * self.rate_per_s)
            self._last_s = now_s

    def remaining(self, now_s: float) -> float:
        """Tokens available now (negative after a large debit)."""
        self._refill(now_s)
        return self._tokens

    def try_take(self, n: int, now_s: float) -> bool:
        """Take ``n`` tokens if all of them are available; otherwise take none.

        A cost above ``burst`` can never be covered and always returns False.
        """
        if n <= 0:
            return True
        self._refill(now_s)
        if n > self._tokens:
            return False
        self._tokens -= n
        return True

    def debit(self, n: int, now_s: float) -> None:
        """Charge ``n`` tokens unconditionally (a cost known only after the call)."""
        self._refill(now_s)
        self._tokens -= n

    def wait_s(self, n: int, now_s: float) -> float:
        """Seconds until ``n`` tokens are available (``inf`` if ``n`` exceeds the burst)."""
        if n > self.burst:
            return float("inf")
        have = self.remaining(now_s)
        return 0.0 if have >= n else (n - have) / self.rate_per_s


class Backoff:
    """Until when each operation is blocked after a refusal from the venue.

    ``block`` with the venue's ``Retry-After`` (seconds) uses it as is; without one the wait
    doubles per consecutive refusal of that operation from ``BACKOFF_MIN_S`` up to
    ``BACKOFF_MAX_S``; ``ok`` resets the doubling. Not thread-safe (one owner thread).
    """

    __slots__ = ("_steps", "_until")

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._steps: dict[str, int] = {}

    def block(self, ops: Iterable[str], now_s: float, retry_after_s: float | None) -> float:
        """Block ``ops`` from ``now_s``; returns the wait applied (the longest of them)."""
        longest = 0.0
        for op in ops:
            step = self._steps.get(op, 0)
            if retry_after_s is not None and retry_after_s >= 0:
                wait = min(float(retry_after_s), 10 * BACKOFF_MAX_S)
            else:
                wait = min(BACKOFF_MIN_S * 2 ** step, BACKOFF_MAX_S)
            self._steps[op] = step + 1
            self._until[op] = max(self._until.get(op, 0.0), now_s + wait)
            longest = max(longest, wait)
        return longest

    def ok(self, op: str) -> None:
        """The venue accepted ``op``: the next refusal starts the doubling afresh."""
        self._steps.pop(op, None)

    def allowed(self, op: str, now_s: float) -> bool:
        """Whether ``op`` may be tried at ``now_s``."""
        return now_s >= self._until.get(op, 0.0)

    def until(self, op: str) -> float:
        """When ``op`` is allowed again (0 if never blocked)."""
        return self._until.get(op, 0.0)
