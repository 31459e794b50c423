"""Worst-case risk checks on every post, and the kill-switch monitor (design §5).

Worst case means every open order and every in-flight post fills: a BUY post is checked against
the position it would reach if all our BUYs on that token filled, and against the pUSD we would
then have committed. Limits (``RiskLimits``): shares per token, total notional, open orders per
market, shares per order. A post that breaches a size limit is trimmed to the room left (rounded
down to 0.01 share) if that is still at least the market's minimum size, else dropped; one that
breaches the open-order count is dropped. Pure code: the OrderManager owns the state and passes
it in; nothing here reads the clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from messages.ids import MICRO_PER_UNIT, PIPS_PER_UNIT, ConditionId, Side, TokenId
from messages.orders import RejectReason
from messages.quotes import DesiredQuote
from trading.diff import LiveOrder
from trading.params import RiskLimits
from trading.pricing import SIZE_STEP_MICRO

MAX_OPEN_ORDERS = "max_open_orders"
MAX_ORDER_SIZE = "max_order_size"
MAX_POSITION = "max_position"
MAX_NOTIONAL = "max_notional"


def buy_notional_micro(price_pips: int, size_micro: int) -> int:
    """pUSD (micro) a BUY of ``size_micro`` at ``price_pips`` commits, rounded up."""
    return -(-price_pips * size_micro // PIPS_PER_UNIT)


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenExposure:
    """One token: position (confirmed + unconfirmed fills) and open size per side, in micro.

    Open sizes include in-flight posts and orders whose cancel is unconfirmed.
    """

    position_micro: int = 0
    open_buy_micro: int = 0
    open_sell_micro: int = 0


_FLAT = TokenExposure()


@dataclass(frozen=True, slots=True, kw_only=True)
class Exposure:
    """Per-token exposure plus the total notional (micro-pUSD) of positions and open BUYs."""

    tokens: Mapping[TokenId, TokenExposure]
    notional_micro: int

    def token(self, token_id: TokenId) -> TokenExposure:
        """The exposure of one token (flat if we have nothing on it)."""
        return self.tokens.get(token_id, _FLAT)

    @staticmethod
    def build(positions_micro: Mapping[TokenId, int], live: Iterable[LiveOrder],
              in_flight: Iterable[DesiredQuote], position_notional_micro: int = 0) -> Exposure:
        """Exposure from positions, open orders and in-flight posts.

        Args:
            positions_micro: position per token, confirmed plus unconfirmed (MATCHED/MINED)
                fills.
            live: open orders, including those whose cancel is not yet confirmed.
            in_flight: posts sent and not yet acknowledged.
            position_notional_micro: pUSD committed to the positions (their cost).
        """
        pos: dict[TokenId, int] = dict(positions_micro)
        buy: dict[TokenId, int] = {}
        sell: dict[TokenId, int] = {}
        notional = position_notional_micro
        orders = [(o.token_id, o.side, o.price_pips, o.size_micro) for o in live]
        orders += [(q.token_id, q.side, q.price_pips, q.size_micro) for q in in_flight]
        for token_id, side, price, size in orders:
            if side is Side.BUY:
                buy[token_id] = buy.get(token_id, 0) + size
                notional += buy_notional_micro(price, size)
            else:
                sell[token_id] = sell.get(token_id, 0) + size
        tokens = {t: TokenExposure(position_micro=pos.get(t, 0), open_buy_micro=buy.get(t, 0),
                                   open_sell_micro=sell.get(t, 0))
                  for t in sorted(set(pos) | set(buy) | set(sell))}
        return Exposure(tokens=tokens, notional_micro=notional)


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskResult:
    """Posts that may go (some trimmed; ``trimmed`` counts them) and those dropped, with the
    limit that stopped each (``max_open_orders``, ``max_order_size``, ``max_position``,
    ``max_notional``)."""

    accepted: tuple[DesiredQuote, ...]
    trimmed: int
    dropped: tuple[tuple[DesiredQuote, str], ...]


def check_posts(posts: Sequence[DesiredQuote], exposure: Exposure,
                open_orders_per_market: Mapping[ConditionId, int], limits: RiskLimits,
                min_size_of: Mapping[ConditionId, int] | None = None) -> RiskResult:
    """Check ``posts`` in order; each accepted post counts against the ones after it.

    Args:
        posts: the diff's posts.
        exposure: worst-case exposure *without* these posts (see ``Exposure.build``).
        open_orders_per_market: orders that will still be open when these posts land (live,
            unconfirmed cancels and in-flight posts; not the ones whose cancel is confirmed).
        limits: the risk section.
        min_size_of: the market's minimum order size (micro); a trim below it drops the post.
            Missing markets only require a positive size.
    """
    max_pos = limits.max_position_shares * MICRO_PER_UNIT
    max_order = limits.max_order_shares * MICRO_PER_UNIT
    max_notional = limits.max_notional_usd * MICRO_PER_UNIT
    buys: dict[TokenId, int] = {}
    sells: dict[TokenId, int] = {}
    counts: dict[ConditionId, int] = {}
    notional = exposure.notional_micro
    accepted: list[DesiredQuote] = []
    dropped: list[tuple[DesiredQuote, str]] = []
    trimmed = 0
    for q in posts:
        n_open = counts.get(q.condition_id, open_orders_per_market.get(q.condition_id, 0))
        if n_open >= limits.max_open_orders_per_market:
            dropped.append((q, MAX_OPEN_ORDERS))
            continue
        tok = exposure.token(q.token_id)
        rooms = [(max_order, MAX_ORDER_SIZE)]
        if q.side is Side.BUY:
            worst = tok.position_micro + tok.open_buy_micro + buys.get(q.token_id, 0)
            rooms.append((max_pos - worst, MAX_POSITION))
            rooms.append((max(max_notional - notional, 0) * PIPS_PER_UNIT
                          // max(q.price_pips, 1), MAX_NOTIONAL))
        else:
            worst = tok.position_micro - tok.open_sell_micro - sells.get(q.token_id, 0)
            rooms.append((max_pos + worst, MAX_POSITION))
        room, reason = min(rooms, key=lambda r: r[0])
        size = q.size_micro
        if room < size:
            size = (max(room, 0) // SIZE_STEP_MICRO) * SIZE_STEP_MICRO
            min_size = (min_size_of or {}).get(q.condition_id, 0)
            if size <= 0 or size < min_size:
                dropped.append((q, reason))
                continue
            q = DesiredQuote(condition_id=q.condition_id, token_id=q.token_id, side=q.side,
                             price_pips=q.price_pips, size_micro=size)
            trimmed += 1
        accepted.append(q)
        counts[q.condition_id] = n_open + 1
        if q.side is Side.BUY:
            buys[q.token_id] = buys.get(q.token_id, 0) + size
            notional += buy_notional_micro(q.price_pips, size)
        else:
            sells[q.token_id] = sells.get(q.token_id, 0) + size
    return RiskResult(accepted=tuple(accepted), trimmed=trimmed, dropped=tuple(dropped))


class KillSwitchMonitor:
    """Trips (and stays tripped until ``reset``) on a burst of errors or rejects.

    Within the last ``kill_window_s``: at least ``kill_min_posts`` posts with an error rate above
    ``kill_error_rate``, or at least ``kill_max_rejects`` rejects. A post-only cross is not an
    error: a maker expects some quotes to meet a moving book. Risk drops are ours, not the
    venue's: do not record them. ``manual`` trips it at once.

    Not thread-safe: owned by the OrderManager's thread.
    """

    __slots__ = ("_errors", "_limits", "_posts", "_rejects", "_tripped")

    NOT_ERRORS = frozenset({RejectReason.POST_ONLY_CROSS})

    def __init__(self, limits: RiskLimits) -> None:
        self._limits = limits
        self._posts: deque[tuple[int, bool]] = deque()
        self._errors = 0
        self._rejects: deque[int] = deque()
        self._tripped: str | None = None

    def record_post(self, ok: bool, now_ms: int) -> None:
        """One post attempt finished; ``ok=False`` is an error (pass True for a post-only
        cross, or use ``record_result``)."""
        self._posts.append((now_ms, ok))
        if not ok:
            self._errors += 1
        self._check(now_ms)

    def record_reject(self, reason: RejectReason | str, now_ms: int) -> None:
        """The venue refused an order; post-only crosses are not counted."""
        if reason in self.NOT_ERRORS:
            return
        self._rejects.append(now_ms)
        self._check(now_ms)

    def record_result(self, reason: RejectReason | None, now_ms: int) -> None:
        """One post's outcome in a single call: ``None`` accepted, else the reject reason."""
        self.record_post(reason is None or reason in self.NOT_ERRORS, now_ms)
        if reason is not None:
            self.record_reject(reason, now_ms)

    def manual(self, reason: str) -> None:
        """Trip now (operator command, fatal order-manager condition)."""
        if self._tripped is None:
            self._tripped = f"manual: {reason}"

    def reset(self) -> None:
        """Clear the trip and the history (an operator turned quoting back on)."""
        self._tripped = None
        self._posts.clear()
        self._errors = 0
        self._rejects.clear()

    def tripped(self) -> str | None:
        """Why the switch tripped, or None."""
        return self._tripped

    def _check(self, now_ms: int) -> None:
        horizon = now_ms - self._limits.kill_window_s * 1000
        while self._posts and self._posts[0][0] <= horizon:
            if not self._posts.popleft()[1]:
                self._errors -= 1
        while self._rejects and self._rejects[0] <= horizon:
            self._rejects.popleft()
        if self._tripped is not None:
            return
        lim = self._limits
        n = len(self._posts)
        errors = self._errors
        if n >= lim.kill_min_posts and errors > lim.kill_error_rate * n:
            self._tripped = (f"error rate {errors}/{n} posts in {lim.kill_window_s}s "
                             f"> {lim.kill_error_rate:g}")
        elif len(self._rejects) >= lim.kill_max_rejects:
            self._tripped = f"{len(self._rejects)} rejects in {lim.kill_window_s}s"
