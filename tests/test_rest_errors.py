"""classify_reject and the reply → exception mapping, table-driven (protocol §5.5)."""

from __future__ import annotations

import pytest

from messages import RejectReason as R
from messages.errors import OrderRefused, VenueError
from venue.rest_errors import (
    InvalidHeartbeat,
    PostOnlyMode,
    RateLimited,
    ServiceUnavailable,
    TooEarly,
    Unauthorized,
    classify_reject,
    error_from_response,
    parse_retry_after,
)

CLASSIFY = [
    (400, "invalid post-only order: order crosses book", R.POST_ONLY_CROSS),
    (400, "order 0xabc crosses the book", R.POST_ONLY_CROSS),
    (400, "order 0xabc is invalid. Price (0.555) breaks minimum tick size rule: 0.01", R.TICK),
    (400, "order 0xabc is invalid. Size (1) lower than the minimum: 5", R.MIN_SIZE),
    (400, "not enough balance / allowance", R.BALANCE),
    (400, "order 0xabc is invalid. Duplicated.", R.DUPLICATE),
    (425, "", R.TOO_EARLY),
    (425, "Too Early", R.TOO_EARLY),
    (429, "Too Many Requests", R.RATE_LIMITED),
    (503, "post-only mode: only post-only orders and cancels are allowed", R.POST_ONLY_MODE),
    (200, "post_only_mode", R.POST_ONLY_MODE),  # inside a batch reply
    (503, "Trading is currently disabled. Check https://status.polymarket.com", R.TRADING_DISABLED),
    (503, "exchange is in cancel-only mode", R.TRADING_DISABLED),
    (400, "the market is not yet ready to process new orders", R.TRADING_DISABLED),
    (400, "'0xAbC' address in closed only mode", R.TRADING_DISABLED),
    (400, "'0xAbC' address banned", R.TRADING_DISABLED),
    (401, "Unauthorized/Invalid api key", R.AUTH),
    (401, "Invalid L1 Request headers", R.AUTH),
    (400, "the order owner has to be the owner of the API KEY", R.AUTH),
    (400, "the order signer address has to be the address of the API KEY", R.AUTH),
    (403, "<html>Attention Required! | Cloudflare</html>", R.AUTH),
    (400, "Invalid order payload", R.INVALID),
    (400, "invalid expiration", R.INVALID),
    (400, "invalid post-only order: only GTC and GTD order types are allowed", R.INVALID),
    (400, "Too many orders in payload: 16, max allowed: 15", R.INVALID),
    (400, "invalid amounts, the market buy orders maker amount supports a max accuracy of 2 "
          "decimals, taker amount a max of 4 decimals", R.INVALID),
    (500, "there are no matching orders", R.SERVER),
    (500, "the price of the taker's order has a discrepancy greater than allowed with the worst "
          "maker order", R.SERVER),
    (502, "Bad Gateway", R.SERVER),
    (503, "Service Unavailable", R.SERVER),
    (0, "POST /order: timed out", R.TIMEOUT),
    (400, "order match delayed due to market conditions", R.OTHER),
    (400, "context canceled", R.OTHER),
]


@pytest.mark.parametrize(("status", "message", "reason"), CLASSIFY)
def test_classify_reject(status: int, message: str, reason: R) -> None:
    assert classify_reject(status, message) is reason


@pytest.mark.parametrize(
    ("status", "body", "retry_header", "order", "exc_type", "reason", "retry"), [
        (400, b'{"error":"invalid post-only order: order crosses book"}', None, True,
         OrderRefused, R.POST_ONLY_CROSS, None),
        (400, b'{"error":"Could not derive api key!"}', None, False, VenueError, R.OTHER, None),
        (401, b'{"error":"Unauthorized/Invalid api key"}', None, False, Unauthorized, R.AUTH,
         None),
        (425, b"", "3", True, TooEarly, R.TOO_EARLY, 3.0),
        (429, b"Too Many Requests", "Thu, 01 Jan 2026 00:00:05 GMT", True, RateLimited,
         R.RATE_LIMITED, 5.0),
        (503, b'{"error":"post-only mode: only post-only orders and cancels are allowed",'
              b'"code":"post_only_mode","retry_after_seconds":79}', None, True, PostOnlyMode,
         R.POST_ONLY_MODE, 79.0),
        (503, b'{"error":"restricted","code":"post_only_mode","retry_after_seconds":79}', "10",
         True, PostOnlyMode, R.POST_ONLY_MODE, 10.0),
        (503, b'{"error":"Trading is currently disabled"}', None, True, ServiceUnavailable,
         R.TRADING_DISABLED, None),
        (404, b'{"error":"No orderbook exists for the requested token id"}', None, False,
         VenueError, R.OTHER, None),
    ])
def test_error_from_response(status: int, body: bytes, retry_header: str | None, order: bool,
                             exc_type: type[VenueError], reason: R,
                             retry: float | None) -> None:
    now_s = 1_767_225_600  # 2026-01-01T00:00:00Z
    exc = error_from_response(status, body, retry_header, now_s=now_s, order_route=order)
    assert type(exc) is exc_type
    assert (exc.status, exc.code, exc.retry_after_s) == (status, reason.value, retry)
    assert exc.message


def test_invalid_heartbeat_carries_the_expected_id() -> None:
    exc = error_from_response(400, b'{"error_msg":"Invalid Heartbeat ID","heartbeat_id":"hb-7"}',
                              None, now_s=0)
    assert isinstance(exc, InvalidHeartbeat)
    assert exc.expected_id == "hb-7"


def test_html_error_body_is_collapsed_and_short() -> None:
    body = b"<html>\n  <body>\n" + b"x" * 2000 + b"</body></html>"
    exc = error_from_response(502, body, None, now_s=0)
    assert "\n" not in exc.message and len(exc.message) <= 300


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("", None), ("7", 7.0), ("0.5", 0.5), ("-3", 0.0), ("soon", None),
    ("Thu, 01 Jan 2026 00:01:00 GMT", 60.0), ("Wed, 31 Dec 2025 23:00:00 GMT", 0.0),
])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, 1_767_225_600) == expected
