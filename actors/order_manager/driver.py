"""Carries out the order planner's steps at the venue, and times them.

The planner (``trading.planner``) yields ``trading.order_steps``; ``Driver.run`` hands each to
the ``venue.gateway.Gateway`` and sends back its typed outcome with the clock at its arrival.
An exception from the gateway is thrown into the planner, so its ``finally`` blocks (reading a
written cancel's reply) still run before the exception leaves. The trace marks and request
latencies are taken here, where the requests are: the planner stays free of clocks. They go
into the planner's ``Outbox`` like its own reports, handed out after the pass.

Thread ownership: the OrderManager's thread, like the gateway it drives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from messages import DesiredQuote, OrderHash, RejectReason
from messages.errors import VenueError
from runtime import trace
from trading.order_report import Outbox
from trading.order_steps import (
    Cancel,
    CancelEverything,
    FetchTick,
    FinishCancel,
    Post,
    Sign,
    Step,
    Steps,
)
from trading.planner import OrderPlanner
from venue.gateway import Gateway, MarketInfo
from venue.refusals import Refusal

logger = logging.getLogger("actors.order_manager")

MAX_LOOKUPS_PER_PASS = 20


@dataclass(frozen=True, slots=True)
class _Written:
    """A cancel request written and not yet read, and when it started."""

    handle: object
    t0_ns: int


class Driver:
    """Runs planner generators against one gateway."""

    def __init__(self, gateway: Gateway, out: Outbox, clock: Callable[[], float]) -> None:
        self.gateway = gateway
        self._out = out
        self._clock = clock
        self.cause_ns = 0
        """The traced cause of the pass being run (0: none)."""

    def run(self, steps: Steps, *, cause_ns: int = 0) -> Any:
        """Drive ``steps`` to its end; returns its return value. ``cause_ns``: the receive
        time of the frame behind this pass, for the trace and ``orders.tick_to_order_ms``."""
        self.cause_ns = cause_ns
        try:
            step = next(steps)
            if cause_ns and trace.enabled:
                trace.mark(trace.DIFF, cause_ns)
            while True:
                try:
                    outcome = self._carry_out(step)
                except BaseException as exc:
                    step = steps.throw(exc)
                    continue
                step = steps.send((outcome, self._clock()))
        except StopIteration as stop:
            return stop.value
        finally:
            self.cause_ns = 0

    def _carry_out(self, step: Step) -> object:
        gw, cause = self.gateway, self.cause_ns
        if isinstance(step, Post):
            t0 = time.perf_counter_ns()
            reply = gw.post(step.orders)
            self._out.timing_ms("orders.order_submit_latency_ms",
                                (time.perf_counter_ns() - t0) / 1e6, "post")
            if cause and reply.sent_ns:
                self._out.timing_ms("orders.tick_to_order_ms", (reply.sent_ns - cause) / 1e6)
                if trace.enabled:
                    trace.mark(trace.SEND, cause, reply.sent_ns)
                    trace.mark(trace.REPLY, cause, reply.recv_ns)
            return reply
        if isinstance(step, Sign):
            t0 = time.perf_counter_ns()
            signed = [gw.sign(q, market, tick) for q, market, tick in step.orders]
            if cause and trace.enabled:
                trace.mark(trace.SIGN, cause)
            self._out.timing_ms("orders.sign_ms",
                                (time.perf_counter_ns() - t0) / 1e6 / max(1, len(signed)))
            return signed
        if isinstance(step, Cancel):
            t0 = time.perf_counter_ns()
            handle = gw.begin_cancel(step.ids)
            if isinstance(handle, Refusal):
                return handle
            if not step.wait:
                if cause and trace.enabled:
                    trace.mark(trace.CANCEL, cause)
                return _Written(handle, t0)
            return self._finish(_Written(handle, t0), mark=True)
        if isinstance(step, FinishCancel):
            assert isinstance(step.pending, _Written)
            return self._finish(step.pending, mark=False)
        if isinstance(step, CancelEverything):
            return gw.cancel_all()
        if isinstance(step, FetchTick):
            return gw.tick_size(step.token_id)
        raise TypeError(f"unknown order step {step!r}")

    def _finish(self, written: _Written, *, mark: bool) -> object:
        try:
            reply = self.gateway.finish_cancel(written.handle)
        finally:
            self._out.timing_ms("orders.order_submit_latency_ms",
                                (time.perf_counter_ns() - written.t0_ns) / 1e6, "cancel")
        if mark and self.cause_ns and trace.enabled:
            # Sequential: the cancel stage ends with its reply (pipelined: when written).
            trace.mark(trace.CANCEL, self.cause_ns)
        return reply


def presign(gateway: Gateway, candidates: Sequence[tuple[DesiredQuote, MarketInfo, int]],
            busy: Callable[[], bool]) -> int:
    """Sign ``candidates`` ahead of need (``venue.presign``), one at a time, until they are
    all kept or ``busy()`` says work is waiting (a new desired quote, a venue event): one
    signature (~30 µs, most of it in C without the GIL) is the longest that work waits for.
    A gateway that cannot presign (the paper exchange) is left alone. Returns how many were
    signed."""
    ahead: Callable[[DesiredQuote, MarketInfo, int], bool] | None = getattr(
        gateway, "presign", None)
    n = 0
    if ahead is None:
        return n
    for quote, market, tick in candidates:
        if busy():
            break
        n += ahead(quote, market, tick)
    return n


def look_up(planner: OrderPlanner, gateway: Gateway, ids: Sequence[OrderHash],
            now_s: float) -> None:
    """``GET /data/order`` for each of ``ids`` (at most ``MAX_LOOKUPS_PER_PASS``); the
    planner's tracker decides what each answer means. A failed look-up concludes nothing (the
    order is looked up again later)."""
    for oid in ids[:MAX_LOOKUPS_PER_PASS]:
        try:
            found = gateway.look_up(oid)
        except VenueError as exc:
            logger.debug("order manager: lookup of %s failed: %s", oid[:12], exc)
            planner.looked_up(oid, Refusal(reason=RejectReason.OTHER, message=exc.message),
                              now_s)
            continue
        planner.looked_up(oid, found, now_s)
