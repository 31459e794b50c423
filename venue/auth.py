"""CLOB authentication: L1 (EIP-712 ``ClobAuth``) and L2 (HMAC) headers, protocol §5.1–5.2.

L1 headers create or derive API credentials; L2 headers sign every private request. Both take
the time as an argument (Unix seconds; use the venue's ``GET /time`` if the local clock is
unreliable). The L2 signature covers ``timestamp + METHOD + path + body`` where ``body`` is the
exact text that is sent, so serialize once (``venue.orders.order_body``) and send those bytes.

``recover_order_signer`` is the check the venue does on an order signature; the simulated venue
and the tests use it.

Secrets (private keys, API secret, passphrase) never appear in reprs, logs or exceptions.
Pure, no threads, no clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field

from coincurve import PrivateKey

from venue.eip712 import (
    CHAIN_ID,
    address_of,
    address_word,
    keccak,
    load_private_key,
    recover_address,
    sign_digest,
)

__all__ = [
    "CLOB_AUTH_MESSAGE",
    "ApiCreds",
    "L2Headers",
    "l1_headers",
    "l1_signature",
    "l2_headers",
    "l2_signature",
    "recover_order_signer",
]

CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"

_CLOB_AUTH_TYPEHASH = keccak(
    b"ClobAuth(address address,string timestamp,uint256 nonce,string message)")
_CLOB_AUTH_MESSAGE_HASH = keccak(CLOB_AUTH_MESSAGE.encode())
_MASK = "********"


def _clob_auth_domain(chain_id: int) -> bytes:
    # ClobAuthDomain has no verifyingContract (§5.1).
    return keccak(keccak(b"EIP712Domain(string name,string version,uint256 chainId)")
                  + keccak(b"ClobAuthDomain") + keccak(b"1") + chain_id.to_bytes(32, "big"))


_CLOB_AUTH_DOMAIN = _clob_auth_domain(CHAIN_ID)


@dataclass(frozen=True, slots=True)
class ApiCreds:
    """One set of CLOB API credentials (``POST /auth/api-key`` or ``GET /auth/derive-api-key``).

    ``api_key`` is also the ``owner`` of every order body, so it is not masked; ``secret`` and
    ``passphrase`` print as ``********``.
    """

    api_key: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)

    def __repr__(self) -> str:
        return f"ApiCreds(api_key={self.api_key!r}, secret={_MASK}, passphrase={_MASK})"

    __str__ = __repr__


def l1_signature(private_key: str, timestamp: int, nonce: int = 0, *,
                 chain_id: int = CHAIN_ID) -> str:
    """The ``ClobAuth`` EIP-712 signature (``0x`` + r‖s‖v hex) for L1 headers (§5.1).

    The message is ``{address: <key's address>, timestamp: str(timestamp), nonce,
    message: CLOB_AUTH_MESSAGE}`` under the domain ``{name "ClobAuthDomain", version "1",
    chainId}``. Raises ``ValueError`` on a malformed key (without quoting it).
    """
    key = load_private_key(private_key)
    return _l1_signature(key, address_of(key), timestamp, nonce, chain_id)


def _l1_signature(key: PrivateKey, address: str, timestamp: int, nonce: int,
                  chain_id: int) -> str:
    struct_hash = keccak(_CLOB_AUTH_TYPEHASH + address_word(address)
                         + keccak(str(timestamp).encode()) + nonce.to_bytes(32, "big")
                         + _CLOB_AUTH_MESSAGE_HASH)
    domain = _CLOB_AUTH_DOMAIN if chain_id == CHAIN_ID else _clob_auth_domain(chain_id)
    return sign_digest(key, keccak(b"\x19\x01" + domain + struct_hash))


def l1_headers(private_key: str, timestamp: int, nonce: int = 0, *,
               chain_id: int = CHAIN_ID) -> dict[str, str]:
    """``POLY_ADDRESS``, ``POLY_SIGNATURE``, ``POLY_TIMESTAMP``, ``POLY_NONCE`` (§5.1)."""
    key = load_private_key(private_key)
    address = address_of(key)
    signature = _l1_signature(key, address, timestamp, nonce, chain_id)
    return {
        "POLY_ADDRESS": address,
        "POLY_SIGNATURE": signature,
        "POLY_TIMESTAMP": str(timestamp),
        "POLY_NONCE": str(nonce),
    }


def l2_signature(secret: str, timestamp: int, method: str, path: str,
                 body: str | None) -> str:
    """URL-safe base64 (with ``=`` padding) HMAC-SHA256 of ``timestamp + METHOD + path + body``.

    The key is the url-safe-base64-decoded ``secret`` (padded with ``=`` if needed). ``path``
    is the route without its query string; ``body`` is the exact text sent (None or "" when
    there is none). ``method`` is upper-cased, as the venue sees it on the wire.

    Unlike py-clob-client-v2, single quotes in ``body`` are not rewritten to double quotes: that
    SDK does so to repair ``str(dict)`` bodies, and a JSON body serialized once never needs it.
    Raises ``ValueError`` if the secret is not base64 (without quoting it).
    """
    try:
        key = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    except ValueError:
        raise ValueError("API secret is not url-safe base64") from None
    message = f"{timestamp}{method.upper()}{path}{body or ''}"
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()


def l2_headers(address: str, creds: ApiCreds, timestamp: int, method: str, path: str,
               body: str | bytes | None) -> dict[str, str]:
    """The five L2 headers of a private request (§5.2).

    ``address`` is the signing EOA (``OrderSigner.address``); ``body`` the exact text or bytes
    sent (bytes are decoded as UTF-8).
    """
    text = body.decode() if isinstance(body, bytes) else body
    return {
        "POLY_ADDRESS": address,
        "POLY_SIGNATURE": l2_signature(creds.secret, timestamp, method, path, text),
        "POLY_TIMESTAMP": str(timestamp),
        "POLY_API_KEY": creds.api_key,
        "POLY_PASSPHRASE": creds.passphrase,
    }


_HEADER_JUNK = frozenset("\r\n\x00")


class L2Headers:
    """The L2 headers of one (address, credentials) as raw header lines, for the order path.

    What does not depend on the request (address, API key, passphrase, the HMAC key and its
    SHA-256 state) is computed once; a request costs one HMAC state copy, two updates and a
    base64 of the digest. Same headers and signature as ``l2_headers`` (the tests compare).
    Raises ``ValueError`` if the secret is not base64 or a value could break a header line
    (never quoting a secret). Pure; one thread at a time.
    """

    __slots__ = ("_base", "_head", "creds")

    def __init__(self, address: str, creds: ApiCreds) -> None:
        try:
            key = base64.urlsafe_b64decode(creds.secret + "=" * (-len(creds.secret) % 4))
        except ValueError:
            raise ValueError("API secret is not url-safe base64") from None
        for what, value in (("address", address), ("API key", creds.api_key),
                            ("passphrase", creds.passphrase)):
            if _HEADER_JUNK.intersection(value) or not value.isascii():
                raise ValueError(f"L2 headers: the {what} cannot go in a header line")
        self.creds = creds
        self._base = hmac.new(key, digestmod=hashlib.sha256)
        self._head = (f"POLY_ADDRESS: {address}\r\nPOLY_API_KEY: {creds.api_key}\r\n"
                      f"POLY_PASSPHRASE: {creds.passphrase}\r\n").encode()

    def lines(self, timestamp: int, method: str, path: str, body: bytes) -> bytes:
        """``POLY_*: value\\r\\n`` lines for a request of ``method`` to ``path`` (no query)
        with ``body`` as sent; ``method`` upper-case, ``path`` plain ASCII."""
        h = self._base.copy()
        ts = str(timestamp)
        h.update(f"{ts}{method}{path}".encode())
        h.update(body)
        return b"".join((self._head, b"POLY_SIGNATURE: ", base64.urlsafe_b64encode(h.digest()),
                         b"\r\nPOLY_TIMESTAMP: ", ts.encode(), b"\r\n"))


def recover_order_signer(order_hash_hex: str, signature_hex: str) -> str:
    """The checksummed address that produced ``signature_hex`` (r‖s‖v) over an order hash.

    ``order_hash_hex`` is the EIP-712 digest (``0x`` + 64 hex), i.e. the venue's order id.
    Only the 65-byte form (signature types 0–2) is accepted; for a deposit-wallet signature
    the first 65 bytes sign the wrapped digest, not the order hash. Raises ``ValueError`` on
    malformed input or a signature that does not recover.
    """
    try:
        digest = bytes.fromhex(order_hash_hex.removeprefix("0x"))
        signature = bytes.fromhex(signature_hex.removeprefix("0x"))
    except ValueError:
        raise ValueError("order hash and signature must be hex") from None
    return recover_address(digest, signature)
