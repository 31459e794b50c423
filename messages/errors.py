"""The project's one exception tree.

Exception messages never contain secrets: callers pass venue messages and key *paths*, never
key material.
"""

from __future__ import annotations


class PolymmError(Exception):
    """Base of every error polymm raises on purpose."""


class ConfigError(PolymmError):
    """Bad configuration. ``errors`` lists every problem as ``path: what is wrong``."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


class VenueError(PolymmError):
    """The venue refused a request. Keeps the venue's status and message."""

    def __init__(self, message: str, *, status: int = 0, retry_after_s: float | None = None,
                 code: str = "") -> None:
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s
        self.code = code
        super().__init__(f"{status}: {message}" if status else message)


class OutcomeUnknown(VenueError):
    """A request timed out or its connection broke after sending: it may have taken effect."""


class OrderRejected(VenueError):
    """The venue refused an order (post-only cross, tick, min size, balance, ...)."""


class RiskLimitHit(PolymmError):
    """An order would breach a risk limit."""
