"""Deterministic replay: recorded inputs → the same State and Quoter logic → compare decisions.

The State actor logs every input it applies (kind ``in``) in the order it applied them; the
Quoter logs every decision (kind ``quote``: the ``DesiredQuotes`` built from snapshot ``seq``);
the supervisor logs the run's parameters first (kind ``start``). Replay feeds the inputs through
a fresh ``StateModel`` with the recorded receive times as its clock (a virtual clock: nothing
here reads the wall clock for decisions), rebuilds each snapshot the Quoter took, recomputes the
decision and compares it with the recorded one. The OrderManager's decisions are compared by
``trading.order_replay`` when its records are present.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict, TypeVar

from messages import DesiredQuotes
from messages.errors import PolymmError
from trading.order_replay import check_record
from trading.params import OrderParams, QuoteParams, RiskLimits
from trading.quoting import build_desired
from trading.state import StateModel

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from journal import Record

D = TypeVar("D", bound="DataclassInstance")


class StartRecord(TypedDict):
    """The ``start`` record's value: each parameter section as ``dataclasses.asdict`` gives it
    (plain JSON: replay rebuilds the sections with ``_build``), and the owner id."""

    quoter: dict[str, object]
    risk: dict[str, object]
    order_manager: dict[str, object]
    owner: str


def params_record(quoter: QuoteParams, risk: RiskLimits, orders: OrderParams,
                  owner: str) -> StartRecord:
    """The ``start`` record: every parameter a decision depends on (no secrets)."""
    return {"quoter": dataclasses.asdict(quoter), "risk": dataclasses.asdict(risk),
            "order_manager": dataclasses.asdict(orders), "owner": owner}


def _build(cls: type[D], data: Mapping[str, object]) -> D:
    """A ``cls`` from a recorded section; nested sections too, unknown keys ignored."""
    kwargs: dict[str, object] = {}
    hints = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in data.items():
        f = hints.get(key)
        if f is None:
            continue
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
        if (isinstance(value, dict) and dataclasses.is_dataclass(default)
                and not isinstance(default, type)):
            value = _build(type(default), value)
        kwargs[key] = value
    return cls(**kwargs)


@dataclass
class ReplayReport:
    inputs: int = 0
    snapshots: int = 0
    decisions: int = 0
    compared: int = 0
    matched: int = 0
    divergence: str | None = None
    span_s: float = 0.0
    wall_s: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.divergence is None and self.compared == self.decisions

    @property
    def speedup(self) -> float:
        return self.span_s / self.wall_s if self.wall_s > 0 else float("inf")

    def lines(self) -> list[str]:
        out = [f"inputs: {self.inputs}", f"snapshots rebuilt: {self.snapshots}",
               f"decisions recorded: {self.decisions}", f"decisions compared: {self.compared}",
               f"decisions matched: {self.matched}",
               f"log span: {self.span_s:.1f} s, replayed in {self.wall_s:.2f} s "
               f"({self.speedup:.0f}x real time)"]
        out += [f"{k}: {v}" for k, v in self.extra.items()]
        out.append("first divergence: " + (self.divergence or "none"))
        return out


def replay_records(records: Iterable[Record], *, t_from_ns: int | None = None,
                   t_to_ns: int | None = None) -> ReplayReport:
    """Replay journal records (objects with ``kind``, ``ts`` and ``value``)."""
    t0 = time.perf_counter()
    recs = list(records)
    rep = ReplayReport()
    start = next((r for r in recs if r.kind == "start"), None)
    if start is None:
        raise PolymmError("replay: the log has no 'start' record (was it written by polymm run?)")
    params = start.value
    qp = _build(QuoteParams, params["quoter"])
    limits = _build(RiskLimits, params["risk"])
    model = StateModel(owner=params["owner"], vol_halflife_s=qp.vol_halflife_s,
                       vol_floor_per_sqrt_s=qp.vol_floor_per_sqrt_s)

    def in_range(ts: int) -> bool:
        return (t_from_ns is None or ts >= t_from_ns) and (t_to_ns is None or ts <= t_to_ns)

    wanted: dict[int, tuple[Record, DesiredQuotes]] = {}
    for r in recs:
        if r.kind == "quote" and in_range(r.ts_ns):
            wanted[r.value.seq] = (r, r.value)
    rep.decisions = len(wanted)
    if recs:
        rep.span_s = (recs[-1].ts_ns - recs[0].ts_ns) / 1e9
    now_ns = 0
    for r in recs:
        if r.kind != "in":
            continue
        msg = r.value
        rep.inputs += 1
        ts = getattr(msg, "ts_recv_ns", None) or r.ts_ns
        now_ns = max(now_ns, ts)
        changed = model.apply(msg)
        model.take_resync_requests()
        if not changed:
            continue
        snap = model.snapshot(now_ns, ts)
        rep.snapshots += 1
        hit = wanted.get(snap.seq)
        if hit is None:
            continue
        rec, recorded = hit
        mine = build_desired(snap, qp, limits)
        rep.compared += 1
        if mine == recorded:
            rep.matched += 1
        elif rep.divergence is None:
            rep.divergence = _describe(snap.seq, rec, recorded, mine)
    _check_orders(recs, in_range, _build(OrderParams, params["order_manager"]), limits, rep)
    if rep.divergence is None and rep.compared < rep.decisions:
        missing = sorted(set(wanted) - set(range(1, rep.snapshots + 1)))[:5]
        rep.divergence = (f"{rep.decisions - rep.compared} recorded decisions refer to snapshots "
                          f"replay never built (seq {missing} ...)")
    rep.wall_s = time.perf_counter() - t0
    return rep


def _check_orders(recs: list[Record], in_range: Callable[[int], bool], op: OrderParams,
                  limits: RiskLimits, rep: ReplayReport) -> None:
    """Recompute every recorded OrderManager decision (diff and risk) from its inputs."""
    n = matched = 0
    for r in recs:
        if r.kind != "order" or r.value.get("op") not in ("pass", "risk"):
            continue
        if not in_range(r.ts_ns):
            continue
        n += 1
        why = check_record(r.value, op, limits)
        if why is None:
            matched += 1
        elif rep.divergence is None:
            rep.divergence = f"order manager {r.value['op']} at ts {r.ts_ns}: {why}"
    rep.decisions += n
    rep.compared += n
    rep.matched += matched
    rep.extra["order decisions (diff + risk) matched"] = f"{matched}/{n}"


def _describe(seq: int, rec: Record, recorded: DesiredQuotes, mine: DesiredQuotes) -> str:
    def fmt(d: DesiredQuotes) -> str:
        q = [(x.token_id[-6:], x.side.value, x.price_pips, x.size_micro) for x in d.quotes]
        g = [(x.condition_id[:10], x.gate.value) for x in d.decisions]
        return f"quotes={q} gates={g}"

    return (f"snapshot seq {seq} (logged at ts {rec.ts_ns}): recorded {fmt(recorded)}; "
            f"replay {fmt(mine)}")
