"""The ``tick_to_order`` price mover: steps the simulated venue's reference price, out of the
bot's process (see ``bench.mover`` for why a mover runs apart).

Each trigger is a pair of Binance prices ``(high, low)``: ``POST /_sim/price`` sets the
asset's exchange price and the venue broadcasts that one ``price.crypto`` tick on PolyBolt at
once. The venue runs with ``--vol 0``, so between steps its 100 ms ticks repeat the price the
last step set and move nothing. :func:`step_pair` sizes the step so that each one moves the
up/down model's fair value (``trading.strategy_updown``) by :data:`FAIR_STEP`.

Thread ownership: :class:`PriceMover` belongs to the benchmark's main thread; the child runs
:func:`_serve_prices` on its own main thread and owns its HTTP session.
"""

from __future__ import annotations

import math
from multiprocessing.connection import Connection
from statistics import NormalDist

from bench.mover import MoverProcess, serve_cycles

E8 = 100_000_000
FAIR_STEP = 0.04
"""How far each step moves P(Up): four ticks of 0.01, past the order manager's
``reprice_ticks`` (1) on both quotes, so every step forces a replace of both."""


def step_pair(strike_e8: int, tau_s: float, sigma_per_sqrt_s: float, binance_share: float,
              fair_step: float = FAIR_STEP) -> tuple[int, int]:
    """``(high, low)`` Binance prices in 1e-8 USD whose fair values differ by ``fair_step``.

    ``low`` is the strike (P(Up) = 0.5 while the TWAP also sits at it); ``high`` lifts the
    blended reference S (``binance_share`` of it is the Binance price, the rest the TWAP) to
    where P(Up) = Φ(ln(S/K) / (σ√τ)) = 0.5 + ``fair_step``. σ is the model's: the benchmark
    keeps the volatility estimate at its floor, or its own steps would raise it and dull them.
    """
    if strike_e8 <= 0 or tau_s <= 0 or not sigma_per_sqrt_s > 0 or not 0 < binance_share <= 1:
        raise ValueError("step_pair: strike, time to close, sigma and share must be positive")
    z = NormalDist().inv_cdf(0.5 + fair_step)
    s_high = strike_e8 * math.exp(z * sigma_per_sqrt_s * math.sqrt(tau_s))
    return round(strike_e8 + (s_high - strike_e8) / binance_share), strike_e8


def _decimal(e8: int) -> str:
    return f"{e8 // E8}.{e8 % E8:08d}"


def _serve_prices(conn: Connection, base_url: str, asset: str) -> None:
    """Child of :class:`PriceMover`: each trigger ``(high, low)`` sets the price to ``high``,
    then to ``low``."""
    import orjson

    from venue.keepalive import KeepAliveAdapter, new_session

    session = new_session(KeepAliveAdapter(base_url, connect_timeout_s=2.0, timeout_s=5.0))
    url = base_url + "/_sim/price"
    headers = {"Content-Type": "application/json"}

    def step(e8: int) -> None:
        body = orjson.dumps({"asset": asset, "value": _decimal(e8)})
        session.post(url, data=body, headers=headers).raise_for_status()

    try:
        serve_cycles(conn, lambda t: step(t[0]), lambda t: step(t[1]))
    finally:
        session.close()
        conn.close()


class PriceMover(MoverProcess):
    """The price mover of ``asset`` on the venue at ``base_url`` (``run`` takes
    ``(high, low)`` pairs from :func:`step_pair`)."""

    def __init__(self, base_url: str, asset: str) -> None:
        super().__init__(_serve_prices, (base_url, asset), "bench-price-mover")
