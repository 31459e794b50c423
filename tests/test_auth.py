"""L1/L2 auth (§5.1–5.2): the §6.6 vectors and a cross-check against py-clob-client-v2 1.2.1."""

from __future__ import annotations

import base64
import json
import random

import pytest
from py_clob_client_v2.clob_types import ApiCreds as SdkCreds
from py_clob_client_v2.clob_types import RequestArgs
from py_clob_client_v2.headers.headers import create_level_1_headers, create_level_2_headers
from py_clob_client_v2.signer import Signer as SdkSigner

from venue.auth import (
    ApiCreds,
    l1_headers,
    l1_signature,
    l2_headers,
    l2_signature,
    recover_order_signer,
)
from venue.eip712 import EXCHANGE_V2
from venue.orders import Order, OrderSigner

KEY = "0x" + "11" * 32
ADDRESS = "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A"
SECRET = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
TS = 1_780_000_000


def test_l1_vector() -> None:
    assert l1_signature(KEY, TS) == (
        "0xcd31acb5c306677210ba04e117f0ffc066e237e858d805e311248d34225baf8d"
        "4b2e3adabebd2f3d3a3ce51504d74433c645ee641ad68eadc7fc2aea8fbf4c241c")
    assert l1_headers(KEY, TS) == {
        "POLY_ADDRESS": ADDRESS,
        "POLY_SIGNATURE": l1_signature(KEY, TS),
        "POLY_TIMESTAMP": str(TS),
        "POLY_NONCE": "0",
    }


def test_hmac_vectors() -> None:
    assert l2_signature(SECRET, TS, "GET", "/data/orders", None) == (
        "-LmAzmNNelpdshyhKrNBJDmtyzfq4xQVNbP0C-qPKHo=")
    assert l2_signature(SECRET, TS, "POST", "/v1/heartbeats", '{"heartbeat_id":""}') == (
        "9yLceCZyl_VjHdPvMHm0FzdzlpH0IZwRTVwnFi9xBAM=")


def test_hmac_secret_padding_body_forms_and_method_case() -> None:
    unpadded = SECRET.rstrip("=")
    expected = l2_signature(SECRET, TS, "GET", "/data/orders", None)
    assert l2_signature(unpadded, TS, "GET", "/data/orders", None) == expected
    assert l2_signature(SECRET, TS, "get", "/data/orders", "") == expected
    creds = ApiCreds(api_key="k", secret=unpadded, passphrase="p")
    body = '{"heartbeat_id":""}'
    assert (l2_headers(ADDRESS, creds, TS, "POST", "/v1/heartbeats", body.encode())
            == l2_headers(ADDRESS, creds, TS, "POST", "/v1/heartbeats", body))
    with pytest.raises(ValueError, match="base64") as info:
        l2_signature("not*base64!", TS, "GET", "/", None)
    assert "not*base64!" not in str(info.value)


def test_api_creds_repr_masks_secrets() -> None:
    creds = ApiCreds(api_key="key-1", secret="c2VjcmV0LXZhbHVl", passphrase="pass-phrase-x")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert "c2VjcmV0LXZhbHVl" not in text and "pass-phrase-x" not in text
        assert "key-1" in text and "********" in text
    with pytest.raises(AttributeError):
        creds.secret = "x"  # type: ignore[misc]


def test_l1_headers_match_sdk() -> None:
    rng = random.Random(51)
    for _ in range(30):
        key = "0x" + rng.randbytes(32).hex()
        ts = rng.randrange(1_600_000_000, 2_000_000_000)
        nonce = rng.choice((0, 0, 1, rng.getrandbits(64)))
        sdk = create_level_1_headers(SdkSigner(key, 137), nonce=nonce, timestamp=ts)
        assert l1_headers(key, ts, nonce) == sdk
        assert l1_signature(key, ts, nonce) == sdk["POLY_SIGNATURE"]


def test_l2_headers_match_sdk() -> None:
    rng = random.Random(52)
    routes = [("GET", "/data/orders"), ("POST", "/order"), ("POST", "/orders"),
              ("DELETE", "/order"), ("DELETE", "/cancel-all"), ("POST", "/v1/heartbeats")]
    for _ in range(200):
        key = "0x" + rng.randbytes(32).hex()
        secret = base64.urlsafe_b64encode(rng.randbytes(rng.choice((32, 33, 48)))).decode()
        creds = ApiCreds(api_key=f"{rng.getrandbits(128):032x}", secret=secret,
                         passphrase=rng.randbytes(16).hex())
        method, path = rng.choice(routes)
        body: str | None = None
        if method != "GET" and rng.random() < 0.8:
            body = json.dumps({"orderID": "0x" + rng.randbytes(32).hex(),
                               "n": rng.random(), "s": "é"},
                              separators=(",", ":"), ensure_ascii=False)
        ts = rng.randrange(1_600_000_000, 2_000_000_000)
        sdk_signer = SdkSigner(key, 137)
        sdk = create_level_2_headers(
            sdk_signer, SdkCreds(creds.api_key, creds.secret, creds.passphrase),
            RequestArgs(method=method, request_path=path, body=None, serialized_body=body),
            timestamp=ts)
        assert l2_headers(sdk_signer.address(), creds, ts, method, path, body) == sdk
        if body is not None:
            assert l2_headers(sdk_signer.address(), creds, ts, method, path,
                              body.encode()) == sdk


def test_recover_order_signer() -> None:
    rng = random.Random(53)
    for _ in range(20):
        signer = OrderSigner("0x" + rng.randbytes(32).hex())
        order = Order.create(maker=signer.address, signer=signer.address,
                             token_id=rng.getrandbits(256), maker_amount=rng.randrange(10**9),
                             taker_amount=rng.randrange(10**9), side=rng.randrange(2),
                             timestamp_ms=rng.randrange(10**13))
        order_hash, signature = signer.sign_with_hash(order, exchange=EXCHANGE_V2)
        assert recover_order_signer(order_hash, signature) == signer.address
        # v as 0/1 is accepted too; a different hash recovers someone else.
        raw_v = signature[:-2] + f"{int(signature[-2:], 16) - 27:02x}"
        assert recover_order_signer(order_hash, raw_v) == signer.address
        other_hash = "0x" + rng.randbytes(32).hex()
        assert recover_order_signer(other_hash, signature) != signer.address


@pytest.mark.parametrize(("order_hash", "signature"), [
    ("0x" + "00" * 31, "0x" + "11" * 65),
    ("0x" + "ab" * 32, "0x" + "11" * 64),
    ("0x" + "ab" * 32, "0x" + "11" * 64 + "1d"),
    ("0x" + "ab" * 32, "0x" + "00" * 64 + "1b"),
    ("0xzz", "0x" + "11" * 65),
])
def test_recover_rejects_malformed(order_hash: str, signature: str) -> None:
    with pytest.raises(ValueError):
        recover_order_signer(order_hash, signature)
