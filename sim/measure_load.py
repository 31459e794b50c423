"""Measure the market channel's sustainable message rate (the ``--market-rate`` knob).

``python -m sim.measure_load --rate 25000 --seconds 5`` starts a simulator in its own process
with that load, reads ``/ws/market`` from this process, and prints received ``price_change``
messages per second (after a warm-up). The reader is a separate process from the simulator,
so the figure includes the socket.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import aiohttp

from sim.process import SimProcess


async def _read(sim: SimProcess, seconds: float, warmup: float) -> tuple[int, float]:
    state = sim.state()
    tokens = [t for m in state["markets"] if not m["closed"] for t in m["token_ids"]]
    async with aiohttp.ClientSession() as session, session.ws_connect(
            sim.ws_url + "/ws/market", max_msg_size=0) as ws:
        await ws.send_str(json.dumps({"type": "market", "assets_ids": tokens,
                                      "initial_dump": False}))
        loop = asyncio.get_running_loop()
        start = loop.time()
        count, t0 = 0, 0.0
        while True:
            msg = await ws.receive(timeout=5)
            now = loop.time()
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            if now - start < warmup:
                continue
            if not t0:
                t0 = now
            if '"price_change"' in msg.data:
                count += 1
            if now - t0 >= seconds:
                return count, now - t0
    return count, max(loop.time() - t0, 1e-9)


def measure(rate: float, seconds: float = 5.0, warmup: float = 1.0) -> float:
    """Messages per second received at ``--market-rate rate``."""
    with SimProcess(["--market-rate", str(rate), "--noise-rate", "0", "--log-level",
                     "WARNING"]) as sim:
        count, elapsed = asyncio.run(_read(sim, seconds, warmup))
        dropped = sim.state().get("slow_consumers", 0)
    if dropped:
        print(f"warning: {dropped} slow-consumer drops", file=sys.stderr)
    return count / elapsed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rate", type=float, default=25_000)
    p.add_argument("--seconds", type=float, default=5.0)
    args = p.parse_args()
    t = time.time()
    got = measure(args.rate, args.seconds)
    print(f"requested {args.rate:.0f} msg/s, received {got:.0f} msg/s "
          f"({time.time() - t:.1f} s run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
