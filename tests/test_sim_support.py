"""Client-side helpers for the simulated-venue tests (no tests here).

The client side is the bot's own code (``venue.orders``/``venue.auth``), so these tests also
cross-check the bot's signing and HMAC against the simulator's independent implementation.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import requests
import websocket
from coincurve import PrivateKey

from messages.ids import Side
from sim.process import SimProcess
from venue.auth import ApiCreds, l1_headers, l2_headers
from venue.orders import (
    BUY,
    SELL,
    Order,
    OrderSigner,
    exchange_for,
    limit_order_amounts_int,
)
from venue.orders import order_body as make_body

KEY_A = "0x" + "11" * 32
KEY_B = "0x" + "22" * 32
KEY_C = "0x" + "33" * 32
KEY_D = "0x" + "44" * 32
KEY_E = "0x" + "55" * 32
BASE_ARGS = ["--noise-rate", "0", "--window-seconds", "900", "--assets", "btc,eth",
             "--heartbeat-timeout-s", "2", "--mined-delay-ms", "50", "--confirmed-delay-ms",
             "100", "--log-level", "WARNING"]


def start_sim(*extra: str) -> SimProcess:
    return SimProcess([*BASE_ARGS, *extra], startup_timeout_s=20).start()


class Client:
    """A venue client with one key: L1 derive, L2-signed requests, signed orders."""

    def __init__(self, sim: SimProcess, private_key: str) -> None:
        self.sim = sim
        self.base = sim.base_url
        self.signer = OrderSigner(private_key)
        self.http = requests.Session()
        r = self.http.get(self.base + "/auth/derive-api-key",
                          headers=l1_headers(private_key, int(time.time())), timeout=10)
        r.raise_for_status()
        j = r.json()
        self.creds = ApiCreds(api_key=j["apiKey"], secret=j["secret"],
                              passphrase=j["passphrase"])

    def raw_auth(self) -> dict[str, str]:
        return {"apiKey": self.creds.api_key, "secret": self.creds.secret,
                "passphrase": self.creds.passphrase}

    def call(self, method: str, path: str, body: bytes | None = None, *,
             params: dict[str, str] | None = None, timeout: float = 10,
             creds: ApiCreds | None = None) -> requests.Response:
        headers = l2_headers(self.signer.address, creds or self.creds, int(time.time()), method,
                             path, body)
        headers["Content-Type"] = "application/json"
        return self.http.request(method, self.base + path, data=body, params=params,
                                 headers=headers, timeout=timeout)

    def build(self, token_id: str, side: str, price_pips: int, size_micro: int, *,
              tick_pips: int = 100, post_only: bool = True, order_type: str = "GTC",
              sign_with: str | None = None, salt: int | None = None
              ) -> tuple[str, bytes]:
        """(order hash, ``POST /order`` body) of a limit order on a v1 market."""
        maker, taker = limit_order_amounts_int(Side(side), price_pips, size_micro, tick_pips)
        return self.build_raw(token_id, side, maker, taker, post_only=post_only,
                              order_type=order_type, sign_with=sign_with, salt=salt)

    def build_raw(self, token_id: str, side: str, maker: int, taker: int, *,
                  post_only: bool = True, order_type: str = "GTC",
                  sign_with: str | None = None, salt: int | None = None
                  ) -> tuple[str, bytes]:
        global _SALT
        _SALT += 1
        order = Order.create(maker=self.signer.address, signer=self.signer.address,
                             token_id=token_id, maker_amount=maker, taker_amount=taker,
                             side=BUY if side == "BUY" else SELL,
                             timestamp_ms=time.time_ns() // 1_000_000,
                             salt=salt if salt is not None else _SALT)
        exchange, domain = exchange_for("v1", False)
        h, sig = self.signer.sign_with_hash(order, exchange=exchange, domain_version=domain)
        if sign_with is not None:
            # The same digest signed by another key: the body's signer field still names ours.
            raw = PrivateKey(bytes.fromhex(sign_with[2:])).sign_recoverable(
                bytes.fromhex(h[2:]), hasher=None)
            sig = "0x" + raw[:64].hex() + ("1b" if raw[64] == 0 else "1c")
        return h, make_body(order, sig, owner=self.creds.api_key, order_type=order_type,
                            post_only=post_only)

    def post(self, token_id: str, side: str, price_pips: int, size_micro: int = 10_000_000,
             **kw: Any) -> tuple[str, requests.Response]:
        h, body = self.build(token_id, side, price_pips, size_micro, **kw)
        return h, self.call("POST", "/order", body)

    def open_ids(self, **params: str) -> set[str]:
        r = self.call("GET", "/data/orders", params=params or None)
        r.raise_for_status()
        return {o["id"] for o in r.json()["data"]}


_SALT = int(time.time() * 1000) % (1 << 40)


def next_market(sim: SimProcess, asset: str = "btc") -> dict[str, Any]:
    """A listed market that is not open yet (it will not close during a test)."""
    now = time.time()
    markets = [m for m in sim.state()["markets"] if m["slug"].startswith(asset)
               and m["start"] > now and not m["closed"]]
    return min(markets, key=lambda m: m["start"])


def current_market(sim: SimProcess, asset: str = "btc") -> dict[str, Any]:
    now = time.time()
    return next(m for m in sim.state()["markets"] if m["slug"].startswith(asset)
                and m["start"] <= now < m["end"])


class Socket:
    """A websocket-client connection with bounded waits for frames."""

    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=5)

    def send(self, obj: object) -> None:
        self.ws.send(obj if isinstance(obj, str) else json.dumps(obj))

    def recv_text(self, timeout: float = 5) -> str:
        self.ws.settimeout(timeout)
        data = self.ws.recv()
        return data if isinstance(data, str) else data.decode("utf-8", "replace")

    def wait_for(self, pred: Callable[[Any], bool], timeout: float = 10) -> Any:
        """The first event (a JSON object, or an element of a JSON array) matching ``pred``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching frame")
            text = self.recv_text(left)
            if text in ("PONG", ""):
                if pred(text):
                    return text
                continue
            try:
                parsed = json.loads(text)
            except ValueError:
                if pred(text):
                    return text
                continue
            for item in parsed if isinstance(parsed, list) else [parsed]:
                if pred(item):
                    return item

    def close(self) -> None:
        self.ws.close()
