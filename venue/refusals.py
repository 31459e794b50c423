"""A failed REST request as one typed ``Refusal``: why, whether it may have acted, what to
back off (protocol §5.5, §7.5).

The exception types of ``messages.errors`` carry the distinctions; this module is the one
place that maps them to consequences, so no caller switches on an HTTP status. Pure code, no
threads, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from messages import RejectReason
from messages.errors import (
    BadReply,
    NotSent,
    OutcomeUnknown,
    PostOnlyMode,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    TooEarly,
    VenueError,
)
from venue.rest_errors import classify_reject

POST = "post"
CANCEL = "cancel"
"""The two operation classes the venue rate-limits and halts separately."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    """A whole request that failed.

    ``no_reply``: it may have reached the venue and we have no answer (a timeout, a reset
    after sending, an unreadable reply): what it asked for may have happened. ``maybe_acted``
    adds a 5xx other than 503: the venue failed while handling it. ``blocks``: the operation
    classes (``POST``, ``CANCEL``) to back off for ``retry_after_s`` (else a doubling default).
    ``transient``: trying again later may succeed.
    """

    reason: RejectReason
    message: str
    retry_after_s: float | None = None
    blocks: tuple[str, ...] = ()
    no_reply: bool = False
    maybe_acted: bool = False
    transient: bool = False
    status: int = 0


def refusal(op: str, exc: VenueError) -> Refusal:
    """The ``Refusal`` for ``exc``, raised by a request of operation class ``op``."""
    reason = classify_reject(exc.status, exc.message)
    blocks: tuple[str, ...] = ()
    no_reply = maybe_acted = False
    transient = True
    if isinstance(exc, OutcomeUnknown | BadReply):
        reason, no_reply, maybe_acted = RejectReason.TIMEOUT, True, True
    elif isinstance(exc, NotSent):
        # Never reached the venue: nothing happened; back off that operation only.
        reason, blocks = RejectReason.SERVER, (op,)
    elif isinstance(exc, TooEarly):
        reason, blocks = RejectReason.TOO_EARLY, (POST, CANCEL)
    elif isinstance(exc, RateLimited):
        reason, blocks = RejectReason.RATE_LIMITED, (op,)
    elif isinstance(exc, PostOnlyMode):
        reason, blocks = RejectReason.POST_ONLY_MODE, (POST,)
    elif isinstance(exc, ServiceUnavailable):
        text = exc.message.lower()
        # Cancel-only mode still takes cancels; trading disabled takes nothing.
        cancel_only = "cancel-only" in text or "cancel only" in text
        blocks = (POST,) if cancel_only else (POST, CANCEL)
    elif isinstance(exc, ServerError):
        reason, maybe_acted = RejectReason.SERVER, True
    else:
        transient = False
    return Refusal(reason=reason, message=exc.message, retry_after_s=exc.retry_after_s,
                   blocks=blocks, no_reply=no_reply, maybe_acted=maybe_acted,
                   transient=transient, status=exc.status)


def entry_blocks(reason: RejectReason) -> bool:
    """Whether a per-order rejection inside a batch reply backs off posting (the venue said
    wait: rate limit, restart, post-only or disabled)."""
    return reason in (RejectReason.RATE_LIMITED, RejectReason.TOO_EARLY,
                      RejectReason.POST_ONLY_MODE, RejectReason.TRADING_DISABLED)
