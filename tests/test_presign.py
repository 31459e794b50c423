"""Orders signed ahead of need (``venue.presign``, ``ClobGateway.presign``), the planner's
candidates for them, the driver's idle loop, and the order path's precomputed L2 headers.

A presigned order must be the order ``sign`` would have made (byte for byte, and the SDK's,
for its salt and timestamp), posted at most once, and never used under another tick, another
identity or once too old.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.order_utils.model.order_data_v2 import OrderDataV2, order_to_json_v2
from py_clob_client_v2.order_utils.model.side import Side as SdkSide
from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2
from py_clob_client_v2.signer import Signer as SdkSigner

from actors.order_manager.driver import presign
from messages import DesiredQuote, DesiredQuotes, GateReason, MarketDecision, Side
from tests.builders import market_n
from trading.order_report import Outbox
from trading.params import OrderParams, RiskLimits
from trading.planner import OrderPlanner
from venue.auth import ApiCreds, L2Headers, l2_headers, recover_order_signer
from venue.gateway import ClobGateway, SignedOrder, check_quote, market_infos
from venue.orders import Order, OrderSigner, order_body
from venue.presign import MAX_AGE_MS, MAX_ENTRIES

KEY = "0x" + "11" * 32
MARKET = market_n(1)
CID = MARKET.condition_id
UP, DOWN = MARKET.token_ids
INFO = market_infos([MARKET])[UP]
TICK = MARKET.tick_pips


class Wall:
    def __init__(self) -> None:
        self.ms = 1_780_000_000_000

    def __call__(self) -> int:
        return self.ms


def gateway(wall: Wall | None = None) -> tuple[ClobGateway, OrderSigner]:
    signer = OrderSigner(KEY)
    gw = ClobGateway(client=None, signer=signer, maker=signer.address,  # type: ignore[arg-type]
                     signature_type=0, owner="api-key-uuid", post_only=True,
                     wall_ms=wall or Wall())
    return gw, signer


def q(price: int, token: str = UP, size: int = 10_000_000) -> DesiredQuote:
    return DesiredQuote(condition_id=CID, token_id=token, side=Side.BUY,  # type: ignore[arg-type]
                        price_pips=price, size_micro=size)


def fields(s: SignedOrder) -> dict[str, Any]:
    env: dict[str, Any] = orjson.loads(s.body)
    return env


def test_a_presigned_order_is_what_sign_makes_and_what_the_sdk_makes() -> None:
    gw, signer = gateway()
    assert gw.presign(q(4500), INFO, TICK)
    hit = gw.sign(q(4500), INFO, TICK)
    assert isinstance(hit, SignedOrder) and gw.presigned.hits == 1
    assert not isinstance(check_quote(hit.quote, INFO, TICK), type(hit))
    o = fields(hit)["order"]
    # Signed again now with the presigned order's salt and timestamp: the same bytes.
    order = Order(salt=o["salt"], maker=signer.address, signer=signer.address, token_id=UP,
                  maker_amount=4_500_000, taker_amount=10_000_000, side=0, signature_type=0,
                  timestamp_ms=int(o["timestamp"]))
    h, sig = signer.sign_with_hash(order, exchange=INFO.exchange,
                                   domain_version=INFO.domain_version)
    assert (h, order_body(order, sig, owner="api-key-uuid", post_only=True)) == (hit.order_id,
                                                                                 hit.body)
    assert recover_order_signer(h, sig) == signer.address
    # And the official SDK builds the very same order, hash and envelope.
    builder = ExchangeOrderBuilderV2(INFO.exchange, 137, SdkSigner(KEY, 137),
                                     generate_salt=lambda: str(order.salt),
                                     domain_version=INFO.domain_version)
    signed = builder.build_signed_order(OrderDataV2(
        maker=order.maker, tokenId=UP, makerAmount=str(order.maker_amount),
        takerAmount=str(order.taker_amount), side=SdkSide(0), signer=order.signer,
        signatureType=SignatureTypeV2(0), timestamp=str(order.timestamp_ms),
        metadata=order.metadata, builder=order.builder, expiration="0"))
    assert builder.build_order_hash(builder.build_order_typed_data(signed)) == hit.order_id
    assert json.dumps(order_to_json_v2(signed, "api-key-uuid", "GTC", True, False),
                      separators=(",", ":")).encode() == hit.body
    # A fresh signature differs only in salt, timestamp and signature.
    fresh = gw.sign(q(4500), INFO, TICK)
    assert isinstance(fresh, SignedOrder)
    a, b = fields(hit), fields(fresh)
    for env in (a, b):
        for k in ("salt", "timestamp", "signature"):
            env["order"].pop(k)
    assert a == b


def test_a_presigned_order_is_used_once() -> None:
    gw, _ = gateway()
    gw.presign(q(4500), INFO, TICK)
    first, second = gw.sign(q(4500), INFO, TICK), gw.sign(q(4500), INFO, TICK)
    assert isinstance(first, SignedOrder) and isinstance(second, SignedOrder)
    assert first.order_id != second.order_id
    assert fields(first)["order"]["salt"] != fields(second)["order"]["salt"]
    assert (gw.presigned.hits, len(gw.presigned)) == (1, 0)


def test_presign_skips_what_is_kept_and_what_check_quote_refuses() -> None:
    gw, _ = gateway()
    assert gw.presign(q(4500), INFO, TICK)
    assert not gw.presign(q(4500), INFO, TICK)  # a usable one is kept
    assert not gw.presign(q(4550), INFO, TICK)  # off the tick
    assert not gw.presign(q(4500, size=1), INFO, TICK)  # below the market minimum
    assert len(gw.presigned) == 1


def test_a_tick_change_drops_a_presigned_order() -> None:
    gw, _ = gateway()
    gw.presign(q(4500), INFO, TICK)
    got = gw.sign(q(4500), INFO, TICK // 10)  # still on the finer grid
    assert isinstance(got, SignedOrder)
    assert (gw.presigned.hits, gw.presigned.dropped, len(gw.presigned)) == (0, 1, 0)


def test_another_identity_drops_a_presigned_order() -> None:
    gw, _ = gateway()
    gw.presign(q(4500), INFO, TICK)
    gw._owner = "rotated-api-key"  # new API credentials: the envelope's owner changes
    got = gw.sign(q(4500), INFO, TICK)
    assert isinstance(got, SignedOrder) and fields(got)["owner"] == "rotated-api-key"
    assert gw.presigned.hits == 0


def test_an_old_presigned_order_is_not_posted() -> None:
    wall = Wall()
    gw, _ = gateway(wall)
    gw.presign(q(4500), INFO, TICK)
    wall.ms += MAX_AGE_MS + 1
    got = gw.sign(q(4500), INFO, TICK)
    assert isinstance(got, SignedOrder) and fields(got)["order"]["timestamp"] == str(wall.ms)
    assert gw.presigned.hits == 0


def test_the_store_is_bounded_oldest_first() -> None:
    gw, _ = gateway()
    for i in range(MAX_ENTRIES + 3):
        gw.presign(q(1000 + TICK * i), INFO, TICK)
    assert len(gw.presigned) == MAX_ENTRIES
    assert not gw.presigned.has((UP, Side.BUY, 1000, 10_000_000, INFO.exchange,  # type: ignore[arg-type]
                                 INFO.domain_version), TICK, gw._identity(), Wall()())


def _planner() -> OrderPlanner:
    p = OrderPlanner(params=OrderParams(), limits=RiskLimits(), owner="self", now_s=0.0,
                     out=Outbox(), wall_ms=lambda: 0)
    p.set_markets(market_infos([MARKET]))
    return p


def _desired(seq: int, *quotes: DesiredQuote) -> DesiredQuotes:
    return DesiredQuotes(seq=seq, now_ms=0, cause_recv_ns=0, quotes=quotes,
                         decisions=(MarketDecision(condition_id=CID, gate=GateReason.NONE,
                                                   tick_pips=TICK),))


def test_candidates_are_a_tick_either_side_and_the_price_left() -> None:
    p = _planner()
    p.set_desired(_desired(1, q(4500), q(9900, token=DOWN)))
    p.set_desired(_desired(2, q(4100), q(9900, token=DOWN)))
    got = [(c.token_id, c.price_pips) for c, info, tick in p.presign_candidates()]
    # Down at 9900 has no tick above it (1 - tick is the highest price).
    assert got == [(UP, 4000), (UP, 4200), (UP, 4500), (DOWN, 9800)]
    p.halted = "test"
    assert p.presign_candidates() == []


def test_the_idle_loop_stops_as_soon_as_work_waits() -> None:
    gw, _ = gateway()
    cands = [(q(4000 + TICK * i), INFO, TICK) for i in range(4)]
    assert presign(gw, cands, lambda: True) == 0
    calls = iter([False, False, True])
    assert presign(gw, cands, lambda: next(calls)) == 2
    assert presign(gw, cands, lambda: False) == 2  # the two kept are not signed again


def test_l2_header_lines_are_the_l2_headers() -> None:
    creds = ApiCreds(api_key="k-1", secret="c2VjcmV0LWtleQ", passphrase="pp")
    body = b'[{"order":{"salt":1}}]'
    lines = L2Headers("0xAbC", creds).lines(1_780_000_000, "POST", "/orders", body)
    got = dict(line.split(": ", 1) for line in lines.decode().split("\r\n") if line)
    assert got == l2_headers("0xAbC", creds, 1_780_000_000, "POST", "/orders", body)
