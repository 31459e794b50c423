"""Counters the simulator reports at ``GET /_sim/state``. Owned by the event loop."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class Stats:
    """What the venue saw and did; every injected fault is counted in ``faults``."""

    orders_received: int = 0
    orders_accepted: int = 0
    signature_failures: int = 0
    auth_failures: int = 0
    duplicates: int = 0
    fills: int = 0
    heartbeats: int = 0
    heartbeat_expiries: int = 0
    cancels: int = 0
    market_messages: int = 0
    slow_consumers: int = 0
    book_dumps: int = 0
    canceled_at_close: int = 0
    rejects: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    # Per channel: websocket connections opened, and those that completed a subscription
    # (the user channel's auth frame, PolyBolt's auth + subscribe, a market subscribe).
    connections: Counter[str] = field(default_factory=Counter)
    subscribed: Counter[str] = field(default_factory=Counter)
    # Retry-After windows the venue opened (a 425/429/503 fault with a wait) and requests a
    # client sent inside one for an operation the refusal covered, by operation class.
    retry_after_windows: Counter[str] = field(default_factory=Counter)
    retry_after_violations: Counter[str] = field(default_factory=Counter)
    # Requests a dry run must never send (auth headers, or an order, cancel, heartbeat, auth or
    # user-channel route), counted on arrival whatever their outcome, and by "METHOD route".
    private_requests: int = 0
    private_routes: Counter[str] = field(default_factory=Counter)

    def reject(self, reason: str) -> None:
        self.rejects[reason] += 1

    def private(self, route: str) -> None:
        self.private_requests += 1
        self.private_routes[route] += 1

    def as_json(self) -> dict[str, object]:
        return {
            "orders_received": self.orders_received,
            "orders_accepted": self.orders_accepted,
            "signature_failures": self.signature_failures,
            "auth_failures": self.auth_failures,
            "duplicates": self.duplicates,
            "fills": self.fills,
            "heartbeats": self.heartbeats,
            "heartbeat_expiries": self.heartbeat_expiries,
            "cancels": self.cancels,
            "market_messages": self.market_messages,
            "slow_consumers": self.slow_consumers,
            "book_dumps": self.book_dumps,
            "canceled_at_close": self.canceled_at_close,
            "rejects": dict(self.rejects),
            "faults": dict(self.faults),
            "connections": dict(self.connections),
            "subscribed": dict(self.subscribed),
            "retry_after_windows": dict(self.retry_after_windows),
            "retry_after_violations": dict(self.retry_after_violations),
            "private_requests": self.private_requests,
            "private_routes": dict(self.private_routes),
        }
