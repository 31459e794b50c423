"""Desired quotes against live orders: what to cancel and what to post (design §5).

Rules, per (token, side) level:

* A live order within tolerance of a desired quote keeps its queue place: same token and side,
  ``|price diff| <= reprice_ticks * tick`` and ``|size diff| <= resize_frac * desired size``
  (``size_micro`` of a live order is what remains open, so a mostly filled order gets topped
  up by cancel/replace). Each live order satisfies at most one desired quote; among several
  candidates the closest in price, then size, then the oldest wins.
* A desired quote that a live order or an in-flight post (sent, not yet acknowledged; same
  tolerance) satisfies is not posted again.
* Live orders of managed markets that satisfy no desired quote are canceled; live orders of
  markets not in ``managed`` (expired, removed) are canceled too.
* A live order whose cancel is unconfirmed (``pending_cancels``) is neither canceled again nor
  counted as resting. By default its level gets no post until the cancel is confirmed: posting
  first could leave both orders resting. With ``post_behind_cancels`` (the OrderManager's
  pipelined replace, ``order_manager.pipeline_replace``) the level is posted at once, because
  the caller counts the canceling order in its worst-case exposure, except a post that could
  trade against one of our canceling orders (``crosses``): that one waits for the cancel.

Cancels are sent before posts (``DiffResult`` keeps them apart) in batches of at most 15
(``batches``). Output is sorted, so the same inputs always give the same calls.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from messages.ids import PIPS_PER_UNIT, ConditionId, OrderHash, Side, TokenId
from messages.quotes import DesiredQuote
from trading.params import OrderParams

T = TypeVar("T")

Level = tuple[TokenId, Side]


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveOrder:
    """One of our orders resting at the venue (as the OrderManager tracks it).

    ``size_micro`` is the remaining open size; ``placed_ms`` the decision clock when it was
    acknowledged.
    """

    order_id: OrderHash
    condition_id: ConditionId
    token_id: TokenId
    side: Side
    price_pips: int
    size_micro: int
    placed_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffResult:
    """What to do, cancels first. ``kept`` orders matched a desired quote; ``waiting`` desired
    quotes wait for an unconfirmed cancel on their level (both for metrics)."""

    cancels: tuple[OrderHash, ...]
    posts: tuple[DesiredQuote, ...]
    kept: int = 0
    waiting: int = 0


def _quote_key(q: DesiredQuote) -> tuple[str, str, str, int, int]:
    return (q.condition_id, q.token_id, q.side.value, q.price_pips, q.size_micro)


def within_tolerance(price_pips: int, size_micro: int, want: DesiredQuote, tick_pips: int,
                     params: OrderParams) -> bool:
    """Whether an order at ``price_pips``/``size_micro`` is close enough to ``want`` to keep.

    ``tick_pips`` 0 (unknown tick) makes the price tolerance exact.
    """
    return (abs(price_pips - want.price_pips) <= params.reprice_ticks * tick_pips
            and abs(size_micro - want.size_micro) <= params.resize_frac * want.size_micro)


def _pair(wants: list[DesiredQuote], pool: Sequence[LiveOrder | DesiredQuote], tick: int,
          params: OrderParams) -> tuple[list[DesiredQuote], set[int]]:
    """Match ``wants`` to ``pool`` one-to-one, closest pairs first (so an exact match is never
    taken by a neighbour); returns the unmatched wants and the indices of matched pool items."""
    pairs: list[tuple[int, int, int, str, int, int]] = []
    for wi, w in enumerate(wants):
        for pi, o in enumerate(pool):
            if within_tolerance(o.price_pips, o.size_micro, w, tick, params):
                placed, oid = (o.placed_ms, o.order_id) if isinstance(o, LiveOrder) else (0, "")
                pairs.append((abs(o.price_pips - w.price_pips), abs(o.size_micro - w.size_micro),
                              placed, oid, wi, pi))
    pairs.sort()
    done_w: set[int] = set()
    done_p: set[int] = set()
    for *_, wi, pi in pairs:
        if wi not in done_w and pi not in done_p:
            done_w.add(wi)
            done_p.add(pi)
    return [w for i, w in enumerate(wants) if i not in done_w], done_p


def crosses(q: DesiredQuote, o: LiveOrder) -> bool:
    """Whether posting ``q`` could trade against our own order ``o`` (same market).

    Same token: a BUY at or above a SELL. The other outcome of a binary market: two BUYs whose
    prices add up to one unit or more (the venue mints a pair), two SELLs adding up to one unit
    or less (it merges them).
    """
    if q.condition_id != o.condition_id:
        return False
    if q.token_id == o.token_id:
        if q.side is o.side:
            return False
        buy, sell = (q.price_pips, o.price_pips) if q.side is Side.BUY else (o.price_pips,
                                                                           q.price_pips)
        return buy >= sell
    if q.side is not o.side:
        return False
    total = q.price_pips + o.price_pips
    return total >= PIPS_PER_UNIT if q.side is Side.BUY else total <= PIPS_PER_UNIT


def diff_orders(desired: Sequence[DesiredQuote], live: Sequence[LiveOrder],
                pending_cancels: Collection[OrderHash], in_flight_posts: Sequence[DesiredQuote],
                params: OrderParams, managed: Collection[ConditionId],
                tick_of: Mapping[TokenId, int], *,
                post_behind_cancels: bool = False) -> DiffResult:
    """Cancels and posts that turn ``live`` (+ in-flight posts) into ``desired``.

    Args:
        desired: the complete target for the ``managed`` markets.
        live: our resting orders, including those whose cancel is still unconfirmed.
        pending_cancels: ids of orders whose cancel was sent but not confirmed.
        in_flight_posts: posts sent but not yet acknowledged (they are not in ``live``).
        params: the tolerances.
        managed: markets the desired quotes cover (``DesiredQuotes.decisions``).
        tick_of: the live tick per token (a missing token means an exact price match).
        post_behind_cancels: post on a level whose cancel is unconfirmed (see the module
            docstring); posts that ``crosses`` a canceling order still wait.
    """
    pending = set(pending_cancels)
    managed_set = set(managed)
    cancels: list[OrderHash] = []
    blocked: set[Level] = set()
    canceling: list[LiveOrder] = []
    resting: dict[Level, list[LiveOrder]] = {}
    for o in sorted(live, key=lambda o: o.order_id):
        level = (o.token_id, o.side)
        if o.order_id in pending:
            if post_behind_cancels:
                canceling.append(o)
            else:
                blocked.add(level)
        elif o.condition_id not in managed_set:
            cancels.append(o.order_id)
        else:
            resting.setdefault(level, []).append(o)
    flying: dict[Level, list[DesiredQuote]] = {}
    for q in in_flight_posts:
        flying.setdefault((q.token_id, q.side), []).append(q)

    wanted: dict[Level, list[DesiredQuote]] = {}
    for want in sorted(desired, key=_quote_key):
        wanted.setdefault((want.token_id, want.side), []).append(want)
    posts: list[DesiredQuote] = []
    kept = 0
    waiting = 0
    for level, wants in wanted.items():
        tick = tick_of.get(level[0], 0)
        pool = resting.get(level, [])
        wants, matched = _pair(wants, pool, tick, params)
        kept += len(matched)
        resting[level] = [o for i, o in enumerate(pool) if i not in matched]
        wants, _ = _pair(wants, flying.get(level, []), tick, params)
        if level in blocked:
            waiting += len(wants)
            continue
        for w in wants:
            if any(crosses(w, o) for o in canceling):
                waiting += 1
            else:
                posts.append(w)
    posts.sort(key=_quote_key)
    for pool in resting.values():
        cancels.extend(o.order_id for o in pool)
    return DiffResult(cancels=tuple(sorted(cancels)), posts=tuple(posts), kept=kept,
                      waiting=waiting)


def batches(items: Sequence[T], size: int = 15) -> list[tuple[T, ...]]:
    """``items`` in order, chunked into tuples of at most ``size`` (the venue's batch limit)."""
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    return [tuple(items[i:i + size]) for i in range(0, len(items), size)]
