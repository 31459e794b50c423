"""The supervisor: plain code in the main thread that starts, watches and stops the actors.

Start-up is one readable function in a fixed order with a ``ping`` after each start; shutdown is
the reverse, cancel-all first, with a final check that no actor is left (Mopidy's habit).
``ask`` is used only here, always with a timeout.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar, cast

import pykka

from messages import (
    DesiredQuotes,
    FeedStatus,
    KillSwitch,
    MarketsChanged,
    QuoteSnapshot,
    ReconnectFeed,
    ResyncBooks,
    SlotReady,
)
from messages.errors import PolymmError
from polymm.health import (
    ShutdownResult,
    collect,
    emit_gauges,
    healthy,
    pnl_report,
    reconnect_counts,
    shut_down_orders,
    treasury_stats,
)
from polymm.io_actors import start_io_actor
from polymm.treasury_start import start_treasury
from polymm.wiring import Venue, build_venue, paper_gateway, startup_trades
from runtime.process import apply_runtime, freeze_startup_objects
from runtime.roles import CurrentRef
from runtime.slot import LatestSlot
from runtime.timer import next_deadline
from venue.redact import SELF

if TYPE_CHECKING:
    from polymm.config_schema import Config
    from polymm.health import DiscoveryProxy, EventLogProxy, OrderManagerProxy
    from polymm.status_http import StatusServer
    from runtime.sinks import EventSink, MetricSink

A = TypeVar("A", bound=pykka.Actor)
logger = logging.getLogger(__name__)

ASK_TIMEOUT_S = 10.0
ROLES = ("state", "quoter", "order_manager", "treasury", "user_feed", "market_feed",
         "price_feed", "discovery")
STATE_TIMER_S = 0.25
GAUGE_INTERVAL_S = 1.0


@dataclass
class Actors:
    """Refs of the running actors, in start order (main thread), and each role's
    ``CurrentRef``, which producers on other threads tell through."""

    refs: dict[str, pykka.ActorRef[pykka.Actor]] = field(default_factory=dict)
    roles: dict[str, CurrentRef] = field(default_factory=lambda: {
        name: CurrentRef(name) for name in ROLES})

    def add(self, name: str, ref: pykka.ActorRef[A]) -> pykka.ActorRef[A]:
        # ``ActorRef`` is invariant only through its writable ``actor_class``, which nothing
        # here writes: every role's ref is kept as a ref to the base class.
        self.refs[name] = cast("pykka.ActorRef[pykka.Actor]", ref)
        self.roles[name].set(ref)
        return ref


class Supervisor:
    """Owns the actor graph for one run of the bot.

    Thread ownership: everything here belongs to the main thread, except ``stop_event`` which
    signal handlers and tests set from anywhere, ``shutting_down`` which the feeds' reader
    threads read, and the roles' ``CurrentRef``s, which producers on other threads tell
    through (never through this object).
    """

    def __init__(self, config: Config, venue: Venue | None = None, *,
                 metrics: MetricSink | None = None,
                 status_interval_s: float | None = None) -> None:
        self.config = config
        self.venue = venue or build_venue(config)
        self.metrics = metrics
        self.stop_event = threading.Event()
        # Set when shutdown begins; the feeds read it on their reader threads and stop
        # reconnecting (a venue that is going away is not retried for the reconnect backoff).
        self.shutting_down = threading.Event()
        self.actors = Actors()
        self.quote_slot: LatestSlot[QuoteSnapshot] = LatestSlot("quote")
        self.desired_slot: LatestSlot[DesiredQuotes] = LatestSlot("desired")
        self.event_log: EventLogProxy | None = None
        self._status_interval_s = (status_interval_s if status_interval_s is not None
                                   else config.logging.status_interval_s)
        self.crashed: list[str] = []
        self.restarts: dict[str, int] = {}
        self.shutdown_result: ShutdownResult = {}
        self._event_log_stats: dict[str, int] = {}
        self.status_server: StatusServer | None = None
        self.fills_at_start = 0
        # A dry run never opens the user channel (its fills come from the paper exchange).
        self.dry_run = config.mode == "dry_run"
        self.io_roles = tuple(n for n in ("user_feed", "market_feed", "price_feed", "discovery")
                              if not (self.dry_run and n == "user_feed"))

    # -- start -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every actor in dependency order, pinging each, so errors surface here."""
        from actors.event_log import EventLog
        from actors.order_manager import OrderManager
        from actors.quoter import Quoter
        from actors.state import State
        from trading.state import StateModel

        cfg = self.config
        apply_runtime(cfg.runtime)
        v = self.venue
        log_sink: EventSink | None = None
        if cfg.event_log.enabled:
            from polymm.replay import params_record

            # The start record is on disk (fsync'd) before any actor runs: a run killed in its
            # first moments still leaves its parameters for replay and a post-mortem.
            self.event_log = event_log = cast("EventLogProxy", EventLog.start(
                cfg.event_log, metrics=self.metrics,
                # The backtest re-runs a log with its mode and paper latency as well.
                start_record={**params_record(cfg.quoter, cfg.risk, cfg.order_manager, SELF),
                              "mode": cfg.mode, "paper": dataclasses.asdict(cfg.paper)},
            ).proxy())
            try:
                event_log.ping().get(timeout=ASK_TIMEOUT_S)
            except (pykka.ActorDeadError, pykka.Timeout):
                raise PolymmError("the event log failed to start (its error is logged above)") \
                    from None
            log_sink = self.event_log_sink()
        # Positions before quoting: our trades from REST, read before any actor shares the
        # (not thread-safe) REST client, told to the State and the OrderManager first.
        trades = startup_trades(self.venue, cfg.mode)
        roles = self.actors.roles
        market_feed, user_feed = roles["market_feed"], roles["user_feed"]
        model = StateModel(owner=SELF, vol_halflife_s=cfg.quoter.vol_halflife_s,
                           vol_floor_per_sqrt_s=cfg.quoter.vol_floor_per_sqrt_s)
        self.actors.add("state", State.start(
            model=model, quote_slot=self.quote_slot,
            # On the State's thread; dropped while the feed is down (its restart resubscribes,
            # and so resyncs, every book).
            resync=lambda ids: market_feed.tell(ResyncBooks(token_ids=ids)),
            event_log=log_sink, metrics=self.metrics, timer_s=STATE_TIMER_S))
        self._ping("state")
        for ev in trades:
            self.actors.refs["state"].tell(ev)
        self.actors.add("quoter", Quoter.start(
            params=cfg.quoter, limits=cfg.risk, in_slot=self.quote_slot,
            out_slot=self.desired_slot, event_log=log_sink, metrics=self.metrics))
        self.quote_slot.bind(self._waker("quoter"))
        self._ping("quoter")
        p = None if self.dry_run else v.private()
        venue_side: dict[str, object] = {"gateway": paper_gateway(cfg)} if p is None else {
            "signer": p.signer, "client": p.client, "api_key": p.creds.api_key,
            "maker": v.maker, "signature_type": cfg.venue.signature_type}
        om = self.actors.add("order_manager", OrderManager.start(
            params=cfg.order_manager, limits=cfg.risk, owner=SELF, **venue_side,
            desired_slot=self.desired_slot, event_log=log_sink, metrics=self.metrics,
            user_feed_stale=lambda why: user_feed.tell(ReconnectFeed(reason=why)),
            recovered_sink=roles["state"].tell))
        self.desired_slot.bind(self._waker("order_manager"))
        self._ping("order_manager")  # its on_start reconciled our open orders from REST
        for ev in trades:
            om.tell(ev)
        # Fills that were already ours before this run (read back above): the run summary
        # reports this run's fills only. The ask queues behind the tells, so it sees them all.
        om_stats = cast("OrderManagerProxy", om.proxy()).stats().get(timeout=ASK_TIMEOUT_S)
        self.fills_at_start = int(om_stats["fills"])
        treasury = start_treasury(cfg, v, trades, owner=SELF, event_log=log_sink,
                                  metrics=self.metrics, sinks=[roles["state"].tell, om.tell])
        if treasury is not None:
            self.actors.add("treasury", treasury)
            self._ping("treasury")
        for name in self.io_roles:
            self._start_io(name)
        if self.dry_run:  # our orders' events come from the paper exchange, always there
            self._tell("state", FeedStatus(feed="user", connected=True, reason="paper",
                                           ts_recv_ns=time.time_ns()))
        from polymm.status_http import build_status_server

        self.status_server = build_status_server(cfg, lambda: collect(self),
                                                 lambda: healthy(self))
        if self.status_server is not None:
            self.status_server.start()
            logger.info("supervisor: status on %s", self.status_server.url)
        if cfg.runtime.gc_freeze:
            freeze_startup_objects()

    def _tell(self, name: str, msg: object) -> None:
        """Tell the *current* actor of ``name`` (see ``CurrentRef``)."""
        self.actors.roles[name].tell(msg)

    def _waker(self, name: str) -> Callable[[], None]:
        """A slot's wake-up for the consumer ``name``, run on the producer's thread."""
        return functools.partial(self.actors.roles[name].tell, SlotReady())

    def event_log_sink(self) -> EventSink | None:
        """The non-blocking append handle other actors use (never a proxy call per event);
        None without an event log."""
        if self.event_log is None:
            return None
        return self.event_log.sink().get(timeout=ASK_TIMEOUT_S)

    def _start_io(self, name: str) -> None:
        start_io_actor(self, name)
        self._ping(name)

    def _ping(self, name: str) -> None:
        ref = self.actors.refs[name]
        # A proxy attribute read is an ask through the actor's mailbox: it proves the actor runs.
        try:
            ref.proxy().actor_urn.get(timeout=ASK_TIMEOUT_S)
        except pykka.ActorDeadError:
            raise PolymmError(f"{name} failed to start (its error is logged above)") from None
        except pykka.Timeout:
            raise PolymmError(f"{name} did not start within {ASK_TIMEOUT_S:.0f} s") from None

    # -- run ---------------------------------------------------------------------------------------

    def run(self, duration_s: float | None = None) -> None:
        """Idle on an ``Event.wait`` (so signals work) until stopped or ``duration_s`` elapses.

        Watches actors: a crashed feed or discovery actor is restarted with backoff; a crashed
        State, Quoter or OrderManager stops the run (the OrderManager's ``on_failure`` has
        already tried a venue cancel-all).
        """
        deadline = None if duration_s is None else time.monotonic() + duration_s
        status_start = next_status = time.monotonic() + self._status_interval_s
        next_gauges = time.monotonic() + GAUGE_INTERVAL_S
        while not self.stop_event.is_set():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                logger.info("supervisor: duration of %.0f s elapsed", duration_s)
                break
            wait = 0.5 if deadline is None else max(0.0, min(0.5, deadline - now))
            if self.stop_event.wait(wait):
                break
            if not self._watch(deadline):
                break
            if time.monotonic() >= next_gauges:
                next_gauges = time.monotonic() + GAUGE_INTERVAL_S
                emit_gauges(self)
            now = time.monotonic()
            if now >= next_status:
                # On the grid, skipping what was missed: after a late pass (a restart's
                # backoff, slow asks) one line, not a burst of the lines it owed.
                next_status = next_deadline(status_start, self._status_interval_s, now)
                self.print_status()

    def _watch(self, deadline: float | None = None) -> bool:
        """Restart dead feed actors (backoff, never past ``deadline``); False = stop the run."""
        for name, ref in list(self.actors.refs.items()):
            if ref.is_alive():
                continue
            if name == "treasury":  # off the hot path: quoting goes on, collateral waits
                if name not in self.crashed:
                    logger.error("supervisor: the treasury died: no merges until a restart")
                    self.crashed.append(name)
                continue
            logger.error("supervisor: actor %s died", name)
            self.crashed.append(name)
            if name not in ("user_feed", "market_feed", "price_feed", "discovery"):
                logger.error("supervisor: %s is critical; stopping the bot", name)
                return False
            n = self.restarts.get(name, 0) + 1
            self.restarts[name] = n
            backoff = min(30.0, 0.5 * 2 ** (n - 1))
            if deadline is not None:
                backoff = min(backoff, max(0.0, deadline - time.monotonic()))
            if self.stop_event.wait(backoff) or (
                    deadline is not None and time.monotonic() >= deadline):
                return False
            if name == "user_feed" and "state" in self.actors.refs:
                self.actors.refs["state"].tell(FeedStatus(
                    feed="user", connected=False, reason="restart", ts_recv_ns=time.time_ns()))
            try:
                self._start_io(name)
            except Exception as exc:  # a feed that cannot even start: stop, never hang
                logger.error("supervisor: restarting %s failed: %s; stopping the bot", name, exc)
                return False
            self._resubscribe(name)
            logger.warning("supervisor: restarted %s (restart %d)", name, n)
        return True

    def _resubscribe(self, name: str) -> None:
        """Give a restarted feed the current market set (Discovery only emits on change)."""
        disc = self.actors.refs.get("discovery")
        if name == "discovery" or disc is None or not disc.is_alive():
            return
        try:
            markets = cast("DiscoveryProxy", disc.proxy()).markets().get(timeout=ASK_TIMEOUT_S)
        except Exception as exc:
            logger.warning("supervisor: no market set for restarted %s: %s", name, exc)
            return
        if markets:
            self._tell(name, MarketsChanged(
                markets=markets, added=tuple(m.condition_id for m in markets), removed=(),
                ts_recv_ns=time.time_ns()))

    def kill_switch(self, reason: str) -> None:
        """Stop quoting and cancel everything (the manual kill switch, e.g. SIGUSR2).

        Safe to call from a signal handler: it only ``tell``s. The State gates every market
        and the OrderManager cancels all and refuses to post until the bot is restarted.
        """
        msg = KillSwitch(on=True, reason=reason, ts_recv_ns=time.time_ns())
        logger.warning("supervisor: kill switch on (%s): cancel all, stop quoting", reason)
        for name in ("state", "order_manager"):
            ref = self.actors.refs.get(name)
            if ref is not None:
                ref.tell(msg)

    def crashed_critical(self) -> bool:
        """Whether the State, Quoter or OrderManager died during the run."""
        return any(n in ("state", "quoter", "order_manager") for n in self.crashed)

    def print_status(self) -> None:
        from polymm.status import status_line

        try:
            line = status_line(self)
        except Exception as exc:  # the status line must never take the bot down
            line = f"status unavailable: {type(exc).__name__}: {exc}"
        logger.info("%s", line)

    # -- stop --------------------------------------------------------------------------------------

    def shutdown(self) -> ShutdownResult:
        """Stop in reverse order: inputs first, then cancel-all and verify, then the rest."""
        self.shutting_down.set()
        if self.status_server is not None:
            self.status_server.stop()
        result: ShutdownResult = {"reconnects": reconnect_counts(self)}
        for name in ("discovery", "price_feed", "market_feed"):
            self._stop(name)
        collateral = treasury_stats(self)  # before it stops: its ledger goes with it
        if collateral is not None:
            result["collateral"] = collateral
        self._stop("treasury")
        result.update(shut_down_orders(self))
        result["pnl"] = pnl_report(self)
        self.shutdown_result = result
        for name in ("user_feed", "order_manager", "quoter", "state"):
            self._stop(name)
        if self.event_log is not None:
            try:
                self.event_log.flush().get(timeout=ASK_TIMEOUT_S)
                self._event_log_stats = self.event_log.stats().get(timeout=ASK_TIMEOUT_S)
            except Exception as exc:
                logger.error("supervisor: event log flush failed: %s", exc)
            self.event_log.actor_ref.stop(timeout=ASK_TIMEOUT_S)
            result["events_logged"] = self._event_log_stats.get("events_logged", 0)
        left = [r for r in pykka.ActorRegistry.get_all()]
        if left:
            logger.error("supervisor: actors still alive after shutdown: %s", left)
            pykka.ActorRegistry.stop_all(timeout=ASK_TIMEOUT_S)
        result["actors_left"] = len(left)
        if self.config.runtime.gc_freeze:
            gc.unfreeze()  # the run's objects are collectable again (in-process runs, tests)
        return result

    def _stop(self, name: str) -> None:
        ref = self.actors.refs.get(name)
        if ref is None:
            return
        try:
            ref.stop(timeout=ASK_TIMEOUT_S)
        except pykka.ActorDeadError:
            pass
        except Exception as exc:
            logger.error("supervisor: stopping %s failed: %s", name, exc)
