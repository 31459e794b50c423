"""Market metadata from discovery (Gamma) and the change notice that carries it."""

from __future__ import annotations

from dataclasses import dataclass

from messages.ids import ConditionId, TokenId


@dataclass(frozen=True, slots=True, kw_only=True)
class Market:
    """What the bot needs to know about one binary market.

    ``token_ids[0]`` is Up/Yes, ``token_ids[1]`` Down/No (Gamma ``clobTokenIds`` order).
    ``alias`` is a short stable name for logs and metric dimensions (``btc-15m``, or the
    configured alias of a fixed slug). ``asset`` is the reference asset (``btc``), empty for
    markets quoted without a reference price. ``start_ms``/``end_ms`` bound the window
    (``eventStartTime``/``endDate``). ``price_to_beat_e8`` is Gamma's ``priceToBeat`` if any.
    """

    condition_id: ConditionId
    slug: str
    alias: str
    question: str
    token_ids: tuple[TokenId, TokenId]
    outcomes: tuple[str, str]
    version: str
    neg_risk: bool
    tick_pips: int
    min_size_micro: int
    start_ms: int
    end_ms: int
    accepting_orders: bool
    asset: str = ""
    strategy: str = "updown"
    taker_fee_rate_bps: int = 0
    maker_rebate_bps: int = 0
    price_to_beat_e8: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketsChanged:
    """The set of markets to trade changed. Carries the whole new set (a complete state)."""

    markets: tuple[Market, ...]
    added: tuple[ConditionId, ...]
    removed: tuple[ConditionId, ...]
    ts_recv_ns: int

    def token_ids(self) -> tuple[TokenId, ...]:
        """All token ids of all markets, Up before Down, in market order."""
        return tuple(t for m in self.markets for t in m.token_ids)
