"""How the public tape fills our paper orders: prints, a crossing book, and taking.

**Fills from prints.** A print (Up terms: the taker's side, price q, size) reaches our orders
on the makers' side at q or better, and those on the taker's side strictly better than q (a
taker who paid less than our bid shows a seller we would have met first). At exactly our
price, then, only a taker on the other side fills us. The print first fills the public size
ahead of each order (its queue position at its level, plus the public size ahead of our
orders at better levels), then our orders in price and arrival order, up to the print's size
in total, at our own price. On the makers' side the print also takes that public size off our
queue positions; on the taker's side the public orders ahead of us were not touched.

**Fills from a crossing book.** Displayed liquidity strictly through our price (an ask below
our bid; an ask *at* our bid fills nothing: conservative) fills our remaining size at our
price, up to that liquidity, which stays used up (``consumed``) for our other orders.

**Taking.** An order that is not post-only and crosses on arrival takes the displayed
liquidity at or through its price, at each level's price.

Pure code: no clock. Owned by the paper exchange's caller.
"""

from __future__ import annotations

from collections.abc import Iterable

from messages.ids import Side
from trading.paper_book import LevelKey, MarketTape, at_or_better, flip, to_up
from trading.paper_orders import LIVE, RestingOrder

Fill = tuple[RestingOrder, int]
"""One of our orders and the size it fills."""


def by_priority(orders: Iterable[RestingOrder], side: Side) -> list[RestingOrder]:
    """The LIVE orders on ``side`` (Up terms), best price first, then first arrived."""
    sign = -1 if side is Side.BUY else 1
    return sorted((o for o in orders if o.state == LIVE and o.key[0] is side),
                  key=lambda o: (sign * o.key[1], o.live_ms, o.seq))


def print_fills(tape: MarketTape, live: list[RestingOrder], taker_side: Side, price_pips: int,
                budget: int) -> list[Fill]:
    """Our fills from a print at ``price_pips`` (Up terms) whose size, less the liquidity our
    own fills already used, is ``budget``."""
    maker_side = flip(taker_side)
    fills = _share(tape, [o for o in by_priority(live, maker_side)
                          if at_or_better(maker_side, o.key[1], price_pips)],
                   budget, [], consumes_queue=True)
    return _share(tape, [o for o in by_priority(live, taker_side)
                         if o.key[1] != price_pips
                         and at_or_better(taker_side, o.key[1], price_pips)],
                  budget, fills, consumes_queue=False)


def _share(tape: MarketTape, reached: list[RestingOrder], budget: int, fills: list[Fill], *,
           consumes_queue: bool) -> list[Fill]:
    ours = sum(size for _, size in fills)
    better_public = level_public = 0
    level: LevelKey | None = None
    for o in reached:
        if o.key != level:
            better_public += level_public
            level, level_public = o.key, 0
        ahead = tape.ahead(o.id, o.key)
        level_public = max(level_public, min(ahead.value, budget))
        fill = min(o.remaining_micro, max(budget - better_public - ahead.value - ours, 0))
        if consumes_queue:
            ahead.take(budget - better_public)
        if fill > 0:
            fills = [*fills, (o, fill)]
            ours += fill
    return fills


def cross_fills(tape: MarketTape, live: list[RestingOrder]) -> list[Fill]:
    """Our fills from displayed liquidity strictly through our prices (which they consume)."""
    fills: list[Fill] = []
    for side in (Side.BUY, Side.SELL):
        for o in by_priority(live, side):
            want = o.remaining_micro
            for price, avail in tape.liquidity(side, o.key[1], inclusive=False):
                take = min(avail, want)
                tape.consume((flip(side), price), take)
                want -= take
                if want == 0:
                    break
            if want < o.remaining_micro:
                fills.append((o, o.remaining_micro - want))
    return fills


def take_levels(tape: MarketTape, o: RestingOrder) -> list[tuple[int, int]]:
    """What a taking order matches on arrival, as (price on its own token, size), best first;
    the liquidity it takes is consumed."""
    out: list[tuple[int, int]] = []
    side = o.key[0]
    want = o.remaining_micro
    for up_price, avail in tape.liquidity(side, o.key[1], inclusive=True):
        size = min(avail, want)
        if size <= 0:
            break
        tape.consume((flip(side), up_price), size)
        out.append((to_up(o.index, side, up_price)[1], size))
        want -= size
    return out
