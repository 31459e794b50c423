"""In-process microbenchmark of one OrderManager replace pass (no actor, no other thread).

The planner (``trading.planner``), the driver (``actors.order_manager.driver``) and the real
``ClobGateway`` over a real ``ClobClient`` whose two keep-alive connections write into an
in-memory socket that answers at once (``_EchoSock``): so a pass costs exactly its own Python
(diff, risk, tracker, records, signing, L2 headers, request bytes) and nothing of the network
or of another thread. Each pass re-prices both quotes of one market by four ticks, so it
cancels two orders and posts two (pipelined replace, as ``tick_to_order`` runs).

Decisions about the order path are taken on this figure (quieter than the socket benchmark on
a shared machine); ``tick_to_order`` confirms them end to end. Stage split: the ``runtime.trace``
marks of the pass (``diff``, ``cancel``, ``sign``, ``send``), cause = the pass's start.

Run alone: ``.venv/bin/python -m bench.om_pass [repeats] [--profile]``.
"""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
import socket
import statistics
import sys
import time
from typing import Any

import orjson

from actors.order_manager.driver import Driver, presign
from bench.common import Result
from messages import (
    ConditionId,
    DesiredQuote,
    DesiredQuotes,
    GateReason,
    MarketDecision,
    Side,
    TokenId,
)
from runtime import trace
from trading.order_report import Outbox, built
from trading.params import OrderParams, RiskLimits
from trading.planner import OrderPlanner
from venue.auth import ApiCreds
from venue.eip712 import EXCHANGE_V2
from venue.gateway import ClobGateway, MarketInfo
from venue.orders import OrderSigner
from venue.rest import ClobClient

SCENARIO = "om_pass"
TARGETS = {"pass_p50_us": "as low as it goes (no target of its own)"}

_KEY = "0x" + "4c" * 32
CID = ConditionId("0x" + "ab" * 32)
UP = TokenId(str(7 * 10**75 + 1))
DOWN = TokenId(str(7 * 10**75 + 2))
PASSES = 400


class _EchoSock:
    """A connected socket stand-in: ``sendall`` keeps the request and queues a canned reply
    for the next ``makefile`` (what ``http.client.HTTPResponse`` reads). ``fileno`` is an idle
    socket's, so the adapter's "readable while idle" check sees nothing."""

    def __init__(self, idle: socket.socket) -> None:
        self._idle = idle
        self._reply = b""
        self.requests = 0

    def fileno(self) -> int:
        return self._idle.fileno()

    def settimeout(self, _t: float | None) -> None:
        pass

    def close(self) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.requests += 1
        head, _, body = data.partition(b"\r\n\r\n")
        if head.startswith(b"POST /orders"):
            n = body.count(b'"order":')
            doc: Any = [{"success": True, "orderID": "", "status": "live", "errorMsg": ""}] * n
        elif head.startswith(b"DELETE /orders"):
            doc = {"canceled": orjson.loads(body), "not_canceled": {}}
        else:
            doc = {}
        payload = orjson.dumps(doc)
        self._reply = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\n\r\n" % len(payload)) + payload

    def makefile(self, _mode: str) -> io.BytesIO:
        return io.BytesIO(self._reply)


class PassRig:
    """Planner + driver + gateway + client, with both connections on ``_EchoSock``s."""

    def __init__(self, *, pipeline: bool = True, presigning: bool = True) -> None:
        self.presigning = presigning
        self.signer = OrderSigner(_KEY)
        creds = ApiCreds(api_key="00000000-0000-0000-0000-000000000000",
                         secret="c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=",
                         passphrase="pass")
        self.client = ClobClient("http://127.0.0.1:9", address=self.signer.address,
                                 creds=creds)
        self._idle = socket.socketpair()
        for adapter in (self.client.adapter, self.client.cancel_adapter):
            adapter._conn.sock = _EchoSock(self._idle[0])  # type: ignore[assignment]
        self.box = Outbox(recording=True)
        self.now = 1000.0
        params = OrderParams(pipeline_replace=pipeline, order_rate_per_s=1e3,
                             order_burst=2000, cancel_rate_per_s=2e3, cancel_burst=4000)
        limits = RiskLimits(max_open_orders_per_market=20, max_position_shares=10_000,
                            max_notional_usd=100_000)
        self.planner = OrderPlanner(params=params, limits=limits, owner="self",
                                    now_s=self.now, out=self.box)
        self.gateway = ClobGateway(client=self.client, signer=self.signer,
                                   maker=self.signer.address, signature_type=0,
                                   owner=creds.api_key, post_only=True)
        self.driver = Driver(self.gateway, self.box, lambda: self.now)
        info = MarketInfo(condition_id=CID, exchange=EXCHANGE_V2, domain_version="2",
                          min_size_micro=5_000_000)
        self.planner.set_markets({UP: info, DOWN: info})
        self.seq = 0

    def desired(self, up_pips: int) -> DesiredQuotes:
        self.seq += 1
        quotes = (DesiredQuote(condition_id=CID, token_id=UP, side=Side.BUY,
                               price_pips=up_pips, size_micro=10_000_000),
                  DesiredQuote(condition_id=CID, token_id=DOWN, side=Side.BUY,
                               price_pips=9000 - up_pips, size_micro=10_000_000))
        return DesiredQuotes(seq=self.seq, now_ms=int(self.now * 1000),
                             cause_recv_ns=time.time_ns(), quotes=quotes,
                             decisions=(MarketDecision(condition_id=CID, gate=GateReason.NONE,
                                                       fair_up_pips=up_pips + 500,
                                                       half_spread_pips=500, tick_pips=100),))

    def one_pass(self, up_pips: int) -> int:
        """One replace pass; returns its cause (ns)."""
        self.now += 0.01
        d = self.desired(up_pips)
        self.planner.set_desired(d)
        self.driver.run(self.planner.run_pass(self.now), cause_ns=d.cause_recv_ns)
        for _kind, obj in self.box.log:  # what OrderOutput.flush does after the pass
            built(obj)
        self.box.clear()
        return d.cause_recv_ns

    def idle(self) -> int:
        """What the actor does once a pass is over: presign (untimed: it is off the path)."""
        if not self.presigning:
            return 0
        return presign(self.gateway, self.planner.presign_candidates(), lambda: False)

    def close(self) -> None:
        self.client.close()
        for s in self._idle:
            s.close()


def _run(rig: PassRig, n: int) -> tuple[list[float], dict[str, list[float]]]:
    trace.enable()
    totals: list[float] = []
    causes = []
    try:
        for i in range(n):
            t0 = time.perf_counter_ns()
            causes.append(rig.one_pass(3000 if i % 2 else 3400))
            totals.append((time.perf_counter_ns() - t0) / 1e3)
            rig.idle()
    finally:
        trace.disable()
    per: dict[str, list[float]] = {}
    for cause, row in trace.paths(trace.records()).items():
        for stage, ns in trace.stage_durations(cause, row).items():
            per.setdefault(stage, []).append(ns / 1e3)
    return totals, per


def measure(repeats: int) -> Result:
    """Per variant (presigning on, off): the pass's p50 and its stages' p50s."""
    res = Result(SCENARIO)
    for prefix, presigning in (("", True), ("no_presign_", False)):
        rig = PassRig(presigning=presigning)
        try:
            _run(rig, 50)  # warm: caches, both connections, the tracker's first orders
            p50s: list[float] = []
            stages: dict[str, list[float]] = {}
            for _ in range(repeats):
                gc.collect()
                totals, per = _run(rig, PASSES)
                p50s.append(statistics.median(totals))
                for k, v in per.items():
                    stages.setdefault(k, []).extend(v)
            res.add(f"{prefix}pass_p50_us", p50s)
            res.set(f"{prefix}stages_p50_us", {k: round(statistics.median(v), 1)
                                               for k, v in stages.items()})
            res.set(f"{prefix}presign_hits", rig.gateway.presigned.hits)
            res.set(f"{prefix}presign_misses", rig.gateway.presigned.misses)
        finally:
            rig.close()
    return res


def profile(n: int = 2000, top: int = 30) -> str:
    """A cProfile of ``n`` passes, by own time."""
    rig = PassRig()
    try:
        _run(rig, 50)
        prof = cProfile.Profile()
        prof.enable()
        for i in range(n):
            rig.one_pass(3000 if i % 2 else 3400)
            prof.disable()
            rig.idle()
            prof.enable()
        prof.disable()
    finally:
        rig.close()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


if __name__ == "__main__":
    argv = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--profile" in sys.argv:
        print(profile())
    else:
        print(orjson.dumps(measure(int(argv[0]) if argv else 5).as_json(),
                           option=orjson.OPT_INDENT_2).decode())
