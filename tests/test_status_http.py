"""The /healthz and /status JSON endpoints on 127.0.0.1:0."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from enum import StrEnum
from types import SimpleNamespace

import pytest

from polymm.status_http import StatusServer, build_status_server


class Gate(StrEnum):
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Lag:
    feed: str
    lag_ms: float


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


@pytest.fixture
def serve():
    servers: list[StatusServer] = []

    def _serve(provider, **kw) -> StatusServer:
        s = StatusServer(provider, host="127.0.0.1", port=0, **kw).start()
        servers.append(s)
        return s

    yield _serve
    for s in servers:
        s.stop()


def test_status_serves_the_providers_document(serve):
    calls = []

    def provider():
        calls.append(threading.current_thread().name)
        return {"mode": "paper", "feeds": {"market": {"connected": True, "lag_ms": 12.5}},
                "open_orders": 4, "inventory": {"btc-15m": {"up": 10.0, "down": 0.0}},
                "kill_switch": False, "gate": Gate.NONE, "lags": [Lag("price", 3.0)],
                "by_id": {7: "x"}}

    server = serve(provider)
    assert server.address[0] == "127.0.0.1" and server.address[1] > 0
    code, doc = _get(server.url + "/status")
    assert code == 200
    assert doc == {"mode": "paper", "feeds": {"market": {"connected": True, "lag_ms": 12.5}},
                   "open_orders": 4, "inventory": {"btc-15m": {"up": 10.0, "down": 0.0}},
                   "kill_switch": False, "gate": "none",
                   "lags": [{"feed": "price", "lag_ms": 3.0}], "by_id": {"7": "x"}}
    # The provider runs on a request thread, not the caller's.
    assert calls and calls[0] != threading.current_thread().name


def test_healthz_is_liveness_without_asking_the_provider(serve):
    def provider():
        raise AssertionError("healthz must not call the provider")

    code, doc = _get(serve(provider).url + "/healthz")
    assert code == 200
    assert doc["ok"] is True and doc["uptime_s"] >= 0


def test_healthz_reports_unhealthy_as_503(serve):
    server = serve(dict, health=lambda: (False, {"reason": "order_manager dead"}))
    code, doc = _get(server.url + "/healthz")
    assert code == 503
    assert doc["ok"] is False and doc["reason"] == "order_manager dead"


def test_a_failing_provider_gives_500_and_the_server_keeps_serving(serve):
    state = {"fail": True}

    def provider():
        if state["fail"]:
            raise TimeoutError("state did not answer in 2.0 s")
        return {"ok": 1}

    server = serve(provider)
    assert _get(server.url + "/status") == (
        500, {"error": "TimeoutError: state did not answer in 2.0 s"})
    state["fail"] = False
    assert _get(server.url + "/status") == (200, {"ok": 1})


class Opaque:
    def __str__(self) -> str:
        return "opaque"


def test_unknown_page_is_404_and_odd_values_still_serialise(serve):
    server = serve(lambda: {"when": Opaque()})
    code, doc = _get(server.url + "/nope")
    assert code == 404 and doc["pages"] == ["/healthz", "/status"]
    code, doc = _get(server.url + "/status/?x=1")
    assert code == 200 and doc == {"when": "opaque"}


def test_stop_closes_the_port(serve):
    server = StatusServer(dict, host="127.0.0.1", port=0).start()
    url = server.url
    assert _get(url + "/status") == (200, {})
    server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/status", timeout=2)


def test_build_from_config_is_off_by_default():
    cfg = SimpleNamespace(status=SimpleNamespace(enabled=False, host="127.0.0.1", port=0))
    assert build_status_server(cfg, dict) is None
    cfg.status.enabled = True
    server = build_status_server(cfg, lambda: {"x": 1})
    assert server is not None
    try:
        assert _get(server.url + "/status") == (200, {"x": 1})
    finally:
        server.stop()
