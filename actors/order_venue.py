"""Venue-facing helpers of the OrderManager: market signing info and ticks, reject
classification, back-off scope, heartbeat errors, and REST order objects → ``RemoteOrder``.

Plain functions, no state; they run on the OrderManager's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from messages import ConditionId, DesiredQuotes, RejectReason, TokenId
from messages.errors import OutcomeUnknown, VenueError
from trading.rate_budget import CANCEL, POST, Backoff
from venue.rest_errors import classify_reject

logger = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True, kw_only=True)
class MarketInfo:
    """What signing an order on one token needs (from ``MarketsChanged``)."""

    condition_id: ConditionId
    exchange: str
    domain_version: str
    min_size_micro: int


def desired_ticks(desired: DesiredQuotes,
                  markets: Mapping[TokenId, MarketInfo]) -> dict[TokenId, int]:
    """Each token's tick as the Quoter priced on it (the State's live tick, carried in the
    decisions), for the diff's tolerance and the signing checks."""
    by_market = {d.condition_id: d.tick_pips for d in desired.decisions if d.tick_pips}
    return {t: by_market[i.condition_id] for t, i in markets.items()
            if i.condition_id in by_market}


def classify(status: int, message: str) -> RejectReason:
    """The reject reason for a venue refusal (``venue.rest_errors.classify_reject``)."""
    return classify_reject(status, message)


def blocked_ops(op: str, status: int, reason: RejectReason, message: str) -> tuple[str, ...]:
    """Which operations to back off after a refused request (protocol §5.5, §7.5).

    425 (engine restarting): everything. 429: the operation that hit it. 503: posts only in
    post-only or cancel-only mode (cancels are allowed there), everything when trading is
    disabled. Other refusals need no back-off.
    """
    if status == 425 or reason is RejectReason.TOO_EARLY:
        return (POST, CANCEL)
    if status == 429 or reason is RejectReason.RATE_LIMITED:
        return (op,)
    if status == 503 or reason in (RejectReason.POST_ONLY_MODE, RejectReason.TRADING_DISABLED):
        text = message.lower()
        if reason is RejectReason.POST_ONLY_MODE or "cancel-only" in text or "cancel only" in text:
            return (POST,)
        return (POST, CANCEL)
    return ()


def refuse(backoff: Backoff, op: str, exc: VenueError, now_s: float) -> RejectReason:
    """A whole request was refused: classify it and back off where the venue says so.

    ``now_s`` is when the refusal arrived, not the start of the pass: a slow reply must not eat
    into the venue's ``Retry-After``. A request that never reached the venue (status 0, a
    connect failure) is transient and backs off that operation.
    """
    ops: tuple[str, ...]
    if exc.status == 0:
        reason, ops = RejectReason.SERVER, (op,)
    else:
        reason = classify(exc.status, exc.message)
        ops = blocked_ops(op, exc.status, reason, exc.message)
    if ops:
        wait = backoff.block(ops, now_s, exc.retry_after_s)
        logger.warning("order manager: %s refused (%s, %s); backing off %s for %.1f s",
                       op, exc.status, reason.value, "+".join(ops), wait)
    else:
        logger.warning("order manager: %s refused: %s", op, exc)
    return reason


def transient_refusal(exc: VenueError) -> bool:
    """A refusal that may succeed if tried again: no reply, 425, 429 or 5xx."""
    return isinstance(exc, OutcomeUnknown) or exc.status in (0, 425, 429) or exc.status >= 500


def expected_heartbeat_id(exc: BaseException) -> str | None:
    """The heartbeat id the venue expects, carried by an "Invalid Heartbeat ID" error."""
    for attr in ("expected_id", "heartbeat_id", "expected"):
        value = getattr(exc, attr, None)
        if isinstance(value, str):
            return value
    return None
