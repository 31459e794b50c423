"""Signature and credential checks of the simulated venue, written independently of ``venue/``.

The EIP-712 hashes are built by hand from keccak-256 and fixed 32-byte ABI words (every Order
field is a static type), and the signer is recovered with coincurve, so the simulator is a real
cross-check of the bot's own signing code. Runs on the simulator's event loop; no state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass, field

import sha3
from coincurve import PublicKey

CHAIN_ID = 137
EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE_V2 = "0xe2222d279d744050d28e00520010520000310F59"
EXCHANGE_V3 = "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa"
CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"


def keccak(data: bytes) -> bytes:
    digest: bytes = sha3.keccak_256(data).digest()
    return digest


_ORDER_TYPE = (
    b"Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,"
    b"uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,"
    b"bytes32 builder)")
_ORDER_TYPEHASH = keccak(_ORDER_TYPE)
# ERC-7739 (protocol §6.4): a deposit wallet's order signature is the owner's signature over
# TypedDataSign(Order contents, <the wallet's own EIP-712 domain>) under the exchange's domain.
_TYPED_DATA_SIGN_TYPEHASH = keccak(
    b"TypedDataSign(Order contents,string name,string version,uint256 chainId,"
    b"address verifyingContract,bytes32 salt)" + _ORDER_TYPE)
_WRAPPED_LEN = 65 + 32 + 32 + len(_ORDER_TYPE) + 2
_DOMAIN_TYPEHASH = keccak(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_AUTH_DOMAIN_TYPEHASH = keccak(b"EIP712Domain(string name,string version,uint256 chainId)")
_CLOB_AUTH_TYPEHASH = keccak(
    b"ClobAuth(address address,string timestamp,uint256 nonce,string message)")


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _addr_word(address: str) -> bytes:
    raw = bytes.fromhex(address[2:] if address.startswith(("0x", "0X")) else address)
    if len(raw) != 20:
        raise ValueError("bad address")
    return b"\x00" * 12 + raw


def _bytes32(value: str) -> bytes:
    raw = bytes.fromhex(value[2:] if value.startswith(("0x", "0X")) else value)
    if len(raw) != 32:
        raise ValueError("bad bytes32")
    return raw


def _domain_separator(version: str, contract: str) -> bytes:
    return keccak(_DOMAIN_TYPEHASH + keccak(b"Polymarket CTF Exchange") + keccak(version.encode())
                  + _word(CHAIN_ID) + _addr_word(contract))


DOMAINS: dict[tuple[str, bool], bytes] = {
    ("v1", False): _domain_separator("2", EXCHANGE_V2),
    ("v1", True): _domain_separator("2", NEG_RISK_EXCHANGE_V2),
    ("v2", False): _domain_separator("3", EXCHANGE_V3),
    ("v2", True): _domain_separator("3", EXCHANGE_V3),
}
_AUTH_DOMAIN = keccak(_AUTH_DOMAIN_TYPEHASH + keccak(b"ClobAuthDomain") + keccak(b"1")
                      + _word(CHAIN_ID))


def order_digest(order: dict[str, object], *, version: str = "v1", neg_risk: bool = False
                 ) -> tuple[str, bytes]:
    """The EIP-712 order hash (``0x``-hex, the venue's order id) and the digest that was signed.

    ``order`` is the ``order`` object of a ``POST /order`` body. Raises ValueError/KeyError/
    TypeError on a malformed field.
    """
    struct = order_struct_hash(order)
    digest = keccak(b"\x19\x01" + DOMAINS[(version, neg_risk)] + struct)
    return "0x" + digest.hex(), digest


def order_struct_hash(order: dict[str, object]) -> bytes:
    """``hashStruct(Order)`` of a ``POST /order`` body's ``order`` (ERC-7739's contents hash).

    Raises ValueError/KeyError/TypeError on a malformed field."""
    side = order["side"]
    if side not in ("BUY", "SELL"):
        raise ValueError("bad side")
    return keccak(
        _ORDER_TYPEHASH
        + _word(int(str(order["salt"])))
        + _addr_word(str(order["maker"]))
        + _addr_word(str(order["signer"]))
        + _word(int(str(order["tokenId"])))
        + _word(int(str(order["makerAmount"])))
        + _word(int(str(order["takerAmount"])))
        + _word(0 if side == "BUY" else 1)
        + _word(int(str(order["signatureType"])))
        + _word(int(str(order["timestamp"])))
        + _bytes32(str(order["metadata"]))
        + _bytes32(str(order["builder"])))


def recover_1271(order: dict[str, object], *, version: str = "v1", neg_risk: bool = False
                 ) -> str | None:
    """The owner EOA (lower case) whose key signed a deposit wallet's (signature type 3)
    order, or None if the ERC-7739 wrapping is malformed or disagrees with the order.

    The signature is ``innerSig(65) ‖ domainSeparator(32) ‖ contentsHash(32) ‖ typeString ‖
    uint16 len(typeString)``; the domain must be the market's exchange, the contents hash the
    order's struct hash and the type string ``Order(...)``. The inner signature is recovered
    from the ``TypedDataSign`` digest whose ``verifyingContract`` is the order's signer (the
    wallet). Whether the recovered owner owns that wallet is the caller's check. Raises
    ValueError/KeyError/TypeError on a malformed order field.
    """
    text = str(order.get("signature", ""))
    try:
        raw = bytes.fromhex(text[2:] if text.startswith("0x") else text)
    except ValueError:
        return None
    if len(raw) != _WRAPPED_LEN or int.from_bytes(raw[-2:], "big") != len(_ORDER_TYPE):
        return None
    domain, contents = raw[65:97], raw[97:129]
    if raw[129:-2] != _ORDER_TYPE or domain != DOMAINS[(version, neg_risk)] \
            or contents != order_struct_hash(order):
        return None
    wrapped = keccak(_TYPED_DATA_SIGN_TYPEHASH + contents + keccak(b"DepositWallet")
                     + keccak(b"1") + _word(CHAIN_ID) + _addr_word(str(order["signer"]))
                     + bytes(32))
    return recover_address(keccak(b"\x19\x01" + domain + wrapped), "0x" + raw[:65].hex())


def clob_auth_digest(address: str, timestamp: str, nonce: int) -> bytes:
    """The digest an L1 (``ClobAuth``) header signature signs."""
    struct = keccak(_CLOB_AUTH_TYPEHASH + _addr_word(address) + keccak(timestamp.encode())
                    + _word(nonce) + keccak(CLOB_AUTH_MESSAGE.encode()))
    return keccak(b"\x19\x01" + _AUTH_DOMAIN + struct)


def recover_address(digest: bytes, signature: str) -> str | None:
    """The checksum-free lower-case address that signed ``digest``, or None if unrecoverable."""
    try:
        raw = bytes.fromhex(signature[2:] if signature.startswith("0x") else signature)
    except ValueError:
        return None
    if len(raw) != 65:
        return None
    v = raw[64]
    recid = v - 27 if v >= 27 else v
    if recid not in (0, 1):
        return None
    try:
        pub = PublicKey.from_signature_and_message(raw[:64] + bytes([recid]), digest,
                                                   hasher=None)
    except Exception:  # coincurve raises plain Exception on an invalid signature
        return None
    return "0x" + keccak(pub.format(compressed=False)[1:])[-20:].hex()


def hmac_signature(secret: str, timestamp: str, method: str, path: str, body: str) -> str:
    """§5.2: urlsafe-b64 HMAC-SHA256 of ``ts + METHOD + path + body`` keyed by the secret."""
    key = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    msg = f"{timestamp}{method.upper()}{path}{body}".encode()
    return base64.urlsafe_b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


@dataclass(frozen=True, slots=True)
class ApiCreds:
    """One set of API credentials. The secret and passphrase never appear in the repr."""

    api_key: str
    address: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)


def derive_creds(seed: int, address: str, nonce: int) -> ApiCreds:
    """Deterministic credentials for ``address`` + ``nonce`` (the same after a restart)."""
    base = f"polymm-sim|{seed}|{address.lower()}|{nonce}".encode()
    key = uuid.UUID(bytes=hashlib.sha256(base + b"|key").digest()[:16], version=4)
    secret = base64.urlsafe_b64encode(hashlib.sha256(base + b"|secret").digest()).decode()
    passphrase = hashlib.sha256(base + b"|pass").hexdigest()
    return ApiCreds(api_key=str(key), address=address.lower(), secret=secret,
                    passphrase=passphrase)


def check_hmac(creds: ApiCreds, signature: str, timestamp: str, method: str, path: str,
               body: str) -> bool:
    expected = hmac_signature(creds.secret, timestamp, method, path, body)
    return hmac.compare_digest(expected.rstrip("="), signature.rstrip("="))
