"""Unit checks of the fixes the fault scenarios led to (no venue process, fake clock).

* A refusal's Retry-After counts from when the refusal arrived, not from the start of the pass
  (a slow 429 would otherwise let the next post out early).
* While shutting down, a transient cancel-all refusal is retried after the venue's wait; in
  normal operation it is not (the OrderManager must not block).
* A late LIVE order event of an order that already ended canceled is old news, not a stray.
"""

from __future__ import annotations

from typing import Any

from messages import CancelAll, OrderEventType
from messages.errors import RateLimited
from tests.fakes import FakeClobClient
from tests.test_order_manager import TIMEOUT, Env, q
from tests.test_order_tracker import order_event, tracker_with


class SlowRefusals(FakeClobClient):
    """Each ``post_orders`` takes ``delay_s`` of the injected clock before answering."""

    def __init__(self, clock: Any, delay_s: float) -> None:
        super().__init__()
        self.clock = clock
        self.delay_s = delay_s
        self.cancel_all_errors: list[BaseException] = []

    def post_orders(self, body: bytes) -> Any:
        self.clock.t += self.delay_s
        return super().post_orders(body)

    def cancel_all(self) -> dict[str, Any]:
        if self.cancel_all_errors:
            with self._lock:
                self.calls.append(("cancel_all", None))
            raise self.cancel_all_errors.pop(0)
        return super().cancel_all()


def _env(delay_s: float = 0.0) -> Env:
    env = Env()
    env.client = SlowRefusals(env.clock, delay_s)
    return env


def test_retry_after_counts_from_the_refusal_not_the_pass_start():
    env = _env(delay_s=0.5)
    try:
        env.start()
        env.client.post_errors = [RateLimited("Too Many Requests", status=429,
                                             retry_after_s=1.0)]
        env.desire([q(4500)])
        assert env.client.count("post_orders") == 1
        env.client.delay_s = 0.0
        env.clock.t += 0.9  # 1.4 s after the pass started, 0.9 s after the refusal
        env.housekeeping()
        assert env.client.count("post_orders") == 1
        env.clock.t += 0.1
        stats = env.housekeeping()
        assert env.client.count("post_orders") == 2 and stats["open_orders"] == 1
    finally:
        env.ref.stop(timeout=TIMEOUT)


def test_shutdown_retries_a_refused_cancel_all_after_the_venues_wait():
    env = _env()
    try:
        env.start()
        env.desire([q(4500)])
        env.client.cancel_all_errors = [
            RateLimited("Too Many Requests", status=429, retry_after_s=0.01)]
        result = env.proxy.shutdown().get(timeout=TIMEOUT)
        assert result["open_orders_after_shutdown"] == 0
        assert env.client.count("cancel_all") == 2
    finally:
        env.ref.stop(timeout=TIMEOUT)


def test_cancel_all_outside_shutdown_is_not_retried_in_place():
    env = _env()
    try:
        env.start()
        env.client.cancel_all_errors = [
            RateLimited("Too Many Requests", status=429, retry_after_s=0.01)]
        env.tell(CancelAll(reason="test", halt=False))
        assert env.client.count("cancel_all") == 1
    finally:
        env.ref.stop(timeout=TIMEOUT)


def test_late_live_event_of_a_canceled_order_is_not_a_stray():
    t = tracker_with("live")
    t.cancel_reply([order_event().order_id], {}, 1)
    tr, stray = t.on_order_event(order_event(type=OrderEventType.PLACEMENT, status="LIVE"), 2)
    assert tr is None and not stray
    assert t.unknown_orders == 0
