"""The simulated venue's process: wiring, routes on one port, timers, start and stop.

One asyncio loop on 127.0.0.1 serves Gamma, CLOB REST, the market/user/price websockets, the
relayer stand-in (``sim.relayer``, under ``/relayer``) and the admin routes on one port,
and the simulated chain's Polygon JSON-RPC (``sim.chain``) on a second one. Timers: reference
prices (100 ms / 1 s), window calendar (250 ms), noise traders (Poisson), heartbeat expiry,
socket faults (100 ms), tick faults and the load knob.
A late timer skips the ticks it missed; it never bursts. Two middlewares see every request:
the private-request counter (outermost), then the fault injector.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

from sim.account import Access, AccountRoutes
from sim.admin import Admin
from sim.auth import Keys
from sim.chain import ChainRpc
from sim.chain_state import ChainLedger
from sim.clob import Clob
from sim.exchange import Exchange, Lifecycle
from sim.faults import FaultProfile, Faults, load_profile
from sim.gamma import Gamma
from sim.hub import Hub
from sim.load import LoadGenerator
from sim.noise import NoiseTraders
from sim.prices import RefPrices
from sim.relayer import Relayer
from sim.roller import Roller
from sim.stats import Stats
from sim.ws_market import MarketPublisher, market_socket
from sim.ws_prices import PricePublisher, polybolt_socket, rtds_socket
from sim.ws_user import UserRouter, user_socket

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 0
    chain_port: int = 0
    window_seconds: int = 900
    assets: tuple[str, ...] = ("btc", "eth")
    seed: int = 1
    faults: str = "none"
    noise_rate: float = 3.0
    market_rate: float = 0.0
    tick_change_every_s: float = 0.0
    heartbeat_timeout_s: float = 10.0
    mined_delay_s: float = 0.2
    confirmed_delay_s: float = 1.0
    trade_fail_rate: float = 0.0
    vol: float = 2e-4
    windows_ahead: int = 2
    resolution_messages: bool = True
    """Send ``market_resolved`` when a window closes (off: a venue whose resolution message
    never reaches the bot, as when it unsubscribes at the close)."""
    exit_with_parent: bool = False
    """Stop when standard input reaches end-of-file: the parent holds the pipe's other end, so
    the venue dies with it even when the parent is SIGKILLed."""


# Routes a dry run must never touch: each entry covers its path and every path beneath it
# ("/data" covers "/data/order/{id}"; "/order" does not cover "/orders", its own entry). Some are
# the real venue's and not served here: a client that tries them is still counted.
PRIVATE_ROUTES: tuple[str, ...] = (
    "/order", "/orders",                                    # post and cancel orders
    "/cancel-all", "/cancel-market-orders",                 # cancels
    "/data",                                                # our orders and trades (L2)
    "/v1/heartbeats",                                       # the dead-man heartbeat
    "/auth",                                                # API key creation and derivation
    "/ws/user",                                             # the user channel's upgrade
    "/balance-allowance", "/order-scoring", "/orders-scoring",
    "/relayer",                                             # gasless transactions (sim.relayer)
)
# L1 (create/derive keys) and L2 (every private request) headers, matched case-insensitively.
AUTH_HEADERS: tuple[str, ...] = ("POLY_ADDRESS", "POLY_SIGNATURE", "POLY_TIMESTAMP",
                                 "POLY_NONCE", "POLY_API_KEY", "POLY_PASSPHRASE",
                                 "RELAYER_API_KEY")


def private_route(request: web.Request) -> str | None:
    """``"METHOD route"`` if ``request`` is private (a private route, or any auth header),
    else None. The route is the matched resource's pattern, or the raw path if none matched."""
    path = request.path.rstrip("/") or "/"
    listed = any(path == r or path.startswith(r + "/") for r in PRIVATE_ROUTES)
    if not listed and not any(h in request.headers for h in AUTH_HEADERS):
        return None
    resource = request.match_info.route.resource
    return f"{request.method} {resource.canonical if resource is not None else request.path}"


def count_private(stats: Stats) -> Middleware:
    """The outermost middleware: counts each private request in ``stats`` before any fault,
    auth check or handler can refuse it. Runs on the event loop, like ``stats``."""

    @web.middleware
    async def middleware(request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
        route = private_route(request)
        if route is not None:
            stats.private(route)
        return await handler(request)

    return middleware


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _safe(name: str, fn: Callable[[], object]) -> None:
    try:
        fn()
    except Exception:  # a timer must survive a bug in one tick; log it and go on
        logger.exception("sim timer %s failed", name)


async def _every(name: str, period_s: float, fn: Callable[[], object]) -> None:
    loop = asyncio.get_running_loop()
    due = loop.time()
    while True:
        _safe(name, fn)
        due = max(due + period_s, loop.time())  # skip missed ticks, never burst
        await asyncio.sleep(due - loop.time())


class Sim:
    """Everything the venue owns, built on the running loop."""

    def __init__(self, cfg: SimConfig, profile: FaultProfile) -> None:
        self.cfg = cfg
        loop = asyncio.get_running_loop()
        rng = random.Random(cfg.seed)
        self.rng = rng
        self.stats = Stats()
        self.hub = Hub(self.stats)
        self.publisher = MarketPublisher(self.hub, resolutions=cfg.resolution_messages)
        self.ledger = ChainLedger()
        self.access = Access()
        self.exchange = Exchange(
            stats=self.stats, publisher=self.publisher, user=UserRouter(self.hub),
            schedule=loop.call_later,
            lifecycle=Lifecycle(mined_s=cfg.mined_delay_s, confirmed_s=cfg.confirmed_delay_s,
                                fail_rate=cfg.trade_fail_rate),
            rng=random.Random(rng.getrandbits(64)), ledger=self.ledger)
        self.prices = RefPrices(list(cfg.assets), cfg.vol, random.Random(rng.getrandbits(64)),
                                time.time())
        self.price_pub = PricePublisher(self.hub, self.prices)
        self.keys = Keys(cfg.seed, self.stats)
        self.clob = Clob(self.exchange, self.keys, self.stats, time.time, cfg.heartbeat_timeout_s)
        self.noise = NoiseTraders(self.exchange, self.prices, random.Random(rng.getrandbits(64)),
                                  cfg.vol)
        self.roller = Roller(exchange=self.exchange, prices=self.prices, noise=self.noise,
                             seed=cfg.seed, assets=list(cfg.assets),
                             window_s=cfg.window_seconds, ahead=cfg.windows_ahead)
        self.faults = Faults(profile, self.stats, random.Random(rng.getrandbits(64)))
        self.faults.hub = self.hub
        self.admin = Admin(exchange=self.exchange, hub=self.hub, stats=self.stats,
                           faults=self.faults, clock=time.time,
                           rng=random.Random(rng.getrandbits(64)), prices=self.price_pub,
                           ledger=self.ledger, access=self.access,
                           set_clock_skew=lambda s: setattr(self.clob, "time_skew_s", s))
        self.load = LoadGenerator(self.exchange, random.Random(rng.getrandbits(64)))
        self.relayer = Relayer(self.ledger, seed=cfg.seed, schedule=loop.call_later,
                               clock=time.time, mined_s=cfg.mined_delay_s,
                               confirmed_s=cfg.confirmed_delay_s)
        self.tasks: list[asyncio.Task[None]] = []
        self._last_tick_fault = time.time()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[count_private(self.stats), self.faults.middleware],
                              client_max_size=4 * 1024 * 1024)
        app.add_routes(self.clob.routes() + self.keys.routes() + self.admin.routes()
                       + AccountRoutes(self.keys, self.ledger, self.access).routes()
                       + Gamma(self.exchange, self.cfg.seed, time.time).routes()
                       + self.relayer.routes())
        hub, pub, ex, keys = self.hub, self.publisher, self.exchange, self.keys

        async def ws_market(request: web.Request) -> web.StreamResponse:
            return await market_socket(request, hub, pub, ex.by_token, _now_ms)

        async def ws_user(request: web.Request) -> web.StreamResponse:
            return await user_socket(request, hub, keys)

        async def ws_prices(request: web.Request) -> web.StreamResponse:
            return await polybolt_socket(request, hub, self.price_pub, keys, _now_ms)

        async def ws_rtds(request: web.Request) -> web.StreamResponse:
            return await rtds_socket(request, hub)

        app.add_routes([web.get("/ws/market", ws_market), web.get("/ws/user", ws_user),
                        web.get("/ws/prices", ws_prices), web.get("/rtds", ws_rtds)])
        return app

    def _tick_faults(self) -> None:
        every = self.cfg.tick_change_every_s or self.faults.profile.tick.change_every_s
        now = time.time()
        if every > 0 and now - self._last_tick_fault >= every:
            self._last_tick_fault = now
            self.admin.change_random_tick()

    async def _noise(self) -> None:
        while True:
            await asyncio.sleep(min(5.0, self.rng.expovariate(self.cfg.noise_rate)))
            _safe("noise", lambda: self.noise.act(time.time()))

    async def _load(self) -> None:
        loop = asyncio.get_running_loop()
        rate = self.cfg.market_rate
        start, scheduled = loop.time(), 0
        while True:
            await asyncio.sleep(0.005)
            due = int(rate * (loop.time() - start)) - scheduled
            due = min(due, int(rate * 0.05) + 1)  # at most 50 ms worth: no catch-up bursts
            scheduled = int(rate * (loop.time() - start))
            self.load.emit(due, time.time())

    def start(self) -> None:
        self.roller.tick(time.time())
        loop = asyncio.get_running_loop()
        last = [time.time()]

        def prices_fast() -> None:
            now = time.time()
            self.price_pub.exchange(self.prices.step_exchange(now, now - last[0]))
            last[0] = now

        specs: list[tuple[str, float, Callable[[], object]]] = [
            ("prices", 0.1, prices_fast),
            ("chainlink", 1.0, lambda: self.price_pub.chainlink(
                self.prices.step_chainlink(time.time()))),
            ("windows", 0.25, lambda: self.roller.tick(time.time())),
            ("heartbeats", min(1.0, self.cfg.heartbeat_timeout_s / 4),
             self.clob.expire_heartbeats),
            ("socket_faults", 0.1, lambda: self.faults.socket_tick(self.hub)),
            ("tick_faults", 0.5, self._tick_faults),
        ]
        for name, period, fn in specs:
            self.tasks.append(loop.create_task(_every(name, period, fn)))
        if self.cfg.noise_rate > 0:
            self.tasks.append(loop.create_task(self._noise()))
        if self.cfg.market_rate > 0:
            self.tasks.append(loop.create_task(self._load()))

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.hub.close_all()


def _stop_at_stdin_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    fd = sys.stdin.fileno()

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            logger.info("simulated venue: its parent closed standard input; stopping")
            loop.remove_reader(fd)
            stop.set()

    loop.add_reader(fd, readable)


async def serve(cfg: SimConfig) -> int:
    """Run until SIGTERM/SIGINT; prints ``SIM READY http://host:port http://host:chainport``
    (the venue, then its chain's JSON-RPC) once both listen."""
    profile = load_profile(cfg.faults)
    sim = Sim(cfg, profile)
    runner = web.AppRunner(sim.app(), handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, cfg.host, cfg.port, reuse_address=True)
    await site.start()
    port = runner.addresses[0][1]
    chain_runner = web.AppRunner(ChainRpc(sim.ledger).app(), handle_signals=False,
                                 shutdown_timeout=2.0)
    await chain_runner.setup()
    await web.TCPSite(chain_runner, cfg.host, cfg.chain_port, reuse_address=True).start()
    chain_url = f"http://{cfg.host}:{chain_runner.addresses[0][1]}"
    sim.admin.chain_url = chain_url
    sim.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if cfg.exit_with_parent:
        _stop_at_stdin_eof(loop, stop)
    logger.info("simulated venue on %s:%d (assets %s, window %ds, faults %s)", cfg.host, port,
                ",".join(cfg.assets), cfg.window_seconds, profile.name)
    sys.stdout.write(f"SIM READY http://{cfg.host}:{port} {chain_url}\n")
    sys.stdout.flush()
    await stop.wait()
    logger.info("simulated venue stopping")
    await sim.stop()
    await chain_runner.cleanup()
    await runner.cleanup()
    return 0
