"""Reference prices of one asset and the EWMA volatility of its stream, per √second.

Each new price gives a log-return r over dt seconds; r²/dt is one sample of the variance per
second, and it is blended in with weight 1 − 2^(−dt / half-life), so the estimate's memory is
measured in time, not in ticks: a burst of ticks does not wash out the past any faster than
the same move in one tick would. Floats are allowed here: this feeds the pricing model only.

``RefPrices`` keeps the latest Binance, Chainlink and TWAP price of one asset and feeds the
volatility from the best stream the asset has shown (Binance, else Chainlink, else TWAP).

Pure code: no threads, no clock (time comes in with each price).
"""

from __future__ import annotations

import math

from messages.prices import PriceSource
from messages.quotes import RefView

STREAMS = (PriceSource.BINANCE, PriceSource.CHAINLINK, PriceSource.TWAP)
"""The reference streams, in order of preference for the volatility estimate."""
_RANK = {src: i for i, src in enumerate(STREAMS)}


class EwmaVol:
    """σ per √s of a price stream, never below ``floor_per_sqrt_s``.

    ``samples`` counts the returns folded in; before the first, σ is the floor.
    """

    __slots__ = ("_halflife_s", "_last_e8", "_last_ts_ms", "_var", "floor_per_sqrt_s",
                 "samples")

    def __init__(self, halflife_s: float, floor_per_sqrt_s: float) -> None:
        if not halflife_s > 0.0:
            raise ValueError(f"vol half-life must be > 0 s, got {halflife_s}")
        if not floor_per_sqrt_s >= 0.0:
            raise ValueError(f"vol floor must be >= 0, got {floor_per_sqrt_s}")
        self._halflife_s = float(halflife_s)
        self.floor_per_sqrt_s = float(floor_per_sqrt_s)
        self._var: float | None = None
        self._last_e8 = 0
        self._last_ts_ms = 0
        self.samples = 0

    def update(self, price_e8: int, ts_ms: int) -> None:
        """Fold in a price at venue time ``ts_ms``.

        Non-positive prices and timestamps not after the last accepted one are ignored (a
        replayed snapshot point or an out-of-order tick is not a return).
        """
        if price_e8 <= 0:
            return
        if self._last_e8 <= 0:
            self._last_e8, self._last_ts_ms = price_e8, ts_ms
            return
        if ts_ms <= self._last_ts_ms:
            return
        dt_s = (ts_ms - self._last_ts_ms) / 1000.0
        r = math.log(price_e8 / self._last_e8)
        sample = r * r / dt_s
        if self._var is None:
            self._var = sample
        else:
            w = 1.0 - math.exp2(-dt_s / self._halflife_s)
            self._var += w * (sample - self._var)
        self._last_e8, self._last_ts_ms = price_e8, ts_ms
        self.samples += 1

    def rebase(self) -> None:
        """Forget the last price (keep the estimate): the next price starts a new series.

        Used when the stream feeding the estimate changes, so the jump between two different
        series is not taken for a return.
        """
        self._last_e8 = 0

    def variance_per_s(self) -> float:
        """The raw estimate (0.0 before any sample), without the floor."""
        return 0.0 if self._var is None else self._var

    def sigma_per_sqrt_s(self) -> float:
        """σ per √second, at least the floor."""
        if self._var is None:
            return self.floor_per_sqrt_s
        return max(math.sqrt(self._var), self.floor_per_sqrt_s)

    def __repr__(self) -> str:
        return f"EwmaVol(sigma={self.sigma_per_sqrt_s():.3g}/√s, samples={self.samples})"


class RefPrices:
    """The latest price per reference stream of one asset, and its volatility.

    A price older (by venue time) than the stream's latest is not taken as the latest, but
    can still be a volatility sample. ``view`` is the cached ``RefView``, rebuilt by
    ``build_view`` only when ``dirty``.
    """

    __slots__ = ("asset", "dirty", "price_e8", "recv_ns", "ts_ms", "view", "vol", "vol_rank")

    def __init__(self, asset: str, vol: EwmaVol) -> None:
        self.asset = asset
        self.price_e8 = [0, 0, 0]  # indexed like STREAMS
        self.ts_ms = [-1, -1, -1]
        self.recv_ns = [0, 0, 0]
        self.vol = vol
        self.vol_rank = len(STREAMS)
        self.dirty = True
        self.view: RefView | None = None

    def apply(self, source: PriceSource, price_e8: int, ts_ms: int, recv_ns: int) -> bool:
        """Take one tick; True if the view changed. Unknown sources and non-positive prices
        change nothing."""
        rank = _RANK.get(source)
        if rank is None or price_e8 <= 0:
            return False
        changed = False
        if ts_ms >= self.ts_ms[rank]:
            self.price_e8[rank] = price_e8
            self.ts_ms[rank] = ts_ms
            self.recv_ns[rank] = recv_ns
            changed = True
        if rank <= self.vol_rank:
            if rank < self.vol_rank:
                self.vol_rank = rank
                self.vol.rebase()  # a different series: its first price is not a return
            samples = self.vol.samples
            self.vol.update(price_e8, ts_ms)
            changed |= self.vol.samples != samples
        if changed:
            self.dirty = True
        return changed

    def build_view(self) -> RefView:
        """The current view (cached until the next change)."""
        if self.view is None or self.dirty:
            p, r = self.price_e8, self.recv_ns
            self.view = RefView(asset=self.asset, binance_e8=p[0], binance_recv_ns=r[0],
                                chainlink_e8=p[1], chainlink_recv_ns=r[1], twap_e8=p[2],
                                twap_recv_ns=r[2], sigma_per_sqrt_s=self.vol.sigma_per_sqrt_s())
            self.dirty = False
        return self.view
