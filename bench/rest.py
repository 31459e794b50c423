"""``rest``: one order submit round trip through ``ClobClient.post_order`` versus raw
``http.client`` on a kept-alive connection, side by side, against the simulated venue.

Both sides send real signed post-only BUYs far below the ask (they rest; every order has its
own salt, so none is a duplicate) for the Up token of the window open now, to the venue running
in its own process. They alternate call by call (which goes first flips every pair), so drift in
the venue or the machine hits both alike. The raw side sends the same kind of body with the same
header set, L2 headers included, built before its clock starts: ``overhead_ratio`` therefore
charges the client with everything it does per call (HMAC headers, ``requests`` plumbing,
reply parsing); ``l2_headers_us`` reports the HMAC part alone. Orders are canceled between
repeats. Run alone with ``.venv/bin/python -m bench.rest [repeats]``.
"""

from __future__ import annotations

import gc
import http.client
import statistics
import sys
import time
from urllib.parse import urlsplit

import orjson

from bench.common import Result
from bench.harness import (
    Account,
    new_account,
    open_market,
    order_bodies,
    pct,
    roomy_window_s,
    start_sim,
)
from messages import Market
from venue.auth import l2_headers

SCENARIO = "rest"
TARGETS = {"overhead_ratio": "<= 1.5 (client p50 / raw p50)"}

N_CALLS = 300
"""Calls per side per repeat (the smoke test shrinks it)."""
PRICE_PIPS = 500  # 0.05: far below any ask, so the post-only BUY rests
SIZE_MICRO = 5_000_000
_HEADERS = {"User-Agent": "polymm/0.1", "Accept": "application/json",
            "Content-Type": "application/json"}


def _raw_headers(acct: Account, body: bytes) -> dict[str, str]:
    return {**_HEADERS, **l2_headers(acct.signer.address, acct.creds, int(time.time()),
                                     "POST", "/order", body)}


def _run_once(acct: Account, market: Market, conn: http.client.HTTPConnection,
              n: int) -> dict[str, float]:
    client = acct.client
    bodies = order_bodies(acct, market, 2 * n, price_pips=PRICE_PIPS, size_micro=SIZE_MICRO)
    ours, raws = [b for _, b in bodies[:n]], [b for _, b in bodies[n:]]
    raw_headers = [_raw_headers(acct, b) for b in raws]
    client_us: list[float] = []
    raw_us: list[float] = []
    bad = 0

    def call_client(i: int) -> None:
        t0 = time.perf_counter_ns()
        reply = client.post_order(ours[i])
        client_us.append((time.perf_counter_ns() - t0) / 1e3)
        if not reply.get("success"):
            raise RuntimeError(f"venue refused a benchmark order: {reply}")

    def call_raw(i: int) -> None:
        nonlocal bad
        t0 = time.perf_counter_ns()
        conn.request("POST", "/order", body=raws[i], headers=raw_headers[i])
        resp = conn.getresponse()
        data = resp.read()
        reply = orjson.loads(data)
        raw_us.append((time.perf_counter_ns() - t0) / 1e3)
        if resp.status != 200 or not reply.get("success"):
            bad += 1

    gc.collect()
    gc.disable()
    try:
        for i in range(n):
            if i % 2:
                call_raw(i)
                call_client(i)
            else:
                call_client(i)
                call_raw(i)
    finally:
        gc.enable()
    if bad:
        raise RuntimeError(f"{bad} raw benchmark orders were refused by the venue")
    t0 = time.perf_counter_ns()
    for b in raws[:50]:
        _raw_headers(acct, b)
    hmac_us = (time.perf_counter_ns() - t0) / 1e3 / min(50, len(raws))
    client.cancel_all()
    return {"client_p50_us": statistics.median(client_us), "raw_p50_us": statistics.median(raw_us),
            "client_p99_us": pct(client_us, 0.99), "raw_p99_us": pct(raw_us, 0.99),
            "l2_headers_us": hmac_us}


def measure(repeats: int) -> Result:
    res = Result(SCENARIO)
    sim = start_sim("--noise-rate", "0", "--assets", "btc",
                    "--window-seconds", str(roomy_window_s(120)))
    acct = None
    conn = None
    try:
        market = open_market(sim.base_url, min_left_s=60)
        acct = new_account(sim.base_url, seed=7)
        u = urlsplit(sim.base_url)
        conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=5)
        _run_once(acct, market, conn, min(20, N_CALLS))  # warm both connections and caches
        runs = [_run_once(acct, market, conn, N_CALLS) for _ in range(repeats)]
    finally:
        if conn is not None:
            conn.close()
        if acct is not None:
            acct.close()
        sim.stop()
    for key in ("client_p50_us", "raw_p50_us", "client_p99_us", "raw_p99_us", "l2_headers_us"):
        res.add(key, [r[key] for r in runs])
    res.add("overhead_ratio", [r["client_p50_us"] / r["raw_p50_us"] for r in runs])
    res.add("overhead_us", [r["client_p50_us"] - r["raw_p50_us"] for r in runs])
    return res


if __name__ == "__main__":
    print(orjson.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5).as_json(),
                       option=orjson.OPT_INDENT_2).decode())
