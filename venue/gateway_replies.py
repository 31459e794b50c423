"""The venue's replies to a batch post and a cancel, decoded into typed outcomes (the gateway's
``post``, ``finish_cancel`` and ``cancel_all`` return these). Pure: no threads, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from messages import OrderHash, RejectReason
from venue.refusals import Refusal
from venue.rest_errors import classify_reject

# The reply to ``POST /orders`` (protocol §5.3): the venue answers a batch with a list, in the
# order of the batch, of ``{"success", "orderID", "status", "errorMsg", "retry_after_seconds"}``.
# An entry can be missing, not an object, or name another order than the one we signed; each
# of these is an *unknown* outcome (the order may rest at the venue: never re-sent, looked up).

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


@dataclass(frozen=True, slots=True, kw_only=True)
class PostReply:
    """The venue's answer to one ``POST /orders``: one outcome per order, or the whole
    request's ``refusal``. ``sent_ns``/``recv_ns``: wall clock at the first byte written and
    after the reply was read (0 when unknown)."""

    outcomes: tuple[PostOutcome, ...] = ()
    refusal: Refusal | None = None
    sent_ns: int = 0
    recv_ns: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelReply:
    """``DELETE /orders`` or ``/cancel-all``: ids canceled, and those not (id → why)."""

    canceled: tuple[OrderHash, ...] = ()
    not_canceled: Mapping[OrderHash, str] = field(default_factory=dict)


def cancel_reply(doc: Any) -> CancelReply:
    """The venue's ``{"canceled": [...], "not_canceled": {id: why}}`` (§5.3); ids lower-cased,
    anything else ignored."""
    doc = doc if isinstance(doc, dict) else {}
    canceled = doc.get("canceled")
    not_canceled = doc.get("not_canceled")
    return CancelReply(
        canceled=tuple(OrderHash(str(i).lower()) for i in canceled)
        if isinstance(canceled, list) else (),
        not_canceled={OrderHash(str(k).lower()): str(v) for k, v in not_canceled.items()}
        if isinstance(not_canceled, dict) else {})
