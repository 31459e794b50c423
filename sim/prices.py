"""Reference prices: a seeded GBM path per asset, a Chainlink-style 1 s price and its 60 s TWAP.

The exchange price moves every 100 ms, or at once when the admin route sets it (``set_spot``);
the Chainlink price samples it once a second (with small deviation and occasional missing
rounds); the TWAP is the mean of the Chainlink rounds of the last 60 s. Prices are kept as
integers in 1e-8 USD. Owned by the simulator's event loop.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field

E8 = 100_000_000
START_PRICES = {"btc": 100_000.0, "eth": 3_500.0, "sol": 150.0, "xrp": 2.5, "doge": 0.2,
                "bnb": 650.0, "hype": 40.0}
HISTORY_MS = 120_000
TWAP_MS = 60_000


@dataclass(slots=True)
class AssetPrices:
    asset: str
    price: float
    exchange: deque[tuple[int, int]] = field(default_factory=deque)  # (ts_ms, e8)
    chainlink: deque[tuple[int, int]] = field(default_factory=deque)
    twap: deque[tuple[int, int]] = field(default_factory=deque)

    def last_twap_e8(self) -> int:
        return self.twap[-1][1] if self.twap else round(self.price * E8)


def _trim(d: deque[tuple[int, int]], now_ms: int, keep_ms: int) -> None:
    while d and d[0][0] < now_ms - keep_ms:
        d.popleft()


class RefPrices:
    """All assets' price paths. ``vol`` is the per-√second log volatility."""

    def __init__(self, assets: list[str], vol: float, rng: random.Random, now: float,
                 gap_rate: float = 0.03) -> None:
        self.vol = vol
        self.rng = rng
        self.gap_rate = gap_rate
        self.assets = {a: AssetPrices(asset=a, price=START_PRICES.get(a, 100.0)) for a in assets}
        # Pre-fill a minute of Chainlink rounds so the TWAP (and snapshots) exist at start-up.
        now_s = int(now)
        for ap in self.assets.values():
            for back in range(60, 0, -1):
                ts_ms = (now_s - back) * 1000
                e8 = round(ap.price * E8)
                ap.chainlink.append((ts_ms, e8))
                ap.twap.append((ts_ms, e8))

    def step_exchange(self, now: float, dt: float) -> list[tuple[str, int, int]]:
        """Advance every path by ``dt`` seconds; returns (asset, ts_ms, e8) per asset."""
        now_ms = int(now * 1000)
        sigma = self.vol * math.sqrt(dt)
        out = []
        for ap in self.assets.values():
            ap.price *= math.exp(sigma * self.rng.gauss(0.0, 1.0) - sigma * sigma / 2)
            e8 = round(ap.price * E8)
            ap.exchange.append((now_ms, e8))
            _trim(ap.exchange, now_ms, HISTORY_MS)
            out.append((ap.asset, now_ms, e8))
        return out

    def set_spot(self, asset: str, e8: int, now: float) -> tuple[str, int, int]:
        """Move ``asset``'s exchange price to ``e8`` at once (the admin route's step); the path
        goes on from there. Returns (asset, ts_ms, e8) like one entry of ``step_exchange``.

        Raises:
            KeyError: ``asset`` has no price path.
            ValueError: ``e8`` is not positive.
        """
        if e8 <= 0:
            raise ValueError(f"a price must be positive, got {e8} e-8")
        ap = self.assets[asset]
        now_ms = int(now * 1000)
        ap.price = e8 / E8
        ap.exchange.append((now_ms, e8))
        _trim(ap.exchange, now_ms, HISTORY_MS)
        return asset, now_ms, e8

    def step_chainlink(self, now: float) -> list[tuple[str, int, int, int]]:
        """One Chainlink round per asset (some skipped): (asset, ts_ms, price e8, twap e8)."""
        now_ms = int(now) * 1000
        out = []
        for ap in self.assets.values():
            if self.rng.random() < self.gap_rate:
                continue  # a missed round: the TWAP and subscribers see a gap
            e8 = round(ap.price * (1 + self.rng.gauss(0.0, 2e-5)) * E8)
            ap.chainlink.append((now_ms, e8))
            _trim(ap.chainlink, now_ms, HISTORY_MS)
            window = [v for t, v in ap.chainlink if t > now_ms - TWAP_MS]
            twap = sum(window) // len(window)
            ap.twap.append((now_ms, twap))
            _trim(ap.twap, now_ms, HISTORY_MS)
            out.append((ap.asset, now_ms, e8, twap))
        return out

    def twap_e8(self, asset: str) -> int:
        return self.assets[asset].last_twap_e8()

    def spot(self, asset: str) -> float:
        return self.assets[asset].price
