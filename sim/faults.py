"""Fault injection: profiles (``conf/faults/*.yaml`` or inline dicts), the REST middleware and
the socket-fault loop. Every injected fault is counted in ``Stats.faults`` by kind.

Rates: ``*_rate`` is a probability per REST request; ``*_per_min`` an expected count per minute
across all eligible sockets (>= 600 fires on every 100 ms check). Owned by the event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml
from aiohttp import web

from messages.errors import ConfigError
from sim.hub import CHANNELS, Hub
from sim.stats import Stats

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PROFILE_DIR = Path(__file__).resolve().parent.parent / "conf" / "faults"
PUBLIC_PREFIXES = ("/gamma", "/_sim", "/ws", "/rtds")
ORDER_POSTS = ("/order", "/orders")
CANCEL_PATHS = ("/order", "/orders", "/cancel-all", "/cancel-market-orders")
WS_CHANNELS = {"/ws/market": "market", "/ws/user": "user", "/ws/prices": "prices",
               "/rtds": "rtds"}
POST, CANCEL = "post", "cancel"
POST_ONLY_MSG = "post-only mode: only post-only orders and cancels are allowed"


@dataclass(frozen=True, slots=True, kw_only=True)
class SocketFaults:
    channels: tuple[str, ...] = CHANNELS
    drop_per_min: float = 0.0
    freeze_per_min: float = 0.0
    freeze_s: float = 5.0
    malformed_per_min: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RestFaults:
    too_early_rate: float = 0.0
    rate_limited_rate: float = 0.0
    retry_after_s: int = 1
    server_error_rate: float = 0.0
    post_only_mode_rate: float = 0.0
    post_only_retry_after_s: int = 5
    delay_rate: float = 0.0
    delay_ms: int = 200
    post_timeout_rate: float = 0.0
    post_timeout_s: float = 15.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TickFaults:
    change_every_s: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultProfile:
    name: str = "none"
    sockets: SocketFaults = SocketFaults()
    rest: RestFaults = RestFaults()
    tick: TickFaults = TickFaults()


def _section(cls: type, path: str, raw: object, errors: list[str]) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        errors.append(f"{path}: expected a mapping")
        return cls()
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            errors.append(f"{path}.{key}: unknown key (known: {', '.join(sorted(fields))})")
            continue
        default = getattr(cls(), key)
        if isinstance(default, tuple):
            bad = [c for c in value or () if c not in CHANNELS]
            if bad:
                errors.append(f"{path}.{key}: unknown channel(s) {bad}")
            kwargs[key] = tuple(value or ())
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            errors.append(f"{path}.{key}: expected a number >= 0, got {value!r}")
        else:
            kwargs[key] = type(default)(value)
    return cls(**kwargs)


def parse_profile(raw: object, name: str = "inline") -> FaultProfile:
    """A profile from a mapping; ConfigError lists every problem by path."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError([f"faults.{name}: expected a mapping"])
    errors: list[str] = []
    unknown = set(raw) - {"name", "sockets", "rest", "tick"}
    errors += [f"faults.{k}: unknown key" for k in sorted(unknown)]
    profile = FaultProfile(
        name=str(raw.get("name", name)),
        sockets=_section(SocketFaults, "faults.sockets", raw.get("sockets"), errors),
        rest=_section(RestFaults, "faults.rest", raw.get("rest"), errors),
        tick=_section(TickFaults, "faults.tick", raw.get("tick"), errors))
    if errors:
        raise ConfigError(errors)
    return profile


def load_profile(name_or_path: str) -> FaultProfile:
    """``chaos`` (``conf/faults/chaos.yaml``) or a path to a YAML file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILE_DIR / f"{name_or_path}.yaml"
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError([f"faults: cannot read profile {name_or_path!r}: {exc.strerror}"]
                          ) from exc
    return parse_profile(raw, path.stem)


def _json(status: int, body: dict[str, object], retry_after: int | None = None
          ) -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.Response(status=status, text=orjson.dumps(body).decode(),
                        content_type="application/json", headers=headers)


def op_class(method: str, path: str) -> str:
    """``post`` (order posts), ``cancel`` (every cancel route) or ``other``."""
    if method == "POST" and path in ORDER_POSTS:
        return POST
    if method == "DELETE" and path in CANCEL_PATHS:
        return CANCEL
    return "other"


class Faults:
    """The active profile and the code that applies it.

    Besides injecting faults it checks that clients honour them: a 425, 429 or post-only 503
    with a wait opens a Retry-After window for the API key and the operations the refusal
    covers (425: posts and cancels; 429: the operation refused; post-only: posts); a request
    of a covered operation from that key inside the window is counted in
    ``Stats.retry_after_violations``. A refused websocket channel (``Hub.refuse``) answers
    upgrades with 503 until its outage ends.
    """

    def __init__(self, profile: FaultProfile, stats: Stats, rng: random.Random,
                 clock: Callable[[], float] | None = None) -> None:
        self.profile = profile
        self.stats = stats
        self.rng = rng
        self.hub: Hub | None = None
        self._clock = clock or asyncio.get_running_loop().time
        self._windows: dict[tuple[str, str], float] = {}

    def _open_window(self, key: str, ops: tuple[str, ...], wait_s: float) -> None:
        if not key or wait_s <= 0:
            return
        until = self._clock() + wait_s
        for op in ops:
            self.stats.retry_after_windows[op] += 1
            self._windows[(key, op)] = max(self._windows.get((key, op), 0.0), until)

    def _check_window(self, key: str, op: str) -> None:
        until = self._windows.get((key, op))
        if until is None:
            return
        if self._clock() < until:
            self.stats.retry_after_violations[op] += 1
            logger.warning("client %s sent a %s %.3f s inside a Retry-After window", key[:8],
                           op, until - self._clock())
        else:
            del self._windows[(key, op)]

    def set(self, profile: FaultProfile) -> None:
        logger.info("fault profile: %s", profile.name)
        self.profile = profile

    def _hit(self, rate: float, kind: str) -> bool:
        if rate > 0 and self.rng.random() < rate:
            self.stats.faults[kind] += 1
            return True
        return False

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(PUBLIC_PREFIXES):
            channel = WS_CHANNELS.get(request.path)
            if channel is not None and self.hub is not None and self.hub.refused(channel):
                self.stats.faults["socket_refused"] += 1
                return _json(503, {"error": "service unavailable"})
            return await handler(request)
        rest = self.profile.rest
        key = request.headers.get("POLY_API_KEY", "")
        op = op_class(request.method, request.path)
        if op != "other":
            self._check_window(key, op)
        if self._hit(rest.delay_rate, "rest_delay"):
            await asyncio.sleep(rest.delay_ms / 1000)
        if self._hit(rest.too_early_rate, "rest_425"):
            if op != "other":
                self._open_window(key, (POST, CANCEL), rest.retry_after_s)
            return _json(425, {"error": "Too Early"}, rest.retry_after_s)
        if self._hit(rest.rate_limited_rate, "rest_429"):
            if op != "other":
                self._open_window(key, (op,), rest.retry_after_s)
            return _json(429, {"error": "Too Many Requests"}, rest.retry_after_s)
        if self._hit(rest.server_error_rate, "rest_500"):
            return _json(500, {"error": "Internal Server Error"})
        is_post = op == POST
        # The venue lets post-only orders through in post-only mode; the fault refuses every
        # order post so that the client's handling of the 503 is exercised.
        if is_post and self._hit(rest.post_only_mode_rate, "rest_503_post_only"):
            self._open_window(key, (POST,), rest.post_only_retry_after_s)
            return _json(503, {"error": POST_ONLY_MSG, "code": "post_only_mode",
                               "retry_after_seconds": rest.post_only_retry_after_s})
        if is_post and self._hit(rest.post_timeout_rate, "post_timeout"):
            request["hang_s"] = rest.post_timeout_s
        return await handler(request)

    def socket_tick(self, hub: Hub) -> None:
        """One 100 ms check of the socket faults."""
        s = self.profile.sockets
        for kind, per_min in (("socket_drop", s.drop_per_min),
                              ("socket_freeze", s.freeze_per_min),
                              ("malformed_frame", s.malformed_per_min)):
            if per_min <= 0:
                continue
            # Expected count per check; above one it fires that many times (distinct sockets).
            expected = per_min / 600
            n = int(expected) + (1 if self.rng.random() < expected - int(expected) else 0)
            if n == 0:
                continue
            # Only established sockets (subscribed) are eligible: a fault on a socket that is
            # still handshaking tests nothing a later one does not.
            conns = sorted((c for ch in s.channels for c in hub.conns[ch]
                            if not c.dead and c.subscribed and not hub.frozen(c)), key=id)
            for conn in self.rng.sample(conns, min(n, len(conns))):
                self.stats.faults[kind] += 1
                logger.info("fault %s on a %s socket", kind, conn.channel)
                if kind == "socket_drop":
                    hub.drop(conn)
                elif kind == "socket_freeze":
                    hub.freeze(conn, s.freeze_s)
                else:
                    hub.send(conn, self.rng.choice(MALFORMED))


MALFORMED = (
    '{"event_type":"price_change","market":',
    "\x00\x01garbage\xff",
    '[{"event_type":"book","asset_id":12,"bids":"nope"}',
    "{not json}",
)
