"""The public tape of one binary market as the paper exchange reads it.

**One canonical book.** The venue shows every order on both tokens: a BUY on Up at p is also
a SELL on Down at 1 - p (protocol §1, ``price_change``). Everything here is in Up terms, as in
``sim/book.py``: a (side, price) on Down maps to (the other side, 10_000 - price). The size of
a canonical level is the larger of what the two tokens' books show there (they agree when both
are fed; one is enough).

**Levels we watch.** A ``LevelTape`` follows one canonical level that matters to us: one where
our orders wait (each with the public size still ahead of it) or where our own fills used up
displayed liquidity (``consumed``, which stays unavailable to our other orders). Both are
``Capped`` quantities: never more than the level shows.

**Prints and their echoes.** A trade arrives twice: as a ``last_trade_price`` print and as the
size it took off its level in a book message, in either order (the simulated venue sends the
book first). A decrease in the book is taken for a cancel, and a cancel from *behind* our
orders first (conservative: a capped quantity is only cut when the level shrinks below it).
When a print turns up within ``window_ms`` (venue time) of such decreases at its level, they
may have been its echo: the cuts they made are refunded, up to the print's size, before the
print is applied, so its size is never taken twice. A decrease that follows its print cuts
nothing (the print already took the size off). A larger window errs on the side of fewer
fills.

Pure code, no clock: times are the messages' venue times. Owned by the paper exchange's caller.
"""

from __future__ import annotations

from collections import deque

from messages.ids import PIPS_PER_UNIT, Side, TokenId
from messages.market import BookChange, BookSnapshot
from trading.book import Book

LevelKey = tuple[Side, int]
"""A canonical level: (Up side, Up price in pips)."""


def flip(side: Side) -> Side:
    return Side.SELL if side is Side.BUY else Side.BUY


def to_up(index: int, side: Side, price_pips: int) -> LevelKey:
    """A (side, price) on token ``index`` (0 Up, 1 Down) in Up terms (and back: symmetric)."""
    return (side, price_pips) if index == 0 else (flip(side), PIPS_PER_UNIT - price_pips)


def at_or_better(side: Side, price_pips: int, than_pips: int) -> bool:
    """Whether ``price_pips`` is at least as good as ``than_pips`` for an order on ``side``
    (a BUY's "better" is higher)."""
    return price_pips >= than_pips if side is Side.BUY else price_pips <= than_pips


class Capped:
    """A size that never exceeds its level's displayed size; ``cut`` is how much a recent
    unexplained decrease took off it (at venue time ``cut_ms``), refundable to a print."""

    __slots__ = ("cut", "cut_ms", "value")

    def __init__(self, value: int = 0) -> None:
        self.value = value
        self.cut = 0
        self.cut_ms = 0

    def cap(self, size: int, ts_ms: int) -> None:
        if self.value > size:
            self.cut += self.value - size
            self.cut_ms = ts_ms
            self.value = size

    def refund(self, amount: int, ts_ms: int, window_ms: int) -> None:
        if self.cut and abs(ts_ms - self.cut_ms) <= window_ms:
            back = min(self.cut, amount)
            self.value += back
            self.cut -= back

    def take(self, amount: int) -> int:
        """Take up to ``amount`` off the value; returns how much was taken."""
        taken = min(self.value, max(amount, 0))
        self.value -= taken
        return taken


def _match(entries: deque[list[int]], amount: int, ts_ms: int, window_ms: int) -> int:
    """Pair ``amount`` with unpaired ``[ts, size]`` entries within the window (oldest first,
    expired ones dropped); returns the size paired."""
    while entries and ts_ms - entries[0][0] > window_ms:
        entries.popleft()
    paired = 0
    for e in entries:
        if paired >= amount:
            break
        if abs(ts_ms - e[0]) <= window_ms:
            take = min(e[1], amount - paired)
            e[1] -= take
            paired += take
    while entries and entries[0][1] <= 0:
        entries.popleft()
    return paired


class LevelTape:
    """One canonical level we watch: its last displayed size, the public size ahead of each
    of our orders there (by order id), and what our own fills consumed of it."""

    __slots__ = ("ahead", "consumed", "decreases", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.ahead: dict[str, Capped] = {}
        self.consumed = Capped()
        self.decreases: deque[list[int]] = deque()  # [venue ms, size] not yet paired

    def _capped(self) -> list[Capped]:
        return [self.consumed, *self.ahead.values()]

    def on_size(self, size: int, ts_ms: int) -> None:
        """The level now shows ``size``: a decrease is a cancel, or a print's echo."""
        if size < self.size:
            self.decreases.append([ts_ms, self.size - size])
            for q in self._capped():
                q.cap(size, ts_ms)
        self.size = size

    def on_print(self, size: int, ts_ms: int, window_ms: int) -> None:
        """A print of ``size`` hit this level: undo the cuts of decreases that were its echo."""
        paired = _match(self.decreases, size, ts_ms, window_ms)
        if paired:
            for q in self._capped():
                q.refund(paired, ts_ms, window_ms)

    def idle(self, ts_ms: int | None = None, window_ms: int = 0) -> bool:
        """Nothing of ours here, and no recent decrease (as of ``ts_ms``, when given) that a
        print could still pair with."""
        if ts_ms is not None:
            while self.decreases and ts_ms - self.decreases[0][0] > window_ms:
                self.decreases.popleft()
        return not self.ahead and self.consumed.value == 0 and not self.decreases


class MarketTape:
    """Both tokens' books of one market and the levels we watch, in Up terms."""

    __slots__ = ("books", "levels", "recent_prints", "token_ids", "window_ms")

    def __init__(self, token_ids: tuple[TokenId, TokenId], window_ms: int) -> None:
        self.token_ids = token_ids
        self.window_ms = window_ms
        self.books = (Book(token_ids[0]), Book(token_ids[1]))
        self.levels: dict[LevelKey, LevelTape] = {}
        self.recent_prints: deque[tuple[int, int, int, int]] = deque(maxlen=32)

    def index(self, token_id: str) -> int | None:
        if token_id == self.token_ids[0]:
            return 0
        return 1 if token_id == self.token_ids[1] else None

    # -- the books -----------------------------------------------------------------------------

    def apply(self, msg: BookSnapshot | BookChange) -> list[str]:
        """Apply a book message to its token's book, then read the watched levels; returns why
        parts of it were ignored (``unknown_token``, ``stale_book``)."""
        ignored: list[str] = []
        if isinstance(msg, BookSnapshot):
            index = self.index(msg.token_id)
            if index is None:
                return ["unknown_token"]
            if not self.books[index].apply_snapshot(msg):
                return ["stale_book"]
        else:
            for ch in msg.changes:
                index = self.index(ch.token_id)
                if index is None:
                    ignored.append("unknown_token")
                elif not self.books[index].apply_level(ch.side, ch.price_pips, ch.size_micro,
                                                       msg.ts_event_ms):
                    ignored.append("stale_book")
        self.refresh(msg.ts_event_ms)
        return ignored

    def refresh(self, ts_ms: int) -> None:
        """Read every watched level's new size (after book messages); forget idle levels."""
        for key, tape in list(self.levels.items()):
            tape.on_size(self.size_at(key), ts_ms)
            if tape.idle(ts_ms, self.window_ms):
                del self.levels[key]

    def size_at(self, key: LevelKey) -> int:
        side, price = key
        up, down = self.books
        if side is Side.BUY:
            return max(up.bids.get(price, 0), down.asks.get(PIPS_PER_UNIT - price, 0))
        return max(up.asks.get(price, 0), down.bids.get(PIPS_PER_UNIT - price, 0))

    def best(self, side: Side) -> int | None:
        """The canonical best bid (``BUY``) or ask (``SELL``), None when that side is empty."""
        up, down = self.books
        own, other = (up.best_bid(), down.best_ask()) if side is Side.BUY else (
            up.best_ask(), down.best_bid())
        cands = [p for p in (own, None if other is None else PIPS_PER_UNIT - other)
                 if p is not None]
        if not cands:
            return None
        return max(cands) if side is Side.BUY else min(cands)

    def crosses(self, side: Side, price_pips: int) -> bool:
        """Whether an order (Up terms) would cross the book as the venue judges it: a BUY at
        or above the best ask, a SELL at or below the best bid."""
        opposite = self.best(flip(side))
        return opposite is not None and at_or_better(side, price_pips, opposite)

    def liquidity(self, side: Side, price_pips: int, *, inclusive: bool) -> list[tuple[int, int]]:
        """Displayed opposite levels an order (Up terms) on ``side`` at ``price_pips`` could
        take, best first, as (price, size not yet consumed by our fills): strictly through
        the price, or also at it when ``inclusive``."""
        up, down = self.books
        if side is Side.BUY:
            prices = set(up.asks) | {PIPS_PER_UNIT - p for p in down.bids}
        else:
            prices = set(up.bids) | {PIPS_PER_UNIT - p for p in down.asks}
        out: list[tuple[int, int]] = []
        for p in sorted(prices, reverse=side is Side.SELL):
            if p == price_pips and not inclusive:
                break
            if not at_or_better(side, price_pips, p):
                break
            key = (flip(side), p)
            tape = self.levels.get(key)
            avail = self.size_at(key) - (tape.consumed.value if tape else 0)
            if avail > 0:
                out.append((p, avail))
        return out

    # -- the levels we watch -------------------------------------------------------------------

    def tape(self, key: LevelKey) -> LevelTape:
        tape = self.levels.get(key)
        if tape is None:
            tape = self.levels[key] = LevelTape(self.size_at(key))
        return tape

    def join(self, order_id: str, key: LevelKey) -> None:
        """Our order starts waiting at ``key``, behind everything the level shows now."""
        tape = self.tape(key)
        tape.ahead[order_id] = Capped(tape.size)

    def leave(self, order_id: str, key: LevelKey) -> None:
        tape = self.levels.get(key)
        if tape is not None:
            tape.ahead.pop(order_id, None)
            if tape.idle():
                del self.levels[key]

    def ahead(self, order_id: str, key: LevelKey) -> Capped:
        tape = self.levels.get(key)
        q = tape.ahead.get(order_id) if tape else None
        return q if q is not None else Capped()

    def consume(self, key: LevelKey, amount: int) -> None:
        """Our fill used ``amount`` of the displayed size at ``key``."""
        self.tape(key).consumed.value += amount

    def on_print(self, maker_key: LevelKey, size: int, ts_ms: int) -> int:
        """A print of ``size`` against the makers at ``maker_key``: pair it with its echo, and
        return what is left of it once the part of that level our own fills already used is
        taken out (that liquidity cannot fill us twice)."""
        tape = self.levels.get(maker_key)
        if tape is None:
            return size
        tape.on_print(size, ts_ms, self.window_ms)
        left = size - tape.consumed.take(size)
        if tape.idle(ts_ms, self.window_ms):
            del self.levels[maker_key]
        return left

    def echoed_print(self, index: int, ts_ms: int, up_price: int, size: int) -> bool:
        """Whether a print is the other token's report of a match already seen (same venue
        time, canonical price and size); remembers it either way."""
        dup = any(i != index and (t, p, s) == (ts_ms, up_price, size)
                  for i, t, p, s in self.recent_prints)
        self.recent_prints.append((index, ts_ms, up_price, size))
        return dup
