"""The price to beat of an up/down window: the Chainlink 60 s TWAP at the window's open.

Up/down markets resolve Up iff the final TWAP is at or above the TWAP at the open (protocol
§4.3). From the TWAP stream (live points and snapshot history alike) the strike of a window
opening at ``start_ms`` is the last point with ``ts <= start_ms``; it is confirmed once a point
with ``ts >= start_ms`` has been seen (nothing earlier can still arrive in order), and a point
exactly at the open is the strike at once. A last point further than ``max_gap_ms`` before the
open is not trusted (the stream had a hole there). Without a confirmed TWAP strike the market's
Gamma ``priceToBeat`` is used when present; otherwise the strike is unknown (None).

Pure code: no threads, no clock. History is bounded per asset by time.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

HISTORY_MS = 600_000
"""How much TWAP history is kept per asset (10 minutes)."""

MAX_GAP_MS = 10_000
"""The largest distance between the open and the last TWAP point before it that still counts."""


class _Series:
    __slots__ = ("prices", "ts")

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.prices: list[int] = []


class Strikes:
    """TWAP history per asset and the strike lookup on it."""

    __slots__ = ("_series", "history_ms", "max_gap_ms")

    def __init__(self, history_ms: int = HISTORY_MS, max_gap_ms: int = MAX_GAP_MS) -> None:
        self.history_ms = history_ms
        self.max_gap_ms = max_gap_ms
        self._series: dict[str, _Series] = {}

    def add(self, asset: str, ts_ms: int, price_e8: int) -> bool:
        """Record one TWAP point; False if it was ignored (non-positive, too old, or a repeat)."""
        if price_e8 <= 0:
            return False
        s = self._series.get(asset)
        if s is None:
            s = self._series[asset] = _Series()
        if not s.ts or ts_ms > s.ts[-1]:
            # The common case: live points arrive in order.
            s.ts.append(ts_ms)
            s.prices.append(price_e8)
        else:
            if ts_ms < s.ts[-1] - self.history_ms:
                return False
            i = bisect_left(s.ts, ts_ms)
            if i < len(s.ts) and s.ts[i] == ts_ms:
                if s.prices[i] == price_e8:
                    return False
                s.prices[i] = price_e8
            else:
                s.ts.insert(i, ts_ms)
                s.prices.insert(i, price_e8)
        self._prune(s)
        return True

    def _prune(self, s: _Series) -> None:
        # Keep the last point before the horizon: it is still the strike of a window that
        # opened after it and before the next point.
        cut = bisect_left(s.ts, s.ts[-1] - self.history_ms) - 1
        if cut > 0:
            del s.ts[:cut]
            del s.prices[:cut]

    def twap_strike(self, asset: str, start_ms: int) -> int | None:
        """The confirmed TWAP strike of a window opening at ``start_ms``, or None."""
        s = self._series.get(asset)
        if s is None or not s.ts or s.ts[-1] < start_ms:
            return None  # not confirmed: a point at or before the open may still come
        i = bisect_right(s.ts, start_ms) - 1
        if i < 0 or start_ms - s.ts[i] > self.max_gap_ms:
            return None
        return s.prices[i]

    def strike(self, asset: str, start_ms: int, price_to_beat_e8: int | None) -> int | None:
        """The TWAP strike when confirmed, else ``price_to_beat_e8`` when positive, else None."""
        k = self.twap_strike(asset, start_ms) if asset else None
        if k is not None:
            return k
        if price_to_beat_e8 is not None and price_to_beat_e8 > 0:
            return price_to_beat_e8
        return None

    def latest_ts_ms(self, asset: str) -> int | None:
        """The newest TWAP point's time for ``asset``, None without any."""
        s = self._series.get(asset)
        return s.ts[-1] if s is not None and s.ts else None

    def drop(self, asset: str) -> None:
        """Forget an asset's history."""
        self._series.pop(asset, None)

    def __len__(self) -> int:
        return sum(len(s.ts) for s in self._series.values())
