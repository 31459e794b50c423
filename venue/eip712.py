"""EIP-712 for Polymarket: the ``Order`` struct, ``OrderSigner`` and the building blocks L1 auth
shares (protocol §5.1, §6.1, §6.2, §6.4). Import ``Order``/``OrderSigner`` from ``venue.orders``.

Everything an order hash needs is a fixed 32-byte ABI word (every field of the Order struct is a
static type), so a struct hash is one keccak over ``typehash ‖ 11 words`` and the digest one more
keccak over ``0x1901 ‖ domainSeparator ‖ structHash``. Domain separators and type hashes are
computed once here; nothing is computed per order except the words themselves.

Keys are secp256k1 via coincurve (libsecp256k1): RFC 6979 deterministic, low-s, hence
byte-identical to eth-account/eth-keys. A ``PrivateKey`` is never printed or put in an exception.

Deposit wallets (signature type 3) get the ERC-7739 ``TypedDataSign`` wrapping of §6.4; their
order hash (the venue's order id) is the plain EIP-712 hash like everyone else's.

Pure, no threads, no clock (``Order.create`` draws a random salt if none is given). An
``OrderSigner`` belongs to one thread (the OrderManager's). keccak is safe-pysha3's
``keccak_256`` (C, ~1 µs per digest).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sha3
from coincurve import PrivateKey, PublicKey

__all__ = [
    "BUY",
    "CHAIN_ID",
    "EXCHANGE_DOMAIN_NAME",
    "EXCHANGE_V2",
    "EXCHANGE_V3",
    "NEG_RISK_EXCHANGE_V2",
    "ORDER_TYPEHASH",
    "ORDER_TYPE_STRING",
    "POLY_1271",
    "SELL",
    "ZERO_BYTES32",
    "Order",
    "OrderSigner",
    "address_of",
    "address_word",
    "checksum_address",
    "domain_separator",
    "exchange_for",
    "keccak",
    "load_private_key",
    "random_salt",
    "recover_address",
    "sign_digest",
]

CHAIN_ID = 137
"""Polygon mainnet."""

EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"
"""CTF Exchange V2: Gamma ``version: "v1"`` markets, not neg-risk (domain version "2")."""
NEG_RISK_EXCHANGE_V2 = "0xe2222d279d744050d28e00520010520000310F59"
"""Neg Risk CTF Exchange V2: ``version: "v1"`` neg-risk markets (domain version "2")."""
EXCHANGE_V3 = "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa"
"""ExchangeV3: Protocol V2 markets (Gamma ``version: "v2"``, domain version "3")."""

EXCHANGE_DOMAIN_NAME = "Polymarket CTF Exchange"
BUY = 0
"""``side`` of a BUY order in the signed struct."""
SELL = 1
"""``side`` of a SELL order in the signed struct."""
POLY_1271 = 3
"""``signatureType`` of a deposit wallet (ERC-1271 / ERC-7739-wrapped signature, §6.4)."""
ZERO_BYTES32 = "0x" + "00" * 32

ORDER_TYPE_STRING = (
    "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,"
    "uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,"
    "bytes32 builder)"
)
_DOMAIN_TYPE_STRING = (
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
_keccak_256 = sha3.keccak_256


def keccak(data: bytes) -> bytes:
    """keccak-256 (Ethereum's, not NIST SHA3-256) of ``data``."""
    digest: bytes = _keccak_256(data).digest()
    return digest


ORDER_TYPEHASH = keccak(ORDER_TYPE_STRING.encode())
"""``0xbb86318a…8589`` (§6.2): the same for domain versions "2" and "3"."""
_DOMAIN_TYPEHASH = keccak(_DOMAIN_TYPE_STRING.encode())


def address_word(address: str) -> bytes:
    """An address (``0x`` + 40 hex, any case) as a left-zero-padded 32-byte ABI word.

    Raises ``ValueError`` if it is not 20 bytes of hex.
    """
    raw = address[2:] if address[:2] in ("0x", "0X") else address
    if len(raw) != 40:
        raise ValueError(f"not a 20-byte hex address: {address!r}")
    return b"\x00" * 12 + bytes.fromhex(raw)


def checksum_address(raw20: bytes) -> str:
    """EIP-55 mixed-case spelling of a 20-byte address."""
    hexaddr = raw20.hex()
    nibbles = _keccak_256(hexaddr.encode()).hexdigest()
    return "0x" + "".join(c.upper() if n in "89abcdef" else c
                          for c, n in zip(hexaddr, nibbles, strict=False))


def domain_separator(name: str, version: str, chain_id: int, verifying_contract: str) -> bytes:
    """The EIP-712 domain separator for ``EIP712Domain(name,version,chainId,verifyingContract)``."""
    return keccak(_DOMAIN_TYPEHASH + keccak(name.encode()) + keccak(version.encode())
                  + chain_id.to_bytes(32, "big") + address_word(verifying_contract))


def exchange_for(version: str, neg_risk: bool) -> tuple[str, str]:
    """``(verifying contract, EIP-712 domain version)`` for a market (§6.1).

    ``version`` is Gamma's market ``version``: ``"v1"`` markets sign with domain "2" against CTF
    Exchange V2 (or the Neg Risk CTF Exchange V2 when ``neg_risk``); ``"v2"`` (Protocol V2)
    markets sign with domain "3" against ExchangeV3 whatever ``neg_risk`` says. Anything else
    raises ``ValueError``.
    """
    if version == "v1":
        return (NEG_RISK_EXCHANGE_V2 if neg_risk else EXCHANGE_V2), "2"
    if version == "v2":
        return EXCHANGE_V3, "3"
    raise ValueError(f"unknown market version {version!r} (expected 'v1' or 'v2')")


def load_private_key(private_key: str) -> PrivateKey:
    """A coincurve key from ``0x``-prefixed or bare 64-hex-digit text.

    Raises ``ValueError`` that never quotes the key.
    """
    raw = private_key[2:] if private_key[:2] in ("0x", "0X") else private_key
    try:
        if len(raw) != 64:
            raise ValueError
        return PrivateKey(bytes.fromhex(raw))
    except Exception:  # coincurve raises plain ValueError/Exception for an out-of-range scalar
        raise ValueError("invalid private key (expected 32 bytes of hex)") from None


def address_of(key: PrivateKey) -> str:
    """The checksummed Ethereum address of ``key``."""
    return checksum_address(keccak(key.public_key.format(compressed=False)[1:])[-20:])


def sign_digest(key: PrivateKey, digest: bytes) -> str:
    """Sign a 32-byte digest as it is (no further hashing): ``0x`` + r‖s‖v hex, v ∈ {27, 28}."""
    sig = key.sign_recoverable(digest, hasher=None)
    return "0x" + sig[:64].hex() + ("1b" if sig[64] == 0 else "1c")


def recover_address(digest: bytes, signature: bytes) -> str:
    """The checksummed address whose key made ``signature`` (65 bytes r‖s‖v) over ``digest``.

    ``v`` may be 27/28 or 0/1. Raises ``ValueError`` if the signature is malformed or does not
    recover.
    """
    if len(digest) != 32 or len(signature) != 65:
        raise ValueError("expected a 32-byte digest and a 65-byte signature")
    v = signature[64]
    recid = v - 27 if v >= 27 else v
    if recid not in (0, 1):
        raise ValueError(f"bad signature v: {v}")
    try:
        pub = PublicKey.from_signature_and_message(signature[:64] + bytes((recid,)), digest,
                                                   hasher=None)
    except Exception:  # coincurve raises a plain Exception when no key recovers
        raise ValueError("signature does not recover a public key") from None
    return checksum_address(keccak(pub.format(compressed=False)[1:])[-20:])


# ---------------------------------------------------------------------------------------------
# The order struct (§6.2)


def random_salt() -> int:
    """A random salt below 2**53 (it travels as a JSON number)."""
    return secrets.randbits(53)


_MAX_UINT256 = 1 << 256


@dataclass(frozen=True, slots=True)
class Order:
    """One V2 order, exactly the fields that are signed plus ``expiration`` (body only).

    Amounts are base units (1e-6); ``side`` 0 = BUY, 1 = SELL; ``signature_type`` 0 EOA,
    1 proxy, 2 safe, 3 deposit wallet; ``timestamp_ms`` the creation time in Unix ms (not an
    expiry); ``metadata``/``builder`` ``0x`` + 64 hex; ``expiration`` Unix seconds, 0 = none.
    ``token_id`` is the CTF token id (v1 markets) or position id (v2), int or decimal string.
    Raises ``ValueError`` on an out-of-range field.
    """

    salt: int
    maker: str
    signer: str
    token_id: int | str
    maker_amount: int
    taker_amount: int
    side: int
    signature_type: int
    timestamp_ms: int
    metadata: str = ZERO_BYTES32
    builder: str = ZERO_BYTES32
    expiration: int = 0

    def __post_init__(self) -> None:
        if self.side != BUY and self.side != SELL:
            raise ValueError(f"order side must be 0 (BUY) or 1 (SELL), got {self.side!r}")
        if not 0 <= self.signature_type <= POLY_1271:
            raise ValueError(f"signature type must be 0..3, got {self.signature_type!r}")
        if not 0 <= self.salt < 1 << 53:
            raise ValueError(f"salt must be in [0, 2**53), got {self.salt}")
        if not (0 <= self.maker_amount < _MAX_UINT256 and 0 <= self.taker_amount < _MAX_UINT256
                and 0 <= self.timestamp_ms < _MAX_UINT256 and self.expiration >= 0):
            raise ValueError("order amounts, timestamp and expiration must be uint256")
        tid = self.token_id
        if isinstance(tid, str):
            if not (tid.isdigit() and tid.isascii()):
                raise ValueError(f"token id must be a decimal string, got {tid!r}")
        elif not 0 <= tid < _MAX_UINT256:
            raise ValueError(f"token id must be a uint256, got {tid}")

    @classmethod
    def create(cls, *, maker: str, signer: str, token_id: int | str, maker_amount: int,
               taker_amount: int, side: int, timestamp_ms: int, signature_type: int = 0,
               metadata: str = ZERO_BYTES32, builder: str = ZERO_BYTES32, expiration: int = 0,
               salt: int | None = None) -> Order:
        """An order with a fresh random salt (``random_salt()``) unless ``salt`` is given."""
        return cls(salt=random_salt() if salt is None else salt, maker=maker, signer=signer,
                   token_id=token_id, maker_amount=maker_amount, taker_amount=taker_amount,
                   side=side, signature_type=signature_type, timestamp_ms=timestamp_ms,
                   metadata=metadata, builder=builder, expiration=expiration)


# ---------------------------------------------------------------------------------------------
# Signing (§6.1, §6.2, §6.4)

_ZERO_WORD = bytes(32)
_WORDS_MAX = 256
# ERC-7739 wrapping for deposit wallets (signatureType 3), as py-clob-client-v2 1.2.1 does it.
_TYPED_DATA_SIGN_TYPEHASH = keccak(
    b"TypedDataSign(Order contents,string name,string version,uint256 chainId,"
    b"address verifyingContract,bytes32 salt)" + ORDER_TYPE_STRING.encode())
_DEPOSIT_WALLET_NAME_HASH = keccak(b"DepositWallet")
_DEPOSIT_WALLET_VERSION_HASH = keccak(b"1")
_ORDER_TYPE_SUFFIX = (ORDER_TYPE_STRING.encode().hex()
                      + len(ORDER_TYPE_STRING).to_bytes(2, "big").hex())


def _bytes32(value: str) -> bytes:
    if value == ZERO_BYTES32:
        return _ZERO_WORD
    raw = value[2:] if value[:2] in ("0x", "0X") else value
    if len(raw) != 64:
        raise ValueError(f"not a 32-byte hex value: {value!r}")
    return bytes.fromhex(raw)


class OrderSigner:
    """Hashes and signs orders with one private key (EIP-712, §6).

    Keeps one coincurve key for its lifetime and caches domain separators per
    (exchange, domain version) and the ABI words of the addresses it has seen. Not
    thread-safe by design: one signer per thread (the OrderManager's). The key never appears in
    ``repr`` or in an exception.
    """

    __slots__ = ("_address_lower", "_domains", "_key", "_words", "address", "chain_id")

    def __init__(self, private_key: str, chain_id: int = CHAIN_ID) -> None:
        self._key = load_private_key(private_key)
        self.address: str = address_of(self._key)
        """The signing EOA, EIP-55 checksummed."""
        self._address_lower = self.address.lower()
        self.chain_id = chain_id
        self._domains: dict[tuple[str, str], bytes] = {}
        self._words: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return f"OrderSigner(address={self.address!r}, chain_id={self.chain_id})"

    def _domain_prefix(self, exchange: str, domain_version: str) -> bytes:
        """``0x1901 ‖ domainSeparator`` for one exchange (cached)."""
        prefix = self._domains.get((exchange, domain_version))
        if prefix is None:
            prefix = b"\x19\x01" + domain_separator(EXCHANGE_DOMAIN_NAME, domain_version,
                                                    self.chain_id, exchange)
            self._domains[(exchange, domain_version)] = prefix
        return prefix

    def _word(self, address: str) -> bytes:
        word = self._words.get(address)
        if word is None:
            word = address_word(address)
            if len(self._words) < _WORDS_MAX:
                self._words[address] = word
        return word

    def _struct_hash(self, order: Order) -> bytes:
        return keccak(b"".join((
            ORDER_TYPEHASH,
            order.salt.to_bytes(32, "big"),
            self._word(order.maker),
            self._word(order.signer),
            int(order.token_id).to_bytes(32, "big"),
            order.maker_amount.to_bytes(32, "big"),
            order.taker_amount.to_bytes(32, "big"),
            order.side.to_bytes(32, "big"),
            order.signature_type.to_bytes(32, "big"),
            order.timestamp_ms.to_bytes(32, "big"),
            _bytes32(order.metadata),
            _bytes32(order.builder),
        )))

    def digest(self, order: Order, *, exchange: str, domain_version: str = "2") -> bytes:
        """The 32-byte EIP-712 digest of ``order`` (its hash as bytes)."""
        return keccak(self._domain_prefix(exchange, domain_version) + self._struct_hash(order))

    def order_hash(self, order: Order, *, exchange: str, domain_version: str = "2") -> str:
        """The order's EIP-712 hash, ``0x`` + 64 lower-case hex: the venue's order id."""
        return "0x" + self.digest(order, exchange=exchange, domain_version=domain_version).hex()

    def sign(self, order: Order, *, exchange: str, domain_version: str = "2") -> str:
        """The order signature: ``0x`` + r‖s‖v hex (v 27/28); deposit wallets get §6.4's form."""
        return self.sign_with_hash(order, exchange=exchange, domain_version=domain_version)[1]

    def sign_with_hash(self, order: Order, *, exchange: str,
                       domain_version: str = "2") -> tuple[str, str]:
        """``(order hash, signature)`` in one pass (the hot path).

        Raises ``ValueError`` if ``order.signer`` is not this key's address (except for
        deposit wallets, signature type 3, where the wallet itself is the signer).
        """
        prefix = self._domain_prefix(exchange, domain_version)
        struct_hash = self._struct_hash(order)
        digest = keccak(prefix + struct_hash)
        if order.signature_type == POLY_1271:
            return "0x" + digest.hex(), self._sign_1271(order, prefix, struct_hash)
        if order.signer != self.address and order.signer.lower() != self._address_lower:
            raise ValueError(f"order signer {order.signer} is not this key's address "
                             f"{self.address}")
        sig = self._key.sign_recoverable(digest, hasher=None)
        return "0x" + digest.hex(), "0x" + sig[:64].hex() + ("1b" if sig[64] == 0 else "1c")

    def _sign_1271(self, order: Order, prefix: bytes, contents_hash: bytes) -> str:
        """ERC-7739 ``TypedDataSign`` wrapping of a deposit-wallet order (§6.4)."""
        wrapped = keccak(b"".join((
            _TYPED_DATA_SIGN_TYPEHASH, contents_hash, _DEPOSIT_WALLET_NAME_HASH,
            _DEPOSIT_WALLET_VERSION_HASH, self.chain_id.to_bytes(32, "big"),
            self._word(order.signer), _ZERO_WORD)))
        sig = self._key.sign_recoverable(keccak(prefix + wrapped), hasher=None)
        return ("0x" + sig[:64].hex() + ("1b" if sig[64] == 0 else "1c")
                + prefix[2:].hex() + contents_hash.hex() + _ORDER_TYPE_SUFFIX)
