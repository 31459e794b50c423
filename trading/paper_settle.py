"""Who won an up/down window, from the reference prices: the paper exchange's settlement.

The venue resolves an up/down window Up iff the Chainlink 60 s TWAP at its close is at or above
the TWAP at its open (protocol §4.3), about a minute after the close, and says so on the market
channel (``market_resolved``). A dry run cannot count on hearing it: once a window closes,
discovery drops the market and the feed unsubscribes from it. So the paper exchange settles
each window itself from the reference prices the bot reads, as the venue would:

* **the final price** is the last point at or before the close (``end_ms``), taken once a point
  at or after the close has been seen (nothing earlier can still arrive in order), from the
  TWAP stream the bot reads (PolyBolt's ``price.crypto.twap`` or RTDS's
  ``crypto_prices_twap_sixty``, per ``price_feed.twap_window_seconds``: a window then waits
  for it), else from the Chainlink spot stream (the nearest stand-in, so a window that closes
  within a few dollars of its strike can settle the other way than the venue's);
* **the strike** is the same lookup at the open (``start_ms``) on the same stream, kept once
  known (history is bounded); without one, the market's Gamma ``priceToBeat``.

A window is settled once: by the reference, or by the venue's own ``MarketResolved`` if that
came first (``resolved``). A window with no asset, or whose final price or strike is unknown
(a hole in the stream longer than ``trading.strikes.MAX_GAP_MS``), waits for the venue's
message. Windows stay known after discovery drops them, until settled or, unsettled
``GIVE_UP_MS`` after their close, forgotten.

Pure: no threads, no clock; owned by the caller's thread (the OrderManager's in a dry run, the
backtest's one thread).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from messages.ids import ConditionId, TokenId
from messages.markets import Market
from messages.prices import PriceSource, PriceUpdate
from trading.paper_ledger import winner_from_reference
from trading.strikes import Strikes

STREAMS = (PriceSource.TWAP, PriceSource.CHAINLINK)
"""The streams a window settles on, the one the venue uses first."""

GIVE_UP_MS = 600_000
"""A window still unsettled this long after its close (a hole in the stream at the close) is
forgotten: only the venue's message can settle it now."""

MAX_AHEAD_MS = 60_000
"""A point stamped further than this after its own receive time is refused: in the stream's
history it would push the close's points out."""

VENUE_TWAP_S = 60
"""The TWAP window the venue settles on; a TWAP point of another window is not used (0: a
point that does not say)."""


@dataclass(frozen=True, slots=True)
class Settled:
    """A window settled from the reference: its winner (index 0 is Up) and that outcome."""

    condition_id: ConditionId
    winning_token_id: TokenId
    winning_outcome: str


@dataclass(slots=True)
class _Window:
    condition_id: ConditionId
    asset: str
    start_ms: int
    end_ms: int
    token_ids: tuple[TokenId, TokenId]
    price_to_beat_e8: int | None
    strikes: dict[PriceSource, int]


class ReferenceSettler:
    """Up/down windows and the reference streams they settle on (module docstring)."""

    __slots__ = ("_series", "_settled", "_windows", "from_reference", "given_up", "refused")

    def __init__(self) -> None:
        self.refused = 0
        """Points refused as stamped too far ahead of their receive time."""
        self.from_reference = 0
        """Windows settled from the reference."""
        self.given_up = 0
        """Windows forgotten unsettled (``GIVE_UP_MS``)."""
        self._series = {source: Strikes() for source in STREAMS}
        self._windows: dict[ConditionId, _Window] = {}
        self._settled: set[ConditionId] = set()

    def set_markets(self, markets: Iterable[Market]) -> None:
        """Learn the windows of ``markets`` (an up/down market with an asset and two tokens);
        the ones already known keep their strikes."""
        for m in markets:
            if (not m.asset or m.end_ms <= m.start_ms or len(m.token_ids) != 2
                    or m.condition_id in self._windows or m.condition_id in self._settled):
                continue
            self._windows[m.condition_id] = _Window(
                condition_id=m.condition_id, asset=m.asset, start_ms=m.start_ms,
                end_ms=m.end_ms, token_ids=(m.token_ids[0], m.token_ids[1]),
                price_to_beat_e8=m.price_to_beat_e8, strikes={})

    def resolved(self, condition_id: ConditionId) -> None:
        """The window is settled (the venue's ``MarketResolved``, or here from the
        reference): never settle it again."""
        self._windows.pop(condition_id, None)
        self._settled.add(condition_id)

    def is_settled(self, condition_id: ConditionId) -> bool:
        """Whether the window was settled (from the reference, or by the venue)."""
        return condition_id in self._settled

    def on_price(self, msg: PriceUpdate) -> list[Settled]:
        """Record a reference point; the windows it settles, with their winners, by close."""
        series = self._series.get(msg.source)
        if series is None or (msg.source is PriceSource.TWAP
                              and msg.window_seconds not in (0, VENUE_TWAP_S)):
            return []  # not a stream the venue settles on
        if msg.ts_event_ms > msg.ts_recv_ns // 1_000_000 + MAX_AHEAD_MS:
            self.refused += 1
            return []
        if not series.add(msg.asset, msg.ts_event_ms, msg.price_e8):
            return []
        out: list[Settled] = []
        for w in sorted(self._windows.values(), key=lambda w: (w.end_ms, w.condition_id)):
            if w.asset != msg.asset:
                continue
            for source, s in self._series.items():
                if source not in w.strikes:
                    k = s.twap_strike(w.asset, w.start_ms)
                    if k is not None:
                        w.strikes[source] = k
            if msg.ts_event_ms < w.end_ms or msg.ts_recv_ns < w.end_ms * 1_000_000:
                continue  # not closed yet (a point stamped ahead does not close it)
            winner = self._winner(w)
            if winner is None and msg.ts_event_ms - w.end_ms > GIVE_UP_MS:
                del self._windows[w.condition_id]
                self.given_up += 1
            elif winner is not None:
                out.append(Settled(condition_id=w.condition_id, winning_token_id=winner,
                                   winning_outcome="Up" if winner == w.token_ids[0] else "Down"))
        for done in out:
            self.resolved(done.condition_id)
        self.from_reference += len(out)
        return out

    def _winner(self, w: _Window) -> TokenId | None:
        for source in STREAMS:
            series = self._series[source]
            if series.latest_ts_ms(w.asset) is None:
                continue  # a stream the bot does not read: the next one stands in
            final = series.twap_strike(w.asset, w.end_ms)
            strike = w.strikes.get(source, w.price_to_beat_e8)
            if final is None or strike is None or strike <= 0:
                return None  # not yet (or never: then the venue's message settles it)
            return winner_from_reference(w.token_ids, final, strike)
        return None

    def pending(self) -> int:
        """Windows known and not yet settled."""
        return len(self._windows)
