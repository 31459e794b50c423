"""Periodic gauges, the ``/status`` view and the shutdown's report, built on the main thread.

The supervisor calls ``emit_gauges`` about once a second: inventory and positions per market,
PnL, fair value and spread, gated markets by reason, the kill switch, open orders and every
actor's mailbox depth. These are the slow-moving numbers the dashboard shows; the per-event
timers and counters are emitted where they happen. At shutdown it asks here for the PnL, the
feeds' reconnects and, when the OrderManager could not, the last-resort venue cancel-all.

The actors are asked through typed proxies (Pykka's ``proxy_method``): a renamed or retyped
method is a type error here (and in the supervisor), not a ``None`` on the dashboard.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, TypeVar, cast

import pykka

from messages import ConditionId, GateReason

if TYPE_CHECKING:
    from pykka.typing import proxy_method

    from actors.discovery import Discovery
    from actors.event_log import EventLog
    from actors.order_manager import OrderManager
    from actors.quoter import Quoter
    from actors.state import State
    from actors.treasury import Treasury, TreasuryStats
    from actors.ws_feed import WsFeed
    from polymm.supervisor import Supervisor

    # The proxies of the actors asked here, as Pykka types them (``proxy_method``), for
    # ``cast`` only. Not ``ActorProxy`` subclasses: its ``__getattr__`` would let a misspelt
    # method through unchecked.

    class StateProxy:
        status = proxy_method(State.status)

    class QuoterProxy:
        summary = proxy_method(Quoter.summary)

    class OrderManagerProxy:
        stats = proxy_method(OrderManager.stats)
        shutdown = proxy_method(OrderManager.shutdown)

    class FeedProxy:
        stats = proxy_method(WsFeed.stats)

    class DiscoveryProxy:
        markets = proxy_method(Discovery.markets)

    class TreasuryProxy:
        stats = proxy_method(Treasury.stats)

    class EventLogProxy:
        actor_ref: pykka.ActorRef[EventLog]
        ping = proxy_method(EventLog.ping)
        sink = proxy_method(EventLog.sink)
        flush = proxy_method(EventLog.flush)
        stats = proxy_method(EventLog.stats)

logger = logging.getLogger(__name__)

ASK_S = 2.0
T = TypeVar("T")


class MarketView(TypedDict):
    """One market of the status view: the State's summary of it (``MarketState.summary``)
    and the Quoter's last decision for it."""

    condition_id: ConditionId
    alias: str
    up_bid: int | None
    up_ask: int | None
    inv_up: float
    inv_down: float
    ttc_s: int | None
    synced: bool
    strike_e8: int | None
    gate: str | None
    fair_up_pips: int | None
    half_spread_pips: int | None


class StatusView(TypedDict):
    """``collect``: what ``/status`` serves, the status line prints and the gauges send."""

    mode: str
    feeds: dict[str, bool]
    lags_ms: dict[str, float]
    markets: list[MarketView]
    # The OrderManager's ``stats()``: untyped where it is built (``trading.planner.stats``).
    orders: dict[str, Any]
    pnl_usd: float | None
    fills: int | None
    fees_usd: float | None
    rebate_estimate_usd: float | None
    # The Treasury's ``stats()``; None without one (a dry run, ``treasury.enabled`` false).
    collateral: TreasuryStats | None
    kill_switch: bool
    actors: dict[str, bool]
    mailbox_depth: dict[str, int]


class HealthDetail(TypedDict):
    """``/healthz``'s detail."""

    dead_actors: list[str]
    stopping: bool


class PnlReport(TypedDict, total=False):
    """``pnl_report``: empty when the State could not be asked. ``pnl_micro`` is the same
    figure as ``pnl_usd`` in micro-pUSD, exact (fills, taker fees, merges and redemptions,
    open positions at their marks); the rebate estimate is not in it."""

    pnl_usd: float
    pnl_micro: int
    unmarked_positions: int
    fills: int
    fees_usd: float
    rebate_estimate_usd: float
    collateral_usd: float
    inventory: dict[str, dict[str, float]]  # "<alias>:<condition id prefix>" → up, down


class ShutdownResult(TypedDict, total=False):
    """``Supervisor.shutdown()``: what the run summary reports of the shutdown."""

    reconnects: dict[str, int]
    open_orders_after_shutdown: int  # -1: unknown (the venue could not be asked)
    stats: dict[str, Any]  # the OrderManager's ``stats()`` (see ``StatusView.orders``)
    error: str  # the OrderManager's shutdown failed
    collateral: TreasuryStats  # asked of the Treasury before it stopped
    cancel_all: str  # who canceled all: "supervisor" (or none, in a dry run)
    cancel_all_error: str
    pnl: PnlReport
    events_logged: int
    actors_left: int


class _Queue(Protocol):
    def qsize(self) -> int: ...


def _depth(ref: pykka.ActorRef[pykka.Actor]) -> int:
    """Messages waiting in the actor's mailbox. Pykka's inbox protocol leaves ``qsize`` out;
    a ``runtime.actor.Actor``'s ``SimpleQueue`` (and a plain Pykka ``Queue``) has it."""
    return cast("_Queue", ref.actor_inbox).qsize()


def _ask(sup: Supervisor, name: str,
         ask: Callable[[pykka.ActorProxy[pykka.Actor]], pykka.Future[T]]) -> T | None:
    """``ask(proxy)``'s answer from the live actor ``name``; None if dead, gone or slow."""
    ref = sup.actors.refs.get(name)
    if ref is None or not ref.is_alive():
        return None
    try:
        return ask(ref.proxy()).get(timeout=ASK_S)
    except Exception as exc:
        logger.debug("health: asking %s failed: %s", name, exc)
        return None


def market_dims(markets: Iterable[MarketView]) -> dict[str, str]:
    """condition id → metric dimension: the alias for the soonest-closing window of an alias,
    ``<alias>-next`` for the one after it (aliases repeat across rolling windows)."""
    out: dict[str, str] = {}
    seen: Counter[str] = Counter()
    for m in sorted(markets, key=lambda m: (m["alias"], m["ttc_s"] if m["ttc_s"] is not None
                                            else 1 << 40)):
        n = seen[m["alias"]]
        seen[m["alias"]] += 1
        out[m["condition_id"]] = m["alias"] if n == 0 else (
            f"{m['alias']}-next" if n == 1 else f"{m['alias']}-{n}")
    return out


def _lags(sup: Supervisor) -> dict[str, float]:
    """The last message lag each feed measured on its reader thread."""
    out = {}
    for name in ("market", "user", "price"):
        stats = _ask(sup, f"{name}_feed", lambda p: cast("FeedProxy", p).stats())
        if stats is not None and stats["lag_ms"] is not None:
            out[name] = float(stats["lag_ms"])
    return out


def collect(sup: Supervisor, *, collateral: bool = True) -> StatusView:
    """The status view: feeds, lags, markets, orders, inventory, PnL, kill switch, and (with
    ``collateral``) the Treasury's numbers: an ask that waits while it is in a chain call, so
    the once-a-second gauges leave it out (the Treasury sends its own)."""
    st = _ask(sup, "state", lambda p: cast("StateProxy", p).status())
    om = _ask(sup, "order_manager", lambda p: cast("OrderManagerProxy", p).stats()) or {}
    q = _ask(sup, "quoter", lambda p: cast("QuoterProxy", p).summary())
    decisions = q["decisions"] if q is not None else {}
    markets: list[MarketView] = []
    for m in st["markets"] if st is not None else []:
        d = decisions.get(m["condition_id"])
        markets.append({
            "condition_id": m["condition_id"], "alias": m["alias"], "up_bid": m["up_bid"],
            "up_ask": m["up_ask"], "inv_up": m["inv_up"], "inv_down": m["inv_down"],
            "ttc_s": m["ttc_s"], "synced": m["synced"], "strike_e8": m["strike_e8"],
            "gate": d.gate.value if d is not None else None,
            "fair_up_pips": d.fair_up_pips if d is not None else None,
            "half_spread_pips": d.half_spread_pips if d is not None else None})
    return {
        "mode": sup.config.mode,
        "feeds": st["feeds"] if st is not None else {}, "lags_ms": _lags(sup),
        "markets": markets, "orders": om,
        "pnl_usd": st["pnl_usd"] if st is not None else None,
        "fills": st["fills"] if st is not None else None,
        "fees_usd": st["fees_usd"] if st is not None else None,
        "rebate_estimate_usd": st["rebate_estimate_usd"] if st is not None else None,
        "collateral": treasury_stats(sup) if collateral else None,
        "kill_switch": bool(st is not None and st["kill_switch"]) or bool(om.get("halted")),
        "actors": {n: r.is_alive() for n, r in sup.actors.refs.items()},
        "mailbox_depth": {n: _depth(r) for n, r in sup.actors.refs.items()},
    }


def treasury_stats(sup: Supervisor) -> TreasuryStats | None:
    """The Treasury's ``collateral`` numbers; None without a live Treasury."""
    return _ask(sup, "treasury", lambda p: cast("TreasuryProxy", p).stats())


def healthy(sup: Supervisor) -> tuple[bool, HealthDetail]:
    """For ``/healthz``: every actor alive and not stopping."""
    dead = [n for n, r in sup.actors.refs.items() if not r.is_alive()]
    stopping = sup.stop_event.is_set()
    return (not dead and not stopping, {"dead_actors": dead, "stopping": stopping})


def emit_gauges(sup: Supervisor, view: StatusView | None = None) -> StatusView:
    """Send the periodic gauges; returns the view it used."""
    m = sup.metrics
    view = view if view is not None else collect(sup, collateral=False)
    if m is None:
        return view
    for name, depth in view["mailbox_depth"].items():
        m.gauge("actors.mailbox_depth", depth, dim=name)
    dims = market_dims(view["markets"])
    gated: Counter[str] = Counter()
    for mk in view["markets"]:
        dim = dims[mk["condition_id"]]
        m.gauge("risk.inventory_shares", mk["inv_up"] - mk["inv_down"], dim=dim)
        m.gauge("risk.position_shares", mk["inv_up"], dim=f"{dim}-up")
        m.gauge("risk.position_shares", mk["inv_down"], dim=f"{dim}-down")
        if mk["fair_up_pips"] is not None:
            m.gauge("quoter.fair_pips", mk["fair_up_pips"], dim=dim)
        if mk["half_spread_pips"] is not None:
            m.gauge("quoter.half_spread_pips", mk["half_spread_pips"], dim=dim)
        gate = mk["gate"]
        if gate is not None and gate != GateReason.NONE.value:
            gated[gate] += 1
    for reason in GateReason:
        if reason is not GateReason.NONE:
            m.gauge("quoter.gated_markets", gated.get(reason.value, 0), dim=reason.value)
    if view["pnl_usd"] is not None:
        m.gauge("risk.pnl_usd", view["pnl_usd"])
    m.gauge("risk.kill_switch", 1 if view["kill_switch"] else 0)
    orders = view["orders"]
    if "open_orders" in orders:
        m.gauge("orders.open", orders["open_orders"])
    return view


def pnl_report(sup: Supervisor) -> PnlReport:
    """PnL marked to the books (resolved markets at their payout), from the State."""
    ref = sup.actors.refs.get("state")
    if ref is None or not ref.is_alive():
        return {}
    try:
        st = cast("StateProxy", ref.proxy()).status().get(timeout=5.0)
    except Exception as exc:
        logger.warning("health: no status from state: %s", exc)
        return {}
    return {"pnl_usd": round(st["pnl_usd"], 6), "pnl_micro": st["pnl_micro"],
            "unmarked_positions": st["pnl_unmarked"], "fills": st["fills"],
            "fees_usd": st["fees_usd"], "rebate_estimate_usd": st["rebate_estimate_usd"],
            "collateral_usd": st["collateral_usd"],
            "inventory": {m["alias"] + ":" + m["condition_id"][:10]:
                          {"up": m["inv_up"], "down": m["inv_down"]}
                          for m in st["markets"]}}


def reconnect_counts(sup: Supervisor) -> dict[str, int]:
    """Reconnects per feed, asked of each feed actor before it stops."""
    out = {}
    for name in ("market_feed", "user_feed", "price_feed"):
        ref = sup.actors.refs.get(name)
        if ref is None or not ref.is_alive():
            continue
        try:
            out[name] = int(cast("FeedProxy", ref.proxy()).stats().get(timeout=2.0)["reconnects"])
        except Exception as exc:
            logger.warning("health: no stats from %s: %s", name, exc)
    return out


def shut_down_orders(sup: Supervisor) -> ShutdownResult:
    """The OrderManager's shutdown (cancel-all at the venue, open orders read back), or the
    last-resort ``venue_cancel_all`` when it is dead or failed."""
    from actors.order_manager import SHUTDOWN_ASK_TIMEOUT_S

    result: ShutdownResult = {}
    om = sup.actors.refs.get("order_manager")
    if om is not None and om.is_alive():
        try:
            done = cast("OrderManagerProxy", om.proxy()).shutdown().get(
                timeout=SHUTDOWN_ASK_TIMEOUT_S)
            result["open_orders_after_shutdown"] = done["open_orders_after_shutdown"]
            result["stats"] = done["stats"]
        except Exception as exc:
            logger.error("supervisor: order manager shutdown failed: %s", exc)
            result["error"] = str(exc)
    if om is None or not om.is_alive() or "error" in result:
        result.update(venue_cancel_all(sup))
    return result


def venue_cancel_all(sup: Supervisor) -> ShutdownResult:
    """Last resort when the OrderManager could not: cancel-all straight from the main thread
    (a dry run has nothing at the venue: its paper orders end with the process)."""
    if sup.dry_run:
        return {"open_orders_after_shutdown": 0, "cancel_all": "none (dry run)"}
    try:
        client = sup.venue.private().client
        client.cancel_all()
        left = client.open_orders()
        return {"open_orders_after_shutdown": len(left), "cancel_all": "supervisor"}
    except Exception as exc:
        logger.error("supervisor: venue cancel-all failed: %s", exc)
        return {"open_orders_after_shutdown": -1, "cancel_all_error": str(exc)}
