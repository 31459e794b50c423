"""Token buckets and back-off, with time passed in."""

from __future__ import annotations

import pytest

from trading.rate_budget import BACKOFF_MAX_S, CANCEL, POST, Backoff, TokenBucket


def test_bucket_starts_full_and_is_all_or_nothing():
    b = TokenBucket(40, 60, now_s=0.0)
    assert b.remaining(0.0) == 60
    assert b.try_take(45, 0.0)
    assert not b.try_take(16, 0.0)  # 15 left: a 16-order batch is refused whole
    assert b.remaining(0.0) == 15
    assert b.try_take(15, 0.0)
    assert not b.try_take(1, 0.0)


@pytest.mark.parametrize(("elapsed", "expected"), [(0.0, 0.0), (0.5, 20.0), (1.0, 40.0),
                                                   (10.0, 60.0)])
def test_bucket_refills_at_rate_up_to_burst(elapsed, expected):
    b = TokenBucket(40, 60, now_s=100.0)
    assert b.try_take(60, 100.0)
    assert b.remaining(100.0 + elapsed) == pytest.approx(expected)


def test_batch_above_burst_never_fits():
    b = TokenBucket(40, 10, now_s=0.0)
    assert not b.try_take(11, 1000.0)
    assert b.wait_s(11, 0.0) == float("inf")


def test_debit_can_go_negative_and_wait_reports_time():
    b = TokenBucket(80, 120, now_s=0.0)
    b.debit(200, 0.0)  # a cancel-all that canceled many orders
    assert b.remaining(0.0) == -80
    assert b.wait_s(40, 0.0) == pytest.approx(1.5)
    assert b.try_take(40, 1.5)


def test_bad_bucket_parameters_raise():
    with pytest.raises(ValueError):
        TokenBucket(0, 10, now_s=0.0)


def test_backoff_honours_retry_after():
    bo = Backoff()
    assert bo.allowed(POST, 0.0)
    assert bo.block((POST,), 10.0, 79.0) == 79.0
    assert not bo.allowed(POST, 88.9)
    assert bo.allowed(POST, 89.0)
    assert bo.allowed(CANCEL, 10.0)  # only the blocked operation waits


def test_backoff_doubles_without_retry_after_and_resets_on_ok():
    bo = Backoff()
    waits = [bo.block((POST, CANCEL), 0.0, None) for _ in range(7)]
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, BACKOFF_MAX_S, BACKOFF_MAX_S]
    bo.ok(POST)
    assert bo.block((POST,), 100.0, None) == 1.0
    assert bo.until(POST) == 101.0
