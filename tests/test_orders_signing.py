"""Order hashing, signing and bodies: protocol §6.6 vectors and a byte-for-byte cross-check
against py-clob-client-v2 1.2.1 (``ExchangeOrderBuilderV2`` with a fixed salt and timestamp)."""

from __future__ import annotations

import json
import random

import pytest
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.order_utils.model.order_data_v2 import OrderDataV2, order_to_json_v2
from py_clob_client_v2.order_utils.model.side import Side as SdkSide
from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2
from py_clob_client_v2.signer import Signer as SdkSigner

from venue.auth import recover_order_signer
from venue.eip712 import (
    EXCHANGE_DOMAIN_NAME,
    EXCHANGE_V2,
    EXCHANGE_V3,
    NEG_RISK_EXCHANGE_V2,
    ORDER_TYPEHASH,
    ZERO_BYTES32,
    domain_separator,
)
from venue.orders import (
    MAX_BATCH,
    Order,
    OrderSigner,
    batch_body,
    exchange_for,
    order_body,
)

KEY = "0x" + "11" * 32
ADDRESS = "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A"
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"


def vector_order(**overrides: object) -> Order:
    fields: dict[str, object] = dict(
        salt=479249096354, maker=ADDRESS, signer=ADDRESS, token_id=TOKEN,
        maker_amount=5_200_000, taker_amount=10_000_000, side=0, signature_type=0,
        timestamp_ms=1_780_000_000_000)
    fields.update(overrides)
    return Order(**fields)  # type: ignore[arg-type]


# --- §6.6 / §6.1 / §6.2 vectors -------------------------------------------------------------

def test_vector_domain_2_hash_and_signature() -> None:
    signer = OrderSigner(KEY)
    order_hash, signature = signer.sign_with_hash(vector_order(), exchange=EXCHANGE_V2)
    assert order_hash == "0x59bc684fc145984bd2ca7ef60b0b2d47188e8da10add4447460061ea88eb89c5"
    assert signature == (
        "0x6c7ca1913c4c1139e5860bebe4727b162f3c72af2dc718b3090eaa1725ae0927"
        "255778c2ec0f056a5e56553a8f4859599cd0bbdba33918ccd4d8571fc423169f1b")
    assert signer.sign(vector_order(), exchange=EXCHANGE_V2) == signature
    assert signer.order_hash(vector_order(), exchange=EXCHANGE_V2) == order_hash


def test_vector_domain_3_hash() -> None:
    signer = OrderSigner(KEY)
    assert signer.order_hash(vector_order(), exchange=EXCHANGE_V3, domain_version="3") == (
        "0x5343f8a4662bed0a2149621c5e7ac192a246405fd3a4ae3ed38c40d06a876ded")


def test_signer_address_is_checksummed() -> None:
    assert OrderSigner(KEY).address == ADDRESS
    assert OrderSigner("11" * 32).address == ADDRESS


def test_typehash_and_domain_separators() -> None:
    assert ORDER_TYPEHASH.hex() == (
        "bb86318a2138f5fa8ae32fbe8e659f8fcf13cc6ae4014a707893055433818589")
    expected = {
        ("v1", False): "3264e159346253e26a64e00b69032db0e7d32f94628de3e6eecb50304d7af3d2",
        ("v1", True): "9b858f53327b0bd13af8ec14cfb35234fb9eb7b0504d1a4e61f433840d30e81a",
        ("v2", False): "466c63910185bbd55e8679264200c4e0abdcbb0c6264eb3d41d13326022e095b",
        ("v2", True): "466c63910185bbd55e8679264200c4e0abdcbb0c6264eb3d41d13326022e095b",
    }
    for (version, neg_risk), separator in expected.items():
        exchange, domain_version = exchange_for(version, neg_risk)
        assert domain_separator(EXCHANGE_DOMAIN_NAME, domain_version, 137,
                                exchange).hex() == separator


def test_exchange_for() -> None:
    assert exchange_for("v1", False) == (EXCHANGE_V2, "2")
    assert exchange_for("v1", True) == (NEG_RISK_EXCHANGE_V2, "2")
    assert exchange_for("v2", False) == (EXCHANGE_V3, "3")
    assert exchange_for("v2", True) == (EXCHANGE_V3, "3")
    for bad in ("v3", "", "V1", "1"):
        with pytest.raises(ValueError, match="market version"):
            exchange_for(bad, False)


# --- signer hygiene ---------------------------------------------------------------------------

def test_repr_and_errors_never_show_the_key() -> None:
    secret_hex = "ab" * 32
    signer = OrderSigner("0x" + secret_hex)
    assert secret_hex not in repr(signer) and secret_hex not in str(signer)
    assert signer.address in repr(signer)
    for bad in ("0x" + "zz" * 32, "0x" + "ab" * 31, "0x" + "00" * 32, "0x" + "ff" * 32):
        with pytest.raises(ValueError) as info:
            OrderSigner(bad)
        assert bad[2:] not in str(info.value)


def test_sign_refuses_foreign_signer() -> None:
    other = "0x" + "22" * 20
    with pytest.raises(ValueError, match="not this key's address"):
        OrderSigner(KEY).sign(vector_order(signer=other), exchange=EXCHANGE_V2)
    # Lower-case spelling of our own address is fine and hashes the same.
    lower = vector_order(maker=ADDRESS.lower(), signer=ADDRESS.lower())
    assert OrderSigner(KEY).sign(lower, exchange=EXCHANGE_V2) == OrderSigner(KEY).sign(
        vector_order(), exchange=EXCHANGE_V2)


def test_order_validation() -> None:
    with pytest.raises(ValueError, match="side"):
        vector_order(side=2)
    with pytest.raises(ValueError, match="signature type"):
        vector_order(signature_type=4)
    with pytest.raises(ValueError, match="salt"):
        vector_order(salt=2**53)
    with pytest.raises(ValueError, match="uint256"):
        vector_order(maker_amount=-1)
    with pytest.raises(ValueError, match="token id"):
        vector_order(token_id="0x12")
    with pytest.raises(ValueError, match="token id"):
        vector_order(token_id=2**256)
    with pytest.raises(ValueError, match="32-byte"):
        OrderSigner(KEY).order_hash(vector_order(metadata="0x12"), exchange=EXCHANGE_V2)


def test_create_draws_a_salt_below_2_53() -> None:
    orders = [Order.create(maker=ADDRESS, signer=ADDRESS, token_id=TOKEN, maker_amount=1,
                           taker_amount=2, side=0, timestamp_ms=1) for _ in range(50)]
    assert all(0 <= o.salt < 2**53 for o in orders)
    assert len({o.salt for o in orders}) > 45
    assert Order.create(maker=ADDRESS, signer=ADDRESS, token_id=TOKEN, maker_amount=1,
                        taker_amount=2, side=1, timestamp_ms=1, salt=7).salt == 7


# --- cross-check against py-clob-client-v2 ----------------------------------------------------

def _random_case(rng: random.Random, keys: list[str]) -> tuple[str, Order, str, str]:
    key = rng.choice(keys)
    address = OrderSigner(key).address
    signature_type = rng.choice((0, 0, 0, 1, 2, 3))
    maker = address if signature_type == 0 else "0x" + rng.randbytes(20).hex()
    signer = maker if signature_type == 3 else address
    version, neg_risk = rng.choice((("v1", False), ("v1", True), ("v2", False), ("v2", True)))
    exchange, domain_version = exchange_for(version, neg_risk)
    token_bits = rng.choice((64, 160, 255, 256))
    token_id: int | str = rng.getrandbits(token_bits)
    if rng.random() < 0.5:
        token_id = str(token_id)
    order = Order(
        salt=rng.getrandbits(53), maker=maker, signer=signer, token_id=token_id,
        maker_amount=rng.randrange(1, 10**12), taker_amount=rng.randrange(1, 10**12),
        side=rng.randrange(2), signature_type=signature_type,
        timestamp_ms=rng.randrange(1_700_000_000_000, 1_900_000_000_000),
        metadata=ZERO_BYTES32 if rng.random() < 0.7 else "0x" + rng.randbytes(32).hex(),
        builder=ZERO_BYTES32 if rng.random() < 0.7 else "0x" + rng.randbytes(32).hex(),
        expiration=0 if rng.random() < 0.7 else rng.randrange(1_700_000_000, 1_900_000_000))
    return key, order, exchange, domain_version


def _sdk_signed(key: str, order: Order, exchange: str, domain_version: str
                ) -> tuple[object, str]:
    builder = ExchangeOrderBuilderV2(exchange, 137, SdkSigner(key, 137),
                                     generate_salt=lambda: str(order.salt),
                                     domain_version=domain_version)
    data = OrderDataV2(
        maker=order.maker, tokenId=str(order.token_id), makerAmount=str(order.maker_amount),
        takerAmount=str(order.taker_amount), side=SdkSide(order.side), signer=order.signer,
        signatureType=SignatureTypeV2(order.signature_type), timestamp=str(order.timestamp_ms),
        metadata=order.metadata, builder=order.builder, expiration=str(order.expiration))
    signed = builder.build_signed_order(data)
    sdk_hash = builder.build_order_hash(builder.build_order_typed_data(signed))
    return signed, sdk_hash


def test_random_orders_match_sdk_byte_for_byte() -> None:
    rng = random.Random(20261123)
    keys = ["0x" + rng.randbytes(32).hex() for _ in range(4)]
    signers = {k: OrderSigner(k) for k in keys}
    seen_types: set[tuple[int, str, int]] = set()
    for _ in range(300):
        key, order, exchange, domain_version = _random_case(rng, keys)
        signer = signers[key]
        order_hash, signature = signer.sign_with_hash(order, exchange=exchange,
                                                      domain_version=domain_version)
        signed, sdk_hash = _sdk_signed(key, order, exchange, domain_version)
        assert order_hash == sdk_hash
        assert signature == signed.signature  # type: ignore[attr-defined]
        if order.signature_type != 3:
            assert len(signature) == 132 and signature[-2:] in ("1b", "1c")
            assert recover_order_signer(order_hash, signature) == signer.address
        owner = f"{rng.getrandbits(128):032x}"
        order_type = rng.choice(("GTC", "GTD", "FOK", "FAK"))
        if order_type == "GTD" and order.expiration == 0:
            order_type = "GTC"
        post_only = order_type in ("GTC", "GTD") and rng.random() < 0.7
        defer_exec = rng.random() < 0.2
        sdk_json = json.dumps(order_to_json_v2(signed, owner, order_type, post_only, defer_exec),
                              separators=(",", ":"), ensure_ascii=False).encode()
        assert order_body(order, signature, owner=owner, order_type=order_type,
                          post_only=post_only, defer_exec=defer_exec) == sdk_json
        seen_types.add((order.signature_type, domain_version, order.side))
    # Every signature type, both domain versions and both sides were exercised.
    assert {(t, v, s) for t in range(4) for v in ("2", "3") for s in (0, 1)} <= seen_types


def test_batch_body_matches_sdk_serialization() -> None:
    rng = random.Random(7)
    signer = OrderSigner(KEY)
    owner = "11111111-2222-3333-4444-555555555555"
    items: list[tuple[Order, str]] = []
    sdk_items = []
    for i in range(MAX_BATCH):
        order = vector_order(salt=rng.getrandbits(53), side=i % 2,
                             maker_amount=rng.randrange(1, 10**9))
        signed, _ = _sdk_signed(KEY, order, EXCHANGE_V2, "2")
        items.append((order, signer.sign(order, exchange=EXCHANGE_V2)))
        sdk_items.append(order_to_json_v2(signed, owner, "GTC", True, False))
    expected = json.dumps(sdk_items, separators=(",", ":"), ensure_ascii=False).encode()
    assert batch_body(items, owner=owner) == expected
    # Pre-serialized bodies are joined as they are.
    pre = [order_body(o, s, owner=owner) for o, s in items]
    assert batch_body(pre, owner="ignored") == expected
    assert batch_body([pre[0], *items[1:]], owner=owner) == expected
    assert json.loads(batch_body(items[:1], owner=owner)) == sdk_items[:1]


def test_batch_size_limits() -> None:
    item = (vector_order(), "0x" + "00" * 65)
    with pytest.raises(ValueError, match=r"1\.\.15"):
        batch_body([], owner="o")
    with pytest.raises(ValueError, match=r"1\.\.15"):
        batch_body([item] * (MAX_BATCH + 1), owner="o")


def test_body_option_rules() -> None:
    order = vector_order()
    with pytest.raises(ValueError, match="post-only"):
        order_body(order, "0x", owner="o", order_type="FOK", post_only=True)
    with pytest.raises(ValueError, match="expiration"):
        order_body(order, "0x", owner="o", order_type="GTD")
    with pytest.raises(ValueError, match="order type"):
        order_body(order, "0x", owner="o", order_type="IOC")
    body = json.loads(order_body(vector_order(side=1), "0xsig", owner="o", order_type="FAK",
                                 post_only=False))
    assert body["order"]["side"] == "SELL" and body["postOnly"] is False
    assert body["orderType"] == "FAK" and body["order"]["signature"] == "0xsig"
