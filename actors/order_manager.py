"""The OrderManager actor: desired quotes → cancels and posts at the venue (design §3, §5).

Each pass: diff the last ``DesiredQuotes`` against our orders (``trading.diff``), send the
cancels first (``DELETE /orders``), diff again, check the posts against the risk limits
(``trading.risk``), sign them (the hash, known before sending, is the order id) and send them
in batches of at most 15 (``POST /orders``). A pass runs when new desired quotes arrive, after
user-feed events that change our orders, after markets change and on a housekeeping timer,
because the Quoter publishes only when its target changes.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import pykka

from actors.order_flow import Quote
from actors.order_output import OrderOutput
from actors.order_shutdown import OrderShutdown
from actors.order_venue import (
    MarketInfo,
    desired_ticks,
    expected_heartbeat_id,
)
from messages import (
    CancelAll,
    ConditionId,
    DesiredQuotes,
    FeedStatus,
    KillSwitch,
    MarketsChanged,
    OrderEvent,
    OrderFilled,
    OrderHash,
    SlotReady,
    TimerTick,
    TokenId,
    TradeEvent,
    TradeStatus,
)
from messages.errors import VenueError
from runtime import trace
from runtime.actor import Actor
from runtime.slot import LatestSlot
from runtime.ticker import Ticker
from trading.ack_watch import AckWatch
from trading.order_tracker import IN_FLIGHT, OPEN, OrderState, OrderTracker
from trading.params import OrderParams, RiskLimits
from trading.rate_budget import Backoff, TokenBucket
from trading.risk import KillSwitchMonitor
from venue.orders import exchange_for
from venue.remote_orders import remote_orders

logger = logging.getLogger(__name__)

HOUSEKEEPING_S = 0.5


class OrderManager(OrderShutdown, Actor):
    """Owns our orders at the venue: the tracker, signer, REST client, rate budgets, back-off,
    kill switch and the dead-man heartbeat.

    Thread ownership: everything on this object belongs to the actor's thread (the signer and
    the REST session are not thread-safe); the two ``Ticker`` threads only ``tell`` timer
    messages; the desired slot has its own lock; ``stats()`` is asked through the mailbox.

    Accepts: ``SlotReady`` (take the newest ``DesiredQuotes``), ``MarketsChanged``,
    ``OrderEvent``, ``TradeEvent``, ``FeedStatus`` (user feed connected →
    reconcile from ``GET /data/orders``), ``CancelAll``, ``KillSwitch``, ``TimerTick``
    (``heartbeat``, ``orders``). Asked: ``stats()``, ``shutdown()``.
    Emits: ``OrderPlaced``/``OrderRejected``/``OrderCanceled``/``OrderFilled`` to ``sinks``;
    kind ``order`` records (desired taken, cancels, posts with hashes, outcomes) and kind
    ``out`` (the emitted events) to the event log.
    On failure: an exception in a handler stops the actor; ``on_failure`` still sends a venue
    cancel-all, and the venue's dead-man switch cancels the rest within ~15 s.
    """

    def __init__(self, *, params: OrderParams, limits: RiskLimits, signer: Any, client: Any,
                 owner: str, maker: str, signature_type: int = 0,
                 desired_slot: LatestSlot[DesiredQuotes], api_key: str | None = None,
                 event_log: Any = None, metrics: Any = None,
                 sinks: Sequence[Callable[[Any], None]] = (),
                 user_feed_stale: Callable[[str], None] | None = None,
                 recovered_sink: Callable[[Any], None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
                 timers: bool = True) -> None:
        super().__init__()
        if not 1 <= params.batch_size <= 15:
            raise ValueError(f"order_manager.batch_size: expected 1..15, got {params.batch_size}")
        if not 0 <= signature_type <= 3:
            raise ValueError(f"venue.signature_type: expected 0..3, got {signature_type}")
        self._params = params
        self._limits = limits
        self._signer = signer
        self._client = client
        self._api_key = api_key if api_key is not None else owner
        self._maker = maker
        self._sig_type = signature_type
        # A deposit wallet (type 3) signs as itself (protocol §6.2).
        self._signer_addr = maker if signature_type == 3 else signer.address
        self._slot = desired_slot
        self.out = OrderOutput(log=event_log, metrics=metrics, sinks=sinks)
        self._user_feed_stale = user_feed_stale
        self._recovered_sink = recovered_sink
        self.acks = AckWatch(params.user_ack_timeout_s)
        self._clock = clock
        self._wall_ms = wall_ms
        self._timers = timers
        now = clock()
        self.tracker = OrderTracker(owner=owner,
                                    resolve_timeout_ms=int(params.resolve_timeout_s * 1000))
        self._order_bucket = TokenBucket(params.order_rate_per_s, params.order_burst, now)
        self._cancel_bucket = TokenBucket(params.cancel_rate_per_s, params.cancel_burst, now)
        self._cancel_batch = max(1, min(1000, params.cancel_burst))
        self.backoff = Backoff()
        self._kill = KillSwitchMonitor(limits)
        self._markets: dict[TokenId, MarketInfo] = {}
        # The ticks of the latest desired quotes (the State owns the tick; see on_slot_ready).
        self._ticks: dict[TokenId, int] = {}
        self._tick_refreshed: dict[TokenId, float] = {}
        self._conditions: set[ConditionId] = set()
        self._desired: DesiredQuotes | None = None
        self._suppressed: set[Quote] = set()
        self._strays: set[OrderHash] = set()
        self._halted: str | None = None
        self._shut_down = False
        self._hb_id = ""
        self._tickers: list[Ticker] = []
        self._posted = 0
        self._canceled = 0
        self._rejects: Counter[str] = Counter()
        self._heartbeat_errors = 0
        self._handlers: dict[type, Callable[[Any], None]] = {
            SlotReady: lambda _m: self.on_slot_ready(),
            MarketsChanged: self.on_markets_changed,
            OrderEvent: self.on_order_event,
            TradeEvent: self.on_trade_event,
            FeedStatus: self.on_feed_status,
            CancelAll: self.on_cancel_all,
            KillSwitch: self.on_kill_switch,
            TimerTick: self.on_timer,
        }

    # -- lifecycle -------------------------------------------------------------------------

    def on_start(self) -> None:
        self.reconcile()
        self.on_heartbeat()
        if self._timers:
            ref = self.actor_ref

            def tick(name: str) -> Callable[[], None]:
                def fire() -> None:
                    # A tick racing the actor's stop is dropped; the ticker stops too.
                    with contextlib.suppress(pykka.ActorDeadError):
                        ref.tell(TimerTick(name=name, ts_recv_ns=time.time_ns()))
                return fire

            self._tickers = [
                Ticker(self._params.heartbeat_interval_s, tick("heartbeat"),
                       name="heartbeat").start(),
                Ticker(HOUSEKEEPING_S, tick("orders"), name="orders").start(),
            ]
        logger.info("order manager: started (maker %s, signature type %d)", self._maker,
                    self._sig_type)

    def on_stop(self) -> None:
        self._stop_tickers()
        if not self._shut_down and (self.tracker.orders() or self._strays):
            self._cancel_all("stopped without shutdown")

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        self._stop_tickers()
        logger.error("order manager failed (%s); sending a venue cancel-all",
                     getattr(exception_type, "__name__", exception_type))
        try:
            self._client.cancel_all()
        except Exception as exc:
            logger.error("order manager: cancel-all after failure failed: %s", exc)

    def _stop_tickers(self) -> None:
        for t in self._tickers:
            t.stop()
        self._tickers = []

    def on_receive(self, message: Any) -> Any:
        handler = self._handlers.get(type(message))
        if handler is not None:
            handler(message)
        return None

    # -- asked by the supervisor -----------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters for the status line and the run summary."""
        counts = self.tracker.counts()
        t = self.tracker
        return {
            "orders_posted": self._posted, "orders_canceled": self._canceled,
            "rejects": dict(self._rejects), "fills": t.fills,
            "duplicate_orders": t.duplicates_prevented + t.duplicates_reported,
            "duplicate_orders_prevented": t.duplicates_prevented,
            "duplicate_orders_reported": t.duplicates_reported,
            "unknown_orders": t.unknown_orders, "unknown_resolved": t.unknown_resolved,
            "open_orders": sum(counts[s.value] for s in OPEN),
            "in_flight": sum(counts[s.value] for s in IN_FLIGHT),
            "unknown_outcome": counts[OrderState.UNKNOWN.value],
            "heartbeat_errors": self._heartbeat_errors, "halted": self._halted or "",
        }

    # -- inputs ----------------------------------------------------------------------------

    def on_slot_ready(self) -> None:
        desired = self._slot.take()
        if desired is None:
            return
        self._desired = desired
        if trace.enabled:
            trace.mark(trace.ORDER_WAIT, desired.cause_recv_ns)
        self._suppressed.clear()
        self._ticks = desired_ticks(desired, self._markets)
        self.out.record({"op": "desired", "seq": desired.seq, "quotes": len(desired.quotes)})
        self.run_pass()

    def on_markets_changed(self, msg: MarketsChanged) -> None:
        markets: dict[TokenId, MarketInfo] = {}
        for m in msg.markets:
            try:
                exchange, domain = exchange_for(m.version, m.neg_risk)
            except ValueError as exc:
                logger.error("order manager: market %s not tradable: %s", m.slug, exc)
                continue
            for token in m.token_ids:
                markets[token] = MarketInfo(condition_id=m.condition_id, exchange=exchange,
                                            domain_version=domain,
                                            min_size_micro=m.min_size_micro)
        self._markets = markets
        if self._desired is not None:
            self._ticks = desired_ticks(self._desired, markets)
        self._conditions = {i.condition_id for i in markets.values()}
        self.run_pass()

    def on_order_event(self, ev: OrderEvent) -> None:
        self.acks.seen(ev.order_id)
        tr, stray = self.tracker.on_order_event(ev, self._now_ms())
        if tr is not None:
            self._on_transition(tr)
        if stray:
            self._new_strays([ev.order_id])
        self.run_pass()

    def on_trade_event(self, ev: TradeEvent) -> None:
        change, transitions = self.tracker.on_trade_event(ev, self._now_ms())
        fills = [(f, ev.status) for f in change.added]
        fills += [(f, TradeStatus.FAILED) for f in change.undone]
        for f, status in fills:
            if status is not TradeStatus.FAILED:
                self.out.incr("orders.fills")
            self._emit(OrderFilled(order_id=f.order_id, trade_id=f.trade_id,
                                   condition_id=f.condition_id, token_id=f.token_id,
                                   side=f.side, price_pips=f.price_pips,
                                   size_micro=f.size_micro, status=status.value,
                                   ts_recv_ns=ev.ts_recv_ns))
        for tr in transitions:
            self._on_transition(tr)
        if fills:
            self.run_pass()

    def on_feed_status(self, msg: FeedStatus) -> None:
        if msg.feed == "user" and msg.connected:
            self.acks.clear()
            if msg.reason != "connected":
                # Fills that happened while the channel was down: read them back first, so
                # reconcile sees those orders as filled, not vanished (protocol §7.6).
                self.recover_trades()
            self.reconcile()
            self.run_pass()

    def recover_trades(self) -> int:
        """Apply our trades from ``GET /data/trades`` (idempotent by trade id) and pass them
        to the State; returns how many trade events were applied."""
        from venue.trades import our_trades

        try:
            events = our_trades(self._client, self._api_key, attempts=1)
        except Exception as exc:  # recovery is best effort; it must not kill the actor
            logger.warning("order manager: reading trades after a user-feed resync failed: %s",
                           exc)
            return 0
        for ev in events:
            self.on_trade_event(ev)
            if self._recovered_sink is not None:
                self._recovered_sink(ev)
        return len(events)

    def on_cancel_all(self, msg: CancelAll) -> None:
        if msg.halt:
            self._halt(f"cancel-all: {msg.reason}")
        else:
            self._cancel_all(msg.reason)

    def on_kill_switch(self, msg: KillSwitch) -> None:
        if msg.on:
            self._halt(f"kill switch: {msg.reason}")
        elif self._halted is not None and not self._shut_down:
            logger.warning("order manager: quoting resumed (%s)", msg.reason)
            self._halted = None
            self._kill.reset()
            self.out.gauge("risk.kill_switch", 0)
            self.run_pass()

    def on_timer(self, msg: TimerTick) -> None:
        if msg.name == "heartbeat":
            self.on_heartbeat()
        elif msg.name == "orders":
            self.on_housekeeping()

    # -- timers ----------------------------------------------------------------------------

    def on_heartbeat(self) -> None:
        """One dead-man heartbeat; a stale id is replaced by the one the venue expects."""
        if self._shut_down:
            return
        t0 = time.perf_counter_ns()
        try:
            self._hb_id = self._client.heartbeat(self._hb_id)
        except VenueError as exc:
            expected = expected_heartbeat_id(exc)
            try:
                if expected is None:
                    raise
                self._hb_id = self._client.heartbeat(expected)
            except VenueError as exc2:
                self._hb_id = expected_heartbeat_id(exc2) or expected or self._hb_id
                self._heartbeat_errors += 1
                self.out.incr("orders.heartbeat_errors")
                logger.warning("order manager: heartbeat failed: %s", exc2)
                return
        self.out.timing_ms("orders.heartbeat_ms", (time.perf_counter_ns() - t0) / 1e6)

    def on_housekeeping(self) -> None:
        """Look up unresolved orders, refresh gauges, and run a pass (budgets and back-off may
        have freed up work that an earlier pass deferred)."""
        now_s = self._clock()
        late = self.acks.overdue(now_s)
        if late and self._user_feed_stale is not None:
            logger.warning("order manager: %d acknowledged orders got no user-channel event in "
                           "%.0f s: reconnecting the user feed", late,
                           self._params.user_ack_timeout_s)
            self._user_feed_stale(f"{late} acknowledged orders without a user event")
        now_ms = int(now_s * 1000)
        self._look_up(self.tracker.due_checks(now_ms), now_ms)
        counts = self.tracker.counts()
        self.out.gauge("orders.open", sum(counts[s.value] for s in OPEN))
        self.out.gauge("orders.rate_budget_remaining", self._order_bucket.remaining(now_s), "order")
        self.out.gauge("orders.rate_budget_remaining", self._cancel_bucket.remaining(now_s),
                    "cancel")
        self.run_pass()

    def reconcile(self) -> None:
        """Align the tracker with ``GET /data/orders``; strays get canceled by the next pass."""
        try:
            remote = remote_orders(self._client.open_orders())
        except VenueError as exc:
            logger.warning("order manager: reconcile failed: %s", exc)
            return
        result = self.tracker.reconcile(remote, self._now_ms())
        for tr in result.transitions:
            self._on_transition(tr)
        self._new_strays(result.strays)
        logger.info("order manager: reconciled %d open orders at the venue (%d unknown)",
                    len(remote), len(result.strays))
