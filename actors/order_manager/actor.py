"""The OrderManager actor: desired quotes → cancels and posts at the venue (design §3, §5).

A thin actor over three collaborators: the ``OrderPlanner`` (``trading.planner``: every rule),
the ``Gateway`` (``venue.gateway``: the venue) and the ``Driver`` that carries the planner's
steps to the gateway. The actor owns the inputs, the timers and the lifecycle. A pass runs
when new desired quotes arrive, after user-feed events that change our orders, after markets
change and on a housekeeping timer, because the Quoter publishes only when its target changes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from actors.order_manager.driver import Driver, look_up, presign
from actors.order_manager.shutdown import Shutdown
from actors.order_output import OrderOutput
from actors.timers import start_timer
from messages import (
    CancelAll,
    DesiredQuotes,
    FeedStatus,
    KillSwitch,
    MarketsChanged,
    OrderEvent,
    PositionsMerged,
    PositionsRedeemed,
    PriceUpdate,
    SlotReady,
    TimerFired,
    TradeEvent,
)
from messages.errors import VenueError
from runtime import trace
from runtime.actor import Actor
from runtime.sinks import EventSink, MetricSink, Tell
from runtime.slot import LatestSlot
from runtime.timer import PeriodicTimer
from trading.order_report import Outbox
from trading.order_steps import Steps
from trading.order_tracker import OrderTracker
from trading.paper_exchange import PaperEvent
from trading.paper_gateway import PAPER_MESSAGES, MarketMessage, PaperGateway
from trading.params import OrderParams, RiskLimits
from trading.planner import OrderPlanner
from venue.gateway import ClobApi, ClobGateway, Gateway, Signer, market_infos

logger = logging.getLogger("actors.order_manager")

HOUSEKEEPING_S = 0.5


class OrderManager(Actor):
    """Owns our orders at the venue: the planner (tracker, rate budgets, back-off, kill
    switch), the gateway (signer, REST client, dead-man heartbeat) and its timers.

    Thread ownership: everything on this object belongs to the actor's thread (the signer and
    the REST session are not thread-safe); the two ``PeriodicTimer`` threads only ``tell`` timer
    messages; the desired slot has its own lock; ``stats()`` is asked through the mailbox.

    Accepts: ``SlotReady`` (take the newest ``DesiredQuotes``), ``MarketsChanged``,
    ``OrderEvent``, ``TradeEvent``, ``FeedStatus`` (user feed connected →
    reconcile from ``GET /data/orders``), ``CancelAll``, ``KillSwitch``, ``TimerFired``
    (``heartbeat``, ``orders``), ``PositionsMerged``/``PositionsRedeemed`` (the Treasury's);
    in a dry run also the market channel's messages and ``PriceUpdate`` (to the paper
    exchange, whose fills and settlements go to ``recovered_sink``).
    Asked: ``stats()``, ``shutdown()``.
    Emits: ``OrderPlaced``/``OrderRejected``/``OrderCanceled``/``OrderFilled`` to ``sinks``;
    kind ``order`` records (desired taken, cancels, posts with hashes, outcomes) and kind
    ``out`` (the emitted events) to the event log; a REST tick refresh (``TickSizeChanged``)
    and trades read back after a user-feed gap to ``recovered_sink`` (the State).
    On failure: an exception in a handler stops the actor; ``on_failure`` still sends a venue
    cancel-all, and the venue's dead-man switch cancels the rest within ~15 s.
    """

    def __init__(self, *, params: OrderParams, limits: RiskLimits,
                 desired_slot: LatestSlot[DesiredQuotes], owner: str,
                 gateway: Gateway | None = None, signer: Signer | None = None,
                 client: ClobApi | None = None, maker: str = "", signature_type: int = 0,
                 api_key: str | None = None, event_log: EventSink | None = None,
                 metrics: MetricSink | None = None, sinks: Sequence[Tell] = (),
                 user_feed_stale: Callable[[str], None] | None = None,
                 recovered_sink: Tell | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
                 timers: bool = True) -> None:
        super().__init__()
        if not 0 <= signature_type <= 3:
            raise ValueError(f"venue.signature_type: expected 0..3, got {signature_type}")
        if gateway is None:
            if signer is None or client is None:
                raise ValueError("OrderManager: give a gateway, or a signer and a client")
            gateway = ClobGateway(client=client, signer=signer, maker=maker,
                                  signature_type=signature_type,
                                  owner=api_key if api_key is not None else owner,
                                  post_only=params.post_only, wall_ms=wall_ms)
        self._params = params
        self._slot = desired_slot
        self.out = OrderOutput(log=event_log, metrics=metrics, sinks=sinks)
        self._box = Outbox(recording=event_log is not None)
        self.planner = OrderPlanner(params=params, limits=limits, owner=owner, now_s=clock(),
                                    out=self._box, wall_ms=wall_ms)
        self.tracker: OrderTracker = self.planner.tracker
        self._gateway = gateway
        self._driver = Driver(gateway, self._box, clock)
        self._user_feed_stale = user_feed_stale
        self._recovered_sink = recovered_sink
        self._clock = clock
        self._timers_on = timers
        self._shut_down = False
        self._timers: list[PeriodicTimer] = []
        self._heartbeat_errors = 0
        self._identity = f"maker {maker or '(gateway)'}, signature type {signature_type}"
        self._handlers: dict[type, Callable[[Any], None]] = {
            SlotReady: lambda _m: self.on_slot_ready(),
            MarketsChanged: self.on_markets_changed,
            OrderEvent: self.on_order_event,
            TradeEvent: self.on_trade_event,
            FeedStatus: self.on_feed_status,
            CancelAll: self.on_cancel_all,
            KillSwitch: self.on_kill_switch,
            TimerFired: self.on_timer,
            PositionsMerged: self.on_collateral,
            PositionsRedeemed: self.on_collateral,
        }
        # A dry run: the paper exchange fills our orders from the market channel and settles
        # each window from the reference prices, which this actor then reads too.
        self._paper = gateway if isinstance(gateway, PaperGateway) else None
        if self._paper is not None:
            self._handlers.update({cls: self.on_market_data for cls in PAPER_MESSAGES})
            self._handlers[PriceUpdate] = self.on_reference

    # -- lifecycle -------------------------------------------------------------------------

    def on_start(self) -> None:
        self.reconcile()
        self.on_heartbeat()
        if self._timers_on:
            ref = self.actor_ref
            self._timers = [start_timer(ref, "heartbeat", self._params.heartbeat_interval_s),
                            start_timer(ref, "orders", HOUSEKEEPING_S)]
        logger.info("order manager: started (%s)", self._identity)

    def on_stop(self) -> None:
        self._stop_timers()
        if not self._shut_down and (self.tracker.orders() or self.planner.strays):
            self._run(self.planner.cancel_all("stopped without shutdown", self._clock()))

    def on_failure(self, exception_type: type[BaseException] | None,
                   exception_value: BaseException | None,
                   traceback: TracebackType | None) -> None:
        self._stop_timers()
        logger.error("order manager failed (%s); sending a venue cancel-all",
                     getattr(exception_type, "__name__", exception_type))
        try:
            self._gateway.cancel_all()
        except Exception as exc:
            logger.error("order manager: cancel-all after failure failed: %s", exc)

    def _stop_timers(self) -> None:
        for t in self._timers:
            t.stop()
        self._timers = []

    def on_receive(self, message: Any) -> Any:
        handler = self._handlers.get(type(message))
        if handler is not None:
            handler(message)
        return None

    # -- asked by the supervisor -----------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters for the status line and the run summary (a dry run adds ``paper``: the
        paper exchange's account)."""
        out = {**self.planner.stats(), "heartbeat_errors": self._heartbeat_errors}
        if self._paper is not None:
            out["paper"] = self._paper.summary()
        return out

    def shutdown(self) -> dict[str, Any]:
        """Stop posting, cancel everything at the venue, settle the orders whose outcome is
        unknown, and read back what is still open."""
        self._shut_down = True
        self._stop_timers()
        try:
            left = Shutdown(self.planner, self._driver, self._clock).run()
            if self._paper is not None:  # the run is over: what is in flight lands
                self._paper_events(self._paper.finish(), then_pass=False)
        finally:
            self._flush()
        return {"open_orders_after_shutdown": left, "stats": self.stats()}

    # -- inputs ----------------------------------------------------------------------------

    def on_slot_ready(self) -> None:
        desired = self._slot.take()
        if desired is None:
            return
        if trace.enabled:
            trace.mark(trace.ORDER_WAIT, desired.cause_recv_ns)
        self.planner.set_desired(desired)
        self.run_pass()

    def on_markets_changed(self, msg: MarketsChanged) -> None:
        if self._paper is not None:
            self._paper.set_markets(msg.markets)
        self.planner.set_markets(market_infos(msg.markets))
        self.run_pass()

    def on_market_data(self, msg: MarketMessage) -> None:
        """A dry run: a market-channel message, to the paper exchange."""
        assert self._paper is not None
        self._paper_events(self._paper.on_market(msg))

    def on_reference(self, msg: PriceUpdate) -> None:
        """A dry run: a reference price, to the paper exchange, which may settle a window
        with it. Its ``MarketResolved`` goes to the State before the resolution's events, as
        the venue's message would come before our orders' cancellations."""
        assert self._paper is not None
        events, resolutions = self._paper.on_reference(msg)
        for r in resolutions:
            logger.info("order manager: paper exchange settled %s from the reference: %s won",
                        r.condition_id, r.winning_outcome)
            if self._recovered_sink is not None:
                self._recovered_sink(r)
        self._paper_events(events)

    def _paper_events(self, events: list[PaperEvent], *, then_pass: bool = True) -> None:
        """The paper exchange's user-channel events: to the State (as the user feed's would
        go) and to the planner; a pass follows if any changed our orders (``then_pass``)."""
        if not events:
            return
        now = self._clock()
        for ev in events:
            if self._recovered_sink is not None:
                self._recovered_sink(ev)
            if isinstance(ev, OrderEvent):
                self.planner.order_event(ev, now)
            else:
                self.planner.trade_event(ev, now)
        if then_pass:
            self.run_pass()

    def on_order_event(self, ev: OrderEvent) -> None:
        self.planner.order_event(ev, self._clock())
        self.run_pass()

    def on_trade_event(self, ev: TradeEvent) -> None:
        if self.planner.trade_event(ev, self._clock()):
            self.run_pass()
        else:
            self._flush()

    def on_collateral(self, msg: PositionsMerged | PositionsRedeemed) -> None:
        """The Treasury merged or redeemed: the tokens and their cost leave the risk check's
        positions (a merge frees notional, so quotes held back by the limit may go out)."""
        self.tracker.on_collateral(msg)
        self.run_pass()

    def on_feed_status(self, msg: FeedStatus) -> None:
        if msg.feed == "user" and msg.connected:
            self.planner.report.acks.clear()
            if msg.reason != "connected":
                # Fills that happened while the channel was down: read them back first, so
                # reconcile sees those orders as filled, not vanished (protocol §7.6).
                self.recover_trades()
            self.reconcile()
            self.run_pass()

    def recover_trades(self) -> int:
        """Apply our trades from ``GET /data/trades`` (idempotent by trade id) and pass them
        to the State; returns how many trade events were applied."""
        try:
            events = self._gateway.our_trades()
        except VenueError as exc:  # recovery is best effort; it must not kill the actor
            logger.warning("order manager: reading trades after a user-feed resync failed: %s",
                           exc)
            return 0
        for ev in events:
            self.planner.trade_event(ev, self._clock())
            if self._recovered_sink is not None:
                self._recovered_sink(ev)
        self._flush()
        return len(events)

    def on_cancel_all(self, msg: CancelAll) -> None:
        now = self._clock()
        if msg.halt:
            self._run(self.planner.halt(f"cancel-all: {msg.reason}", now))
        else:
            self._run(self.planner.cancel_all(msg.reason, now))

    def on_kill_switch(self, msg: KillSwitch) -> None:
        if msg.on:
            self._run(self.planner.halt(f"kill switch: {msg.reason}", self._clock()))
        elif not self._shut_down and self.planner.resume(msg.reason):
            self.run_pass()

    def on_timer(self, msg: TimerFired) -> None:
        if msg.name == "heartbeat":
            self.on_heartbeat()
        elif msg.name == "orders":
            self.on_housekeeping()

    # -- timers ----------------------------------------------------------------------------

    def on_heartbeat(self) -> None:
        """One dead-man heartbeat."""
        if self._shut_down:
            return
        t0 = time.perf_counter_ns()
        failed = self._gateway.heartbeat()
        if failed is not None:
            self._heartbeat_errors += 1
            self._box.incr("orders.heartbeat_errors")
            logger.warning("order manager: heartbeat failed: %s", failed.message)
        else:
            self._box.timing_ms("orders.heartbeat_ms", (time.perf_counter_ns() - t0) / 1e6)
        self._flush()

    def on_housekeeping(self) -> None:
        """Look up unresolved orders, refresh gauges, and run a pass (budgets and back-off may
        have freed up work that an earlier pass deferred)."""
        now_s = self._clock()
        late = self.planner.report.acks.overdue(now_s)
        if late and self._user_feed_stale is not None:
            logger.warning("order manager: %d acknowledged orders got no user-channel event in "
                           "%.0f s: reconnecting the user feed", late,
                           self._params.user_ack_timeout_s)
            self._user_feed_stale(f"{late} acknowledged orders without a user event")
        look_up(self.planner, self._gateway, self.tracker.due_checks(int(now_s * 1000)), now_s)
        self.planner.gauges(now_s)
        if self._paper is not None:
            self._paper_events(self._paper.advance())
        self.run_pass()

    def reconcile(self) -> None:
        """Align the tracker with ``GET /data/orders``; strays get canceled by the next pass."""
        try:
            remote = self._gateway.open_orders()
        except VenueError as exc:
            logger.warning("order manager: reconcile failed: %s", exc)
            return
        strays = self.planner.reconciled(remote, self._clock())
        self._flush()
        logger.info("order manager: reconciled %d open orders at the venue (%d unknown)",
                    len(remote), strays)

    # -- the pass --------------------------------------------------------------------------

    def run_pass(self) -> None:
        """One planner pass, carried out at the venue; its reports go out after it."""
        d = self.planner.desired
        cause = d.cause_recv_ns if d is not None else 0
        try:
            self._driver.run(self.planner.run_pass(self._clock()), cause_ns=cause)
        finally:
            self._flush()
        if not self._shut_down:  # idle now: sign what the next replace will likely post
            presign(self._gateway, self.planner.presign_candidates(), self._busy)

    def _busy(self) -> bool:
        return self._slot.peek_full() or not self.actor_inbox.empty()

    def _run(self, steps: Steps) -> None:
        try:
            self._driver.run(steps)
        finally:
            self._flush()

    def _flush(self) -> None:
        box = self._box
        if box.to_state and self._recovered_sink is not None:
            for msg in box.to_state:
                self._recovered_sink(msg)
        self.out.flush(box)
