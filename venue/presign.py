"""Orders signed ahead of need: the gateway's store of presigned orders.

Signing is the largest single cost of a replace (two secp256k1 signatures, ~60 µs, and the
Python around them), and the prices of the next replace are guessable: a tick either side of
each resting quote, or the price a quote just left. So while the OrderManager is idle its
gateway signs those orders (``ClobGateway.presign``), each with a fresh random salt and the
current time as its ``timestamp``, and keeps them here; ``ClobGateway.sign`` takes one when
its quote matches and signs afresh otherwise. A presigned order is the very order ``sign``
would have made then (same code: ``check_quote``, ``Order.create``, ``sign_with_hash``,
``order_body``), so only its salt and timestamp differ from a fresh one.

Rules that keep it safe:

* **Used at most once.** ``take`` removes the entry it returns; a salt is never signed twice.
* **Only what was checked.** The key is everything the order carries from the quote (token,
  side, price, size, exchange, EIP-712 domain); the entry also keeps the tick it was checked on
  and the signing identity (signer, maker, signature type, owner, post-only). An entry whose
  tick or identity differs from the current ones is dropped, never used.
* **Fresh.** The order's ``timestamp`` is its creation time (protocol §6.2: not an expiry), so
  an entry older than ``max_age_ms`` is dropped: an order on the wire is at most that old.
* **Bounded.** At most ``max_entries``; the oldest goes first.

Thread ownership: the gateway's (the OrderManager's thread). Pure: times are arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

from messages import OrderHash, Side, TokenId

MAX_ENTRIES = 16
"""Presigned orders kept per gateway (a few per quoted level)."""
MAX_AGE_MS = 5_000
"""Oldest presigned order that may still be posted (its ``timestamp`` is when it was signed)."""

Key = tuple[TokenId, Side, int, int, str, str]
"""(token, side, price in pips, size in micro, exchange, domain version)."""
Identity = tuple[str, str, str, int, str, bool]
"""(signer key's address, maker, order signer, signature type, owner, post-only)."""


@dataclass(frozen=True, slots=True)
class Presigned:
    """One presigned order: its hash, its ``POST /orders`` envelope, and what it was checked
    and signed under."""

    order_id: OrderHash
    body: bytes
    tick_pips: int
    identity: Identity
    signed_ms: int


class PresignCache:
    """Presigned orders by :data:`Key`, oldest first; counts hits, misses and dropped ones."""

    __slots__ = ("_entries", "dropped", "hits", "max_age_ms", "max_entries", "misses")

    def __init__(self, *, max_entries: int = MAX_ENTRIES, max_age_ms: int = MAX_AGE_MS) -> None:
        self.max_entries = max_entries
        self.max_age_ms = max_age_ms
        self._entries: dict[Key, Presigned] = {}
        self.hits = 0
        self.misses = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _usable(self, e: Presigned, tick_pips: int, identity: Identity, now_ms: int) -> bool:
        return (e.tick_pips == tick_pips and e.identity == identity
                and 0 <= now_ms - e.signed_ms <= self.max_age_ms)

    def take(self, key: Key, tick_pips: int, identity: Identity,
             now_ms: int) -> Presigned | None:
        """The entry for ``key``, removed, if it may be posted now; an entry that may not is
        removed too (counted as dropped)."""
        e = self._entries.pop(key, None)
        if e is None:
            self.misses += 1
            return None
        if not self._usable(e, tick_pips, identity, now_ms):
            self.dropped += 1
            self.misses += 1
            return None
        self.hits += 1
        return e

    def has(self, key: Key, tick_pips: int, identity: Identity, now_ms: int) -> bool:
        """Whether a usable entry for ``key`` is kept (presigning it again would be waste)."""
        e = self._entries.get(key)
        return e is not None and self._usable(e, tick_pips, identity, now_ms)

    def put(self, key: Key, entry: Presigned) -> None:
        """Keep ``entry`` (replacing one under the same key), dropping the oldest beyond
        ``max_entries``."""
        if self._entries.pop(key, None) is not None:
            self.dropped += 1
        self._entries[key] = entry
        while len(self._entries) > self.max_entries:
            del self._entries[next(iter(self._entries))]
            self.dropped += 1

    def clear(self) -> None:
        self.dropped += len(self._entries)
        self._entries.clear()
