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


class BadReply(VenueError):
    """The venue answered, but not in a shape we can read: the request may have taken
    effect (an order post with this reply is looked up, never re-sent)."""


class NotSent(VenueError):
    """A request that never reached the venue (no connection, a bad request built locally):
    it certainly did not take effect, and may be tried again."""


class OrderRefused(VenueError):
    """400 on an order route: the venue refused an order (post-only cross, tick, min size,
    balance, ...). The event for it is ``messages.OrderRejected``."""


class Unauthorized(VenueError):
    """401: bad API key, passphrase, HMAC, or L1 headers."""


class TooEarly(VenueError):
    """425 Too Early: the matching engine is restarting. Honour ``retry_after_s``."""


class RateLimited(VenueError):
    """429 Too Many Requests (Cloudflare or the per-signer token bucket)."""


class PostOnlyMode(VenueError):
    """503 post-only mode after an engine restart: only post-only orders and cancels."""


class ServiceUnavailable(VenueError):
    """503 otherwise: trading disabled or cancel-only."""


class ServerError(VenueError):
    """5xx other than 503: the venue failed while handling the request, which may have taken
    effect (an order post with this reply is looked up, never re-sent)."""


class InvalidHeartbeat(VenueError):
    """400 "Invalid Heartbeat ID": resend with ``expected_id`` (the venue's current id)."""

    def __init__(self, message: str, *, expected_id: str, status: int = 400) -> None:
        super().__init__(message, status=status, code="invalid")
        self.expected_id = expected_id


class RelayerRefused(VenueError):
    """400 from Polymarket's relayer: it refused a transaction (bad nonce, signature,
    deadline, a blocked call target, a wallet with an action in flight, ...); it did not take
    effect. ``retryable``: a refusal the relayer lifts by itself (a busy wallet, a stale
    nonce: sign again), as the official SDK retries them (research §10.7)."""

    def __init__(self, message: str, *, status: int = 400, retryable: bool = False) -> None:
        super().__init__(message, status=status, code="relayer")
        self.retryable = retryable


class RiskLimitHit(PolymmError):
    """An order would breach a risk limit."""


class ChainError(VenueError):
    """A Polygon JSON-RPC node answered with an error object. ``rpc_code`` is JSON-RPC's code
    (3 or -32000 for a call or transaction the node refused: reverted, nonce, fees, funds),
    ``message`` the node's text, ``data`` the revert data if any. The request did not take
    effect, except that a transaction the node calls "already known" is in its pool (the
    client turns that one into success)."""

    def __init__(self, message: str, *, rpc_code: int, data: str = "") -> None:
        super().__init__(message, code="chain")
        self.rpc_code = rpc_code
        self.data = data
