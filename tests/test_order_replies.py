"""The venue's order replies as typed outcomes: the POST /orders batch reply, REST order objects."""

from __future__ import annotations

from typing import Any

import pytest

from messages import OrderHash, RejectReason
from venue.gateway import PostOutcome, PostVerdict, decode_post_results

H1, H2 = OrderHash("0x" + "aa" * 32), OrderHash("0x" + "bb" * 32)
A, R, U = PostVerdict.ACCEPTED, PostVerdict.REJECTED, PostVerdict.UNKNOWN


def ok(oid: str = H1, status: str = "live") -> dict[str, Any]:
    return {"success": True, "orderID": oid, "status": status, "errorMsg": ""}


def refused(msg: str, **extra: Any) -> dict[str, Any]:
    return {"success": False, "orderID": "", "status": "", "errorMsg": msg, **extra}


@pytest.mark.parametrize(("reply", "verdict", "fields"), [
    ([ok()], A, {"status": "live"}),
    ([ok(H1.upper().replace("0X", "0x"), "matched")], A, {"status": "matched"}),
    ([{"success": True, "orderID": "", "status": ""}], A, {"status": "live"}),
    ([ok(H2)], U, {"problem": f"venue id {H2} is not our hash"}),
    ([], U, {"problem": "no entry for it"}),
    (None, U, {"problem": "no entry for it"}),
    (["not an object"], U, {"problem": "entry is not an object"}),
    ([refused("invalid post-only order: order crosses book")], R,
     {"reason": RejectReason.POST_ONLY_CROSS}),
    ([refused("order 0x is invalid. Duplicated.")], R, {"reason": RejectReason.DUPLICATE}),
    ([refused("too many requests", retry_after_seconds=2)], R,
     {"reason": RejectReason.RATE_LIMITED, "retry_after_s": 2.0}),
    ([refused("too many requests", retry_after_seconds="2")], R, {"retry_after_s": None}),
    ([refused("too many requests", retry_after_seconds=True)], R, {"retry_after_s": None}),
])
def test_one_outcome_per_order(reply: Any, verdict: PostVerdict,
                               fields: dict[str, Any]) -> None:
    (out,) = decode_post_results(reply, [H1])
    assert out.order_id == H1 and out.verdict is verdict
    for key, value in fields.items():
        assert getattr(out, key) == value, key


def test_outcomes_follow_the_batch_order_and_a_short_reply_leaves_the_rest_unknown() -> None:
    outs = decode_post_results([ok(H1)], [H1, H2])
    assert [(o.order_id, o.verdict) for o in outs] == [(H1, A), (H2, U)]
    assert outs[1] == PostOutcome(order_id=H2, verdict=U, problem="no entry for it")


def test_remote_order_objects_with_an_empty_size_matched_mean_zero() -> None:
    from venue.remote_orders import remote_orders

    doc = {"id": "0xAB", "market": "0xcd", "asset_id": "1", "side": "buy", "price": "0.45",
           "original_size": "10", "size_matched": "", "status": "live"}
    (o,) = remote_orders([doc, {"no": "id"}])
    assert (o.order_id, o.side.value, o.price_pips, o.original_size_micro,
            o.size_matched_micro, o.status) == ("0xab", "BUY", 4500, 10_000_000, 0, "LIVE")
