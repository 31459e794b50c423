"""Benchmark ``sign``: hash + sign one order with ``venue.orders.OrderSigner``.

Compared side by side, in the same run and on identical orders, with py-clob-client-v2's
``ExchangeOrderBuilderV2.build_signed_order`` (eth-account's ``sign_typed_data`` path).
``us_per_order`` is ``sign_with_hash`` alone (the hot path: the order hash is the venue's
order id, so it comes out of the same pass); ``us_per_order_with_body`` adds ``order_body``.
Run alone with ``.venv/bin/python -m bench.sign [repeats]``.
"""

from __future__ import annotations

import gc
import random
import sys
import time

import orjson

from bench.common import Result, repeat
from venue.orders import Order, OrderSigner, exchange_for, order_body

SCENARIO = "sign"
TARGETS = {
    "us_per_order": "<= 60 µs per signed order",
    "orders_per_s": ">= 16,700 orders/s",
    "speedup_vs_sdk": ">= 10x py-clob-client-v2's build_signed_order",
}

_KEY = "0x" + "4c" * 32
_N_OURS = 2_000
_N_SDK = 100


def _orders(n: int, address: str, seed: int) -> list[Order]:
    rng = random.Random(seed)
    token_ids = [str(rng.getrandbits(255)) for _ in range(4)]
    return [Order(salt=rng.getrandbits(53), maker=address, signer=address,
                  token_id=rng.choice(token_ids), maker_amount=rng.randrange(10**4, 10**9),
                  taker_amount=rng.randrange(10**4, 10**9), side=rng.randrange(2),
                  signature_type=0, timestamp_ms=1_780_000_000_000 + i)
            for i in range(n)]


def _time_ours(signer: OrderSigner, orders: list[Order], exchange: str,
               with_body: bool) -> float:
    sign = signer.sign_with_hash
    gc.disable()
    try:
        start = time.perf_counter_ns()
        if with_body:
            for order in orders:
                _, signature = sign(order, exchange=exchange, domain_version="2")
                order_body(order, signature, owner="00000000-0000-0000-0000-000000000000")
        else:
            for order in orders:
                sign(order, exchange=exchange, domain_version="2")
        elapsed = time.perf_counter_ns() - start
    finally:
        gc.enable()
    return elapsed / len(orders) / 1_000


def _time_sdk(orders: list[Order], exchange: str) -> float:
    from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
    from py_clob_client_v2.order_utils.model.order_data_v2 import OrderDataV2
    from py_clob_client_v2.order_utils.model.side import Side
    from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2
    from py_clob_client_v2.signer import Signer

    salts = iter([str(o.salt) for o in orders])
    builder = ExchangeOrderBuilderV2(exchange, 137, Signer(_KEY, 137),
                                     generate_salt=lambda: next(salts), domain_version="2")
    data = [OrderDataV2(maker=o.maker, tokenId=str(o.token_id), makerAmount=str(o.maker_amount),
                        takerAmount=str(o.taker_amount), side=Side(o.side), signer=o.signer,
                        signatureType=SignatureTypeV2.EOA, timestamp=str(o.timestamp_ms),
                        expiration="0")
            for o in orders]
    start = time.perf_counter_ns()
    for d in data:
        builder.build_signed_order(d)
    return (time.perf_counter_ns() - start) / len(orders) / 1_000


def measure(repeats: int) -> Result:
    """Median µs per order over ``repeats`` runs of ours (2,000 orders) and the SDK's (100)."""
    result = Result(SCENARIO)
    signer = OrderSigner(_KEY)
    exchange, _ = exchange_for("v1", False)
    orders = _orders(_N_OURS, signer.address, seed=1)
    sdk_orders = orders[:_N_SDK]
    _time_ours(signer, orders[:200], exchange, with_body=False)  # warm the caches
    us = result.add("us_per_order",
                    repeat(lambda: _time_ours(signer, orders, exchange, False), repeats))
    result.add("us_per_order_with_body",
               repeat(lambda: _time_ours(signer, orders, exchange, True), repeats))
    sdk_us = result.add("sdk_us_per_order",
                        repeat(lambda: _time_sdk(sdk_orders, exchange), repeats))
    result.set("orders_per_s", round(1_000_000 / us))
    result.set("speedup_vs_sdk", round(sdk_us / us, 1))
    return result


if __name__ == "__main__":
    print(orjson.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5).as_json(),
                       option=orjson.OPT_INDENT_2).decode())
