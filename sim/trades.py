"""Bot orders and trades as the venue records them, and their user-channel/REST shapes.

Owned by the simulator's event loop. Sizes micro-units, prices pips, times Unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.wire import micro_str, pips_str

OUTCOMES = ("Up", "Down")
NOISE_OWNER = "00000000-0000-4000-8000-000000000000"


@dataclass(slots=True)
class Order:
    """One order of an API key (noise orders live only in the book)."""

    id: str
    owner: str
    maker_address: str
    condition_id: str
    token_id: str
    token_index: int
    side: str
    price_pips: int
    original_micro: int
    order_type: str
    expiration: str
    created_s: int
    matched_micro: int = 0
    status: str = "LIVE"
    trade_ids: list[str] = field(default_factory=list)

    @property
    def remaining_micro(self) -> int:
        return self.original_micro - self.matched_micro


def order_json(o: Order) -> dict[str, object]:
    """``GET /data/order/{id}`` / ``/data/orders`` shape."""
    return {
        "id": o.id, "status": o.status, "owner": o.owner, "maker_address": o.maker_address,
        "market": o.condition_id, "asset_id": o.token_id, "side": o.side,
        "original_size": micro_str(o.original_micro), "size_matched": micro_str(o.matched_micro),
        "price": pips_str(o.price_pips), "outcome": OUTCOMES[o.token_index],
        "expiration": o.expiration, "order_type": o.order_type,
        "associate_trades": list(o.trade_ids), "created_at": o.created_s,
    }


def order_event(o: Order, kind: str, now_ms: int) -> dict[str, object]:
    """A user-channel ``order`` event (PLACEMENT / UPDATE / CANCELLATION)."""
    return {
        "event_type": "order", "type": kind, "id": o.id, "owner": o.owner,
        "order_owner": o.owner, "market": o.condition_id, "asset_id": o.token_id,
        "side": o.side, "original_size": micro_str(o.original_micro),
        "size_matched": micro_str(o.matched_micro), "price": pips_str(o.price_pips),
        "associate_trades": list(o.trade_ids) or None, "outcome": OUTCOMES[o.token_index],
        "created_at": str(o.created_s), "expiration": o.expiration,
        "order_type": o.order_type, "status": o.status, "maker_address": o.maker_address,
        "timestamp": str(now_ms),
    }


@dataclass(frozen=True, slots=True)
class MakerEntry:
    order_id: str
    owner: str
    maker_address: str
    token_id: str
    token_index: int
    side: str
    price_pips: int
    matched_micro: int


@dataclass(slots=True)
class Trade:
    """One match: a taker against one or more resting orders. ``status`` moves on."""

    id: str
    taker_order_id: str
    condition_id: str
    token_id: str
    token_index: int
    side: str
    price_pips: int
    size_micro: int
    taker_owner: str
    taker_address: str
    makers: tuple[MakerEntry, ...]
    match_s: int
    status: str = "MATCHED"
    last_update_s: int = 0

    def owners(self) -> set[str]:
        """The API keys (not noise) that see this trade on their user channel."""
        keys = {m.owner for m in self.makers if m.owner}
        if self.taker_owner:
            keys.add(self.taker_owner)
        return keys


def trade_json(t: Trade, viewer: str, now_ms: int | None = None) -> dict[str, object]:
    """A ``trade`` event (with ``now_ms``) or a ``/data/trades`` row, as seen by ``viewer``."""
    maker_view = viewer != t.taker_owner
    maker_addr = next((m.maker_address for m in t.makers if m.owner == viewer),
                      t.taker_address)
    body: dict[str, object] = {
        "id": t.id, "taker_order_id": t.taker_order_id, "market": t.condition_id,
        "asset_id": t.token_id, "side": t.side, "size": micro_str(t.size_micro),
        "price": pips_str(t.price_pips), "fee_rate_bps": "0", "status": t.status,
        "match_time": str(t.match_s), "last_update": str(t.last_update_s or t.match_s),
        "outcome": OUTCOMES[t.token_index], "owner": viewer, "trade_owner": viewer,
        "maker_address": maker_addr, "transaction_hash": "0x" + "0" * 64,
        "bucket_index": 0, "trader_side": "MAKER" if maker_view else "TAKER",
        "maker_orders": [
            {"order_id": m.order_id, "owner": m.owner or NOISE_OWNER,
             "maker_address": m.maker_address, "matched_amount": micro_str(m.matched_micro),
             "price": pips_str(m.price_pips), "fee_rate_bps": "0", "asset_id": m.token_id,
             "outcome": OUTCOMES[m.token_index], "side": m.side}
            for m in t.makers],
    }
    if now_ms is not None:
        body = {"event_type": "trade", "type": "TRADE", **body, "timestamp": str(now_ms)}
    return body
