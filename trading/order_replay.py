"""Recording and re-checking the OrderManager's decisions.

Each decision the OrderManager takes is a pure function of state it holds: the diff
(``diff_orders``: desired quotes, live orders, pending cancels, in-flight posts, managed markets,
ticks → cancels and posts) and the risk check (``check_posts``: posts, positions, open orders →
accepted and dropped). The OrderManager records each such call's inputs and outputs as a
``pass``/``risk`` record; replay calls the same pure functions on the recorded inputs and
compares the outputs. (Rate budgets and back-offs only defer sending; they are recorded as such.)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from messages import ConditionId, DesiredQuote, OrderHash, Side, TokenId
from trading.diff import DiffResult, LiveOrder, diff_orders
from trading.params import OrderParams, RiskLimits
from trading.risk import Exposure, RiskResult, check_posts


def _q(q: DesiredQuote) -> list[Any]:
    return [q.condition_id, q.token_id, q.side.value, q.price_pips, q.size_micro]


def _unq(v: Sequence[Any]) -> DesiredQuote:
    return DesiredQuote(condition_id=ConditionId(v[0]), token_id=TokenId(v[1]), side=Side(v[2]),
                        price_pips=int(v[3]), size_micro=int(v[4]))


def _o(o: LiveOrder) -> list[Any]:
    return [o.order_id, o.condition_id, o.token_id, o.side.value, o.price_pips, o.size_micro,
            o.placed_ms]


def _uno(v: Sequence[Any]) -> LiveOrder:
    return LiveOrder(order_id=OrderHash(v[0]), condition_id=ConditionId(v[1]),
                     token_id=TokenId(v[2]), side=Side(v[3]), price_pips=int(v[4]),
                     size_micro=int(v[5]), placed_ms=int(v[6]))


def diff_record(seq: int, quotes: Sequence[DesiredQuote], live: Sequence[LiveOrder],
                pending: Collection[OrderHash], in_flight: Sequence[DesiredQuote],
                managed: Collection[ConditionId], ticks: Mapping[TokenId, int],
                result: DiffResult, *, post_behind: bool = False) -> dict[str, Any]:
    """The ``pass`` record of one ``diff_orders`` call (only the ticks it can use).
    ``post_behind`` (its ``post_behind_cancels``) is recorded only when set."""
    tokens = {q.token_id for q in quotes} | {o.token_id for o in live}
    extra: dict[str, Any] = {"post_behind": True} if post_behind else {}
    return {"op": "pass", **extra, "seq": seq, "quotes": [_q(q) for q in quotes],
            "live": [_o(o) for o in live], "pending": sorted(pending),
            "in_flight": [_q(q) for q in in_flight], "managed": sorted(managed),
            "ticks": {t: ticks[t] for t in sorted(tokens) if t in ticks},
            "cancels": list(result.cancels), "posts": [_q(q) for q in result.posts]}


def risk_record(posts: Sequence[DesiredQuote], positions: Mapping[TokenId, int],
                position_cost_micro: int, live: Sequence[LiveOrder],
                in_flight: Sequence[DesiredQuote], open_per_market: Mapping[ConditionId, int],
                min_sizes: Mapping[ConditionId, int], result: RiskResult) -> dict[str, Any]:
    """The ``risk`` record of one ``check_posts`` call."""
    return {"op": "risk", "posts": [_q(q) for q in posts], "positions": dict(positions),
            "position_cost_micro": position_cost_micro,
            "live": [_o(o) for o in live], "in_flight": [_q(q) for q in in_flight],
            "open_per_market": dict(open_per_market), "min_sizes": dict(min_sizes),
            "accepted": [_q(q) for q in result.accepted],
            "dropped": [[_q(q), why] for q, why in result.dropped]}


def check_record(rec: Mapping[str, Any], params: OrderParams,
                 limits: RiskLimits) -> str | None:
    """Recompute a ``pass`` or ``risk`` record; None when the outputs match, else why not."""
    if rec["op"] == "pass":
        got = diff_orders([_unq(v) for v in rec["quotes"]], [_uno(v) for v in rec["live"]],
                          {OrderHash(h) for h in rec["pending"]},
                          [_unq(v) for v in rec["in_flight"]], params,
                          {ConditionId(c) for c in rec["managed"]},
                          {TokenId(k): int(v) for k, v in rec["ticks"].items()},
                          post_behind_cancels=bool(rec.get("post_behind", False)))
        mine = {"cancels": list(got.cancels), "posts": [_q(q) for q in got.posts]}
        want = {"cancels": rec["cancels"], "posts": rec["posts"]}
    elif rec["op"] == "risk":
        live = [_uno(v) for v in rec["live"]]
        in_flight = [_unq(v) for v in rec["in_flight"]]
        exposure = Exposure.build({TokenId(k): int(v) for k, v in rec["positions"].items()},
                                  live, in_flight, int(rec["position_cost_micro"]))
        res = check_posts([_unq(v) for v in rec["posts"]], exposure,
                          {ConditionId(k): int(v) for k, v in rec["open_per_market"].items()},
                          limits, {ConditionId(k): int(v) for k, v in rec["min_sizes"].items()})
        mine = {"accepted": [_q(q) for q in res.accepted],
                "dropped": [[_q(q), why] for q, why in res.dropped]}
        want = {"accepted": rec["accepted"], "dropped": rec["dropped"]}
    else:
        return None
    return None if mine == want else f"recorded {want}; replay {mine}"
