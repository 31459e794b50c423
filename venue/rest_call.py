"""One CLOB request's plumbing: the ``PreparedRequest``, and what its reply or failure means.

``venue.rest.ClobClient`` builds every request here and sends it with ``Session.send`` (or,
for a pipelined cancel, ``KeepAliveAdapter.begin``/``finish``). A request is assembled field
by field instead of through ``Session.prepare_request``: the client's Session has no default
headers, cookies, auth or hooks to merge, and the L2 HMAC headers change on every call (they
sign the timestamp and the exact body), so nothing beyond the base URL and the base header set
can be reused between calls.

Failure without a reply: the adapter's exception carries a ``TransportError`` as its cause,
whose ``sent`` flag splits "not sent" (a plain ``VenueError``: the venue cannot have seen it)
from "sent, no reply" (``OutcomeUnknown``: it may have acted on it).

Pure apart from the objects it is handed; the caller's thread owns them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import requests
from requests.structures import CaseInsensitiveDict

from messages import RejectReason
from messages.errors import NotSent, OutcomeUnknown, VenueError
from venue.keepalive import KeepAliveAdapter, Pending, TransportError

__all__ = ["Call", "RateLimitInfo", "no_reply", "prepared", "rate_limit_of"]


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """The ``Poly-RateLimit-*`` headers of the latest reply that had any (§5.6)."""

    remaining: int | None
    reset_s: int | None
    tier: str
    warning: bool
    ts_recv_ns: int


@dataclass(frozen=True, slots=True)
class Call:
    """A request written and not yet answered (``ClobClient.begin_cancel_orders``); hand it
    to ``finish_cancel_orders`` exactly once."""

    adapter: KeepAliveAdapter
    pending: Pending
    method: str
    route: str


def prepared(method: str, url: str, headers: Mapping[str, str],
             body: bytes | None) -> requests.PreparedRequest:
    """A ready-to-send request; ``body`` goes out as these exact bytes (never re-encoded)."""
    p = requests.PreparedRequest()
    p.method = method
    p.url = url
    p.headers = CaseInsensitiveDict(headers)
    p.body = body
    return p


def no_reply(method: str, route: str, exc: requests.RequestException) -> VenueError:
    """The error for a request that got no reply (see the module docstring)."""
    cause = exc.__cause__
    if not isinstance(cause, TransportError):
        # Raised before the adapter touched the socket (e.g. an origin nobody mounted).
        return NotSent(f"{method} {route}: not sent: {type(exc).__name__}",
                       code=RejectReason.OTHER.value)
    reason = RejectReason.TIMEOUT if cause.timeout else RejectReason.OTHER
    if cause.sent:
        return OutcomeUnknown(f"{method} {route}: {cause}; the venue may have acted on it",
                              code=reason.value)
    return NotSent(f"{method} {route}: not sent: {cause}", code=reason.value)


def _int_or_none(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(float(text))
    except ValueError:
        return None


def rate_limit_of(headers: Mapping[str, str], recv_ns: int) -> RateLimitInfo | None:
    """The reply's ``Poly-RateLimit-*`` headers, or None if it has none of them."""
    remaining = headers.get("Poly-RateLimit-Remaining")
    reset = headers.get("Poly-RateLimit-Reset")
    tier = headers.get("Poly-RateLimit-Tier")
    warning = headers.get("Poly-RateLimit-Warning")
    if remaining is None and reset is None and tier is None and warning is None:
        return None
    return RateLimitInfo(remaining=_int_or_none(remaining), reset_s=_int_or_none(reset),
                         tier=tier or "", warning=(warning or "").strip().lower() == "true",
                         ts_recv_ns=recv_ns)
