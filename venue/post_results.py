"""The reply to ``POST /orders`` (protocol §5.3) as one typed outcome per order we sent.

The venue answers a batch with a list, in the order of the batch, of
``{"success", "orderID", "status", "errorMsg", "retry_after_seconds"}``. An entry can be
missing, not an object, or name another order than the one we signed; each of these is an
*unknown* outcome (the order may rest at the venue: never re-sent, looked up later). Pure
code, no threads: the OrderManager's thread calls it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from messages import OrderHash, RejectReason
from venue.rest_errors import classify_reject


class PostVerdict(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class PostOutcome:
    """What the venue said of one posted order.

    ``status`` is the venue's order status when accepted (``live``, ``matched``, ``delayed``);
    ``reason``/``message``/``retry_after_s`` describe a rejection; ``problem`` says why an
    outcome is unknown (empty otherwise).
    """

    order_id: OrderHash
    verdict: PostVerdict
    status: str = ""
    reason: RejectReason | None = None
    message: str = ""
    retry_after_s: float | None = None
    problem: str = ""


def decode_post_results(reply: Any, sent: Sequence[OrderHash]) -> list[PostOutcome]:
    """One outcome per order of ``sent`` (our hashes, in batch order), from the venue's reply."""
    entries = reply if isinstance(reply, list) else []
    out: list[PostOutcome] = []
    for i, h in enumerate(sent):
        r = entries[i] if i < len(entries) else None
        if not isinstance(r, dict):
            why = "no entry for it" if r is None else "entry is not an object"
            out.append(PostOutcome(order_id=h, verdict=PostVerdict.UNKNOWN, problem=why))
            continue
        venue_id = str(r.get("orderID") or "").lower()
        if r.get("success"):
            if venue_id in ("", h):
                out.append(PostOutcome(order_id=h, verdict=PostVerdict.ACCEPTED,
                                       status=str(r.get("status") or "live")))
            else:
                out.append(PostOutcome(order_id=h, verdict=PostVerdict.UNKNOWN,
                                       problem=f"venue id {venue_id} is not our hash"))
            continue
        msg = str(r.get("errorMsg") or r.get("error") or "")
        retry = r.get("retry_after_seconds")
        out.append(PostOutcome(
            order_id=h, verdict=PostVerdict.REJECTED, reason=classify_reject(200, msg),
            message=msg,
            retry_after_s=float(retry) if isinstance(retry, (int, float))
            and not isinstance(retry, bool) else None))
    return out
