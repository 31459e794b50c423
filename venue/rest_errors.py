"""CLOB REST errors: which exception of ``messages.errors`` a reply is, and the
classification of the venue's messages.

Every error raised by ``venue.rest.ClobClient`` is a ``messages.errors.VenueError`` (or a
subclass) carrying the venue's HTTP ``status``, its ``message`` and ``retry_after_s`` (from the
``Retry-After`` header, else a 503 body's ``retry_after_seconds``). ``code`` is the
``messages.RejectReason`` value of the error, so callers can branch without parsing text.

* 400 on an order route → ``OrderRefused``; 401 → ``Unauthorized``;
  425 → ``TooEarly`` (engine restarting); 429 → ``RateLimited``; 503 → ``PostOnlyMode`` (only
  post-only orders and cancels accepted) or ``ServiceUnavailable`` (trading disabled,
  cancel-only); other 5xx → ``ServerError``; 400 "Invalid Heartbeat ID" →
  ``InvalidHeartbeat`` with the expected id. A 2xx reply we cannot read → ``BadReply``.
* A request that may have reached the venue but got no reply → ``OutcomeUnknown``; one that
  never left → ``NotSent``.

Pure: no I/O, no clock (the caller passes ``now_s`` for an HTTP-date ``Retry-After``).
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Callable

import orjson

from messages import RejectReason
from messages.errors import (
    InvalidHeartbeat,
    NotSent,
    OrderRefused,
    OutcomeUnknown,
    PostOnlyMode,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    TooEarly,
    Unauthorized,
    VenueError,
)

__all__ = [
    "InvalidHeartbeat",
    "NotSent",
    "OrderRefused",
    "OutcomeUnknown",
    "PostOnlyMode",
    "RateLimited",
    "ServerError",
    "ServiceUnavailable",
    "TooEarly",
    "Unauthorized",
    "VenueError",
    "classify_reject",
    "error_from_response",
    "parse_retry_after",
]


# (substring of the lower-cased message, reason); first match wins, so the specific strings
# come before the generic ones ("invalid post-only order: order crosses book" before
# "invalid"). Strings from protocol §5.5.
_MESSAGE_TABLE: tuple[tuple[str, RejectReason], ...] = (
    ("post_only_mode", RejectReason.POST_ONLY_MODE),
    ("post-only mode", RejectReason.POST_ONLY_MODE),
    ("invalid post-only order: order crosses book", RejectReason.POST_ONLY_CROSS),
    ("crosses the book", RejectReason.POST_ONLY_CROSS),
    ("breaks minimum tick size rule", RejectReason.TICK),
    ("lower than the minimum", RejectReason.MIN_SIZE),
    ("not enough balance", RejectReason.BALANCE),
    ("allowance", RejectReason.BALANCE),
    ("duplicated", RejectReason.DUPLICATE),
    ("too many requests", RejectReason.RATE_LIMITED),
    ("rate limit", RejectReason.RATE_LIMITED),
    ("trading is currently disabled", RejectReason.TRADING_DISABLED),
    ("cancel-only", RejectReason.TRADING_DISABLED),
    ("cancel only", RejectReason.TRADING_DISABLED),
    ("closed only mode", RejectReason.TRADING_DISABLED),
    ("address banned", RejectReason.TRADING_DISABLED),
    ("not yet ready to process new orders", RejectReason.TRADING_DISABLED),
    ("unauthorized", RejectReason.AUTH),
    ("invalid api key", RejectReason.AUTH),
    ("invalid l1 request headers", RejectReason.AUTH),
    ("has to be the owner of the api key", RejectReason.AUTH),
    ("has to be the address of the api key", RejectReason.AUTH),
    ("timed out", RejectReason.TIMEOUT),
    ("invalid", RejectReason.INVALID),
    ("too many orders in payload", RejectReason.INVALID),
)


def classify_reject(status: int, message: str) -> RejectReason:
    """Why the venue refused a request, from its HTTP status and error text (§5.5).

    Works for whole-request errors (``status`` 400/401/425/429/5xx) and for per-order errors
    inside a 200 batch reply (``status`` 200 and the entry's ``errorMsg``).
    """
    if status == 425:
        return RejectReason.TOO_EARLY
    if status == 429:
        return RejectReason.RATE_LIMITED
    text = message.lower()
    for needle, reason in _MESSAGE_TABLE:
        if needle in text:
            return reason
    if status == 401 or status == 403:
        return RejectReason.AUTH
    if status >= 500:
        return RejectReason.SERVER
    return RejectReason.OTHER


def parse_retry_after(value: str | None, now_s: int) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (relative to ``now_s``)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now_s)


_WS = re.compile(r"\s+")


def _body_fields(data: bytes) -> tuple[str, str, float | None, str | None]:
    """(message, code, retry_after_seconds, heartbeat_id) from an error body (JSON or text)."""
    try:
        obj = orjson.loads(data) if data else None
    except orjson.JSONDecodeError:
        obj = None
    if isinstance(obj, dict):
        msg = next((str(obj[k]) for k in ("error", "error_msg", "errorMsg", "message")
                    if obj.get(k)), "")
        code = str(obj.get("code") or "")
        retry = obj.get("retry_after_seconds")
        retry_s = float(retry) if isinstance(retry, int | float) and \
            not isinstance(retry, bool) else None
        hb = obj.get("heartbeat_id")
        return msg, code, retry_s, hb if isinstance(hb, str) else None
    if isinstance(obj, str):
        return obj, "", None, None
    text = _WS.sub(" ", data[:300].decode("utf-8", "replace")).strip()
    return text, "", None, None


_BY_STATUS: dict[int, Callable[..., VenueError]] = {
    401: Unauthorized,
    425: TooEarly,
    429: RateLimited,
}


def error_from_response(status: int, data: bytes, retry_after_header: str | None, *,
                        now_s: int, order_route: bool = False,
                        reason_phrase: str = "") -> VenueError:
    """The exception for a non-2xx reply. ``order_route`` makes a 400 an ``OrderRefused``."""
    msg, code, retry_body, heartbeat_id = _body_fields(data)
    if not msg:
        msg = code or reason_phrase or f"HTTP {status}"
    if heartbeat_id is not None and "heartbeat" in msg.lower():
        return InvalidHeartbeat(msg, expected_id=heartbeat_id, status=status)
    retry = parse_retry_after(retry_after_header, now_s)
    if retry is None:
        retry = retry_body
    reason = classify_reject(status, f"{msg} {code}")
    cls = _BY_STATUS.get(status)
    if status == 503:
        cls = PostOnlyMode if reason is RejectReason.POST_ONLY_MODE else ServiceUnavailable
    elif cls is None:
        cls = ServerError if status >= 500 else (
            OrderRefused if (order_route and status == 400) else VenueError)
    return cls(msg, status=status, retry_after_s=retry, code=reason.value)
