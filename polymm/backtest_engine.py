"""The backtest's engine: the State, the Quoter and the OrderManager of a dry run, and a fresh
paper exchange, in one thread on a virtual clock.

Each recorded input is applied at its receive time (``ts_recv_ns``; the clock never goes back).
What the three actors would do with it is done here in a fixed order, with the same pure code:

1. A market-channel message goes to the paper exchange first (``PaperGateway.on_market``, as
   the OrderManager's ``on_market_data`` does in a dry run). Its order and trade events go to
   the planner, then a planner pass runs (with the desired quotes it had).
2. The message goes to the State's model (``StateModel.apply``).
3. Once every input of the same receive time (one frame of the feed) is in: if what quoting
   needs changed, snapshot → ``build_desired`` → if the desired quotes differ from the last
   ones (the Quoter publishes only then) ``set_desired`` and a pass.
4. Then the paper exchange's events reach the State's model (in a dry run they come through
   the OrderManager, one hop behind the market message), and 3. runs again if they changed it.

Market sets go to the model, the paper exchange and the planner (then a pass); a kill switch
to the model and the planner. Every 0.5 s of virtual time the OrderManager's housekeeping runs
(look-ups, ``PaperGateway.advance``, a pass). The log's own order and trade events (a dry
run's paper fills, or a paper run's venue fills) are skipped, and so are the windows its paper
exchange settled from the reference (``MarketResolved.from_reference``): the paper exchange
here makes the fills and the settlements again, from the recorded reference prices (a
reference price reaches it as in a dry run: ``PaperGateway.on_reference``). Passes are driven
synchronously by the OrderManager's own ``Driver`` against the paper gateway, whose clock is
the virtual one.

What this cannot reproduce of a dry run is its threads' timing: there the State may or may not
have a paper fill before it next quotes, desired quotes can be coalesced in the slots, sends
happen a few ms after their cause, and the housekeeping timer runs on the wall clock. README
"Backtests and the run report" says how far apart the two come out.

Thread ownership: the caller's thread, which owns every object here.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from typing import Any

from actors.order_manager.actor import HOUSEKEEPING_S
from actors.order_manager.driver import Driver, look_up
from messages import (
    ConditionId,
    DesiredQuotes,
    KillSwitch,
    MarketResolved,
    MarketsChanged,
    OrderEvent,
    OrderFilled,
    PositionsMerged,
    PositionsRedeemed,
    PriceUpdate,
    TradeEvent,
)
from polymm.backtest_metrics import Measures
from polymm.backtest_params import BacktestParams
from trading.order_report import Outbox
from trading.paper_exchange import PaperEvent, PaperExchange
from trading.paper_gateway import PAPER_MESSAGES, PaperGateway
from trading.planner import OrderPlanner
from trading.quoting import build_desired
from trading.state import StateModel
from venue.gateway import market_infos

HOUSEKEEPING_NS = int(HOUSEKEEPING_S * 1e9)
PNL_SAMPLE_NS = 1_000_000_000


class Engine:
    """One backtest over one run's inputs (see the module docstring).

    Args:
        params: what the State, Quoter, OrderManager and paper exchange run with.
        start_ns: the virtual clock's start (the first input's receive time).
        trace: keep the series the report plots.
    """

    def __init__(self, params: BacktestParams, *, start_ns: int, trace: bool = False) -> None:
        self.params = params
        self.start_ns = start_ns
        self.now_ns = start_ns
        qp = params.quoter
        self.model = StateModel(owner=params.owner, vol_halflife_s=qp.vol_halflife_s,
                                vol_floor_per_sqrt_s=qp.vol_floor_per_sqrt_s)
        self.exchange = PaperExchange(owner=params.owner, latency_ms=params.latency_ms)
        self.gateway = PaperGateway(self.exchange, post_only=params.orders.post_only,
                                    wall_ms=self.wall_ms)
        self.box = Outbox(recording=False)
        self.planner = OrderPlanner(params=params.orders, limits=params.risk,
                                    owner=params.owner, now_s=self.clock(), out=self.box,
                                    wall_ms=self.wall_ms)
        self.driver = Driver(self.gateway, self.box, self.clock)
        self.measures = Measures(self._mark, trace=trace)
        self._last: DesiredQuotes | None = None
        self._quote_stale = False
        self._quote_pending = False
        self._to_state: list[PaperEvent | MarketResolved] = []
        self._frame_ns = -1
        self._next_housekeeping_ns = start_ns + HOUSEKEEPING_NS
        self._next_pnl_ns = start_ns
        self.inputs = 0
        self.skipped: dict[str, int] = {}
        self.snapshots = 0
        self.decisions = 0
        self.wall_s = 0.0

    # -- the virtual clock -------------------------------------------------------------------

    def clock(self) -> float:
        """The OrderManager's clock (seconds), virtual."""
        return self.now_ns / 1e9

    def wall_ms(self) -> int:
        """The paper exchange's and the planner's wall clock (ms), virtual."""
        return self.now_ns // 1_000_000

    def _mark(self, token: Any) -> int | None:
        return self.model.marks_pips().get(token)

    # -- inputs ------------------------------------------------------------------------------

    def run(self, inputs: Iterable[tuple[int, object]], end_ns: int | None = None) -> None:
        """Apply ``(ts_ns, message)`` inputs in order, then run the clock to ``end_ns``
        (default: the last input) and close the measures."""
        t0 = time.perf_counter()
        for ts, msg in inputs:
            self.feed(ts, msg)
        self.advance_to(max(self.now_ns, end_ns or 0))
        self._settle()
        self.measures.finish(self.now_ns)
        self.wall_s += time.perf_counter() - t0

    def feed(self, ts_ns: int, msg: object) -> None:
        """One recorded input, at its receive time ``ts_ns``.

        The inputs of one frame share their receive time: all of them reach the paper
        exchange before the quotes they cause (in a dry run the OrderManager has the whole
        frame in its mailbox before the State's snapshot has gone through the Quoter).
        """
        if ts_ns != self._frame_ns:
            self._settle()
            self._frame_ns = ts_ns
        self.advance_to(ts_ns)
        # The recorded account's own orders, fills and collateral moves: the paper exchange
        # makes this run's.
        if isinstance(msg, OrderEvent | TradeEvent | PositionsMerged | PositionsRedeemed) or (
                isinstance(msg, MarketResolved) and msg.from_reference):
            name = type(msg).__name__
            self.skipped[name] = self.skipped.get(name, 0) + 1
            return
        self.inputs += 1
        if isinstance(msg, PAPER_MESSAGES):
            self._paper_events(self.gateway.on_market(msg))
            if isinstance(msg, MarketResolved):  # positions settled at 1 or 0
                self.measures.positions(self.exchange.position_micro, self.now_ns,
                                        (msg.condition_id,))
        elif isinstance(msg, PriceUpdate):
            # The windows this price settles, as the dry run's OrderManager does: the
            # resolution to the State first, then its events.
            events, resolutions = self.gateway.on_reference(msg)
            if resolutions:
                self._to_state.extend(resolutions)
                self.measures.positions(self.exchange.position_micro, self.now_ns,
                                        tuple(r.condition_id for r in resolutions))
            self._paper_events(events)
        changed = self.model.apply(msg)
        self.model.take_resync_requests()  # the recorded log already holds the resyncs
        if isinstance(msg, MarketsChanged):
            self.measures.markets(msg.markets, self.now_ns)
            self.gateway.set_markets(msg.markets)
            self.planner.set_markets(market_infos(msg.markets))
            self._pass()
        elif isinstance(msg, KillSwitch):
            self._kill_switch(msg)
        self._quote_pending |= changed

    def advance_to(self, ts_ns: int) -> None:
        """Move the clock to ``ts_ns``, running each housekeeping tick due on the way."""
        while self._next_housekeeping_ns <= ts_ns:
            self._settle()
            self._tick_to(self._next_housekeeping_ns)
            self._housekeeping()
            self._next_housekeeping_ns += HOUSEKEEPING_NS
        self._tick_to(ts_ns)

    def _settle(self) -> None:
        """The quoting the inputs so far asked for, at the current instant; then the paper
        exchange's events reach the State, and quoting runs again if they changed it."""
        if self._quote_pending or self._quote_stale:
            self._quote_pending = False
            self._quote()
        if self._to_state:
            events, self._to_state = self._to_state, []
            changed = False
            for ev in events:
                changed |= self.model.apply(ev)
            if changed or self._quote_stale:
                self._quote()

    def _tick_to(self, ts_ns: int) -> None:
        if ts_ns > self.now_ns:
            self.now_ns = ts_ns
        self.measures.due(self.now_ns)
        if self.now_ns >= self._next_pnl_ns and self.measures.trace:
            self._next_pnl_ns = self.now_ns + PNL_SAMPLE_NS
            self.measures.pnl_point(self.now_ns, self.pnl_micro()[0])

    # -- the three actors --------------------------------------------------------------------

    def _quote(self) -> None:
        """The State publishes a snapshot; the Quoter builds the desired quotes and passes them
        on when they changed; the OrderManager runs a pass. A pass can hand the State a tick
        (a REST refresh), which asks for another round."""
        for _ in range(10):  # each round needs a new tick from a pass: it converges at once
            self._quote_stale = False
            snap = self.model.snapshot(self.now_ns, self.now_ns)
            self.snapshots += 1
            desired = build_desired(snap, self.params.quoter, self.params.risk)
            self.measures.quoted(snap, desired, self.now_ns)
            last = self._last
            if last is None or desired.quotes != last.quotes or desired.decisions != last.decisions:
                self._last = desired
                self.decisions += 1
                self.planner.set_desired(desired)
                self._pass()
            if not self._quote_stale:
                return

    def _kill_switch(self, msg: KillSwitch) -> None:
        if msg.on:
            self._drive(self.planner.halt(f"kill switch: {msg.reason}", self.clock()))
        elif self.planner.resume(msg.reason):
            self._pass()

    def _housekeeping(self) -> None:
        """The OrderManager's timer: look-ups, gauges, what the paper latency made due, a pass."""
        now_s = self.clock()
        tracker = self.planner.tracker
        look_up(self.planner, self.gateway, tracker.due_checks(int(now_s * 1000)), now_s)
        self.planner.gauges(now_s)
        self._paper_events(self.gateway.advance())
        self._pass()
        self._settle()

    def _paper_events(self, events: list[PaperEvent]) -> None:
        """The paper exchange's user-channel events to the planner, then a pass (as the
        OrderManager's ``_paper_events``); the State gets them at the end of the instant
        (``_settle``): in a dry run they reach it through the OrderManager, after the State's
        own snapshot of the same market message has gone to the Quoter."""
        if not events:
            return
        now = self.clock()
        touched: set[ConditionId] = set()
        self._to_state.extend(events)
        for ev in events:
            if isinstance(ev, OrderEvent):
                self.planner.order_event(ev, now)
            else:
                self.planner.trade_event(ev, now)
                touched.add(ev.condition_id)
        self._pass()
        counts: dict[ConditionId, int] = {}
        for o in self.exchange.open_orders():
            counts[o.condition_id] = counts.get(o.condition_id, 0) + 1
        self.measures.resting(counts, self.now_ns)
        if touched:
            self.measures.positions(self.exchange.position_micro, self.now_ns, touched)

    def _pass(self) -> None:
        d = self.planner.desired
        self._drive(self.planner.run_pass(self.clock()),
                    cause_ns=d.cause_recv_ns if d is not None else 0)

    def _drive(self, steps: Any, *, cause_ns: int = 0) -> None:
        try:
            self.driver.run(steps, cause_ns=cause_ns)
        finally:
            self._flush()

    def _flush(self) -> None:
        """The pass's reports: the State's messages (a tick refreshed over REST, stamped with
        the virtual clock) and our fills; the rest (records, metrics) is dropped."""
        box = self.box
        for msg in box.to_state:
            if self.model.apply(dataclasses.replace(msg, ts_recv_ns=self.now_ns)):
                self._quote_stale = True
        for ev in box.events:
            if isinstance(ev, OrderFilled) and ev.status == "MATCHED":
                self.measures.fill(ev, self.now_ns)
        box.clear()

    # -- results -----------------------------------------------------------------------------

    def pnl_micro(self) -> tuple[int, int]:
        """The paper account's PnL with open positions at the State's marks: ``(pnl,
        positions without a mark)``."""
        return self.exchange.pnl_micro(self.model.marks_pips())
