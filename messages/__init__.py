"""The vocabulary between actors: frozen, slotted, keyword-only dataclasses.

Prices are integer pips (1e-4), sizes and amounts integer micro-units (1e-6), reference prices
integer 1e-8 USD. Venue time is ``ts_event_ms``; local receive time ``ts_recv_ns``.
"""

from messages.control import (
    FeedStatus,
    KillSwitch,
    ReconnectFeed,
    ResyncBooks,
    Shutdown,
    SlotReady,
    TimerFired,
)
from messages.ids import (
    E8_PER_UNIT,
    MICRO_PER_UNIT,
    PIPS_PER_UNIT,
    ConditionId,
    OrderHash,
    Side,
    TokenId,
    TradeId,
)
from messages.market import (
    BestBidAsk,
    BookChange,
    BookSnapshot,
    LastTrade,
    Level,
    LevelChange,
    MarketAnnounced,
    MarketResolved,
    TickSizeChanged,
)
from messages.markets import Market, MarketsChanged
from messages.orders import (
    CancelAll,
    OrderCanceled,
    OrderFilled,
    OrderPlaced,
    OrderRejected,
    RejectReason,
    RemoteOrder,
)
from messages.prices import PriceSource, PriceUpdate
from messages.quotes import (
    DesiredQuote,
    DesiredQuotes,
    GateReason,
    MarketDecision,
    MarketView,
    QuoteSnapshot,
    RefView,
)
from messages.treasury import PositionsMerged, PositionsRedeemed, TreasuryTx, TxStatus
from messages.user import MakerFill, OrderEvent, OrderEventType, TradeEvent, TradeStatus

__all__ = [
    "E8_PER_UNIT",
    "MICRO_PER_UNIT",
    "PIPS_PER_UNIT",
    "BestBidAsk",
    "BookChange",
    "BookSnapshot",
    "CancelAll",
    "ConditionId",
    "DesiredQuote",
    "DesiredQuotes",
    "FeedStatus",
    "GateReason",
    "KillSwitch",
    "LastTrade",
    "Level",
    "LevelChange",
    "MakerFill",
    "Market",
    "MarketAnnounced",
    "MarketDecision",
    "MarketResolved",
    "MarketView",
    "MarketsChanged",
    "OrderCanceled",
    "OrderEvent",
    "OrderEventType",
    "OrderFilled",
    "OrderHash",
    "OrderPlaced",
    "OrderRejected",
    "PositionsMerged",
    "PositionsRedeemed",
    "PriceSource",
    "PriceUpdate",
    "QuoteSnapshot",
    "ReconnectFeed",
    "RefView",
    "RejectReason",
    "RemoteOrder",
    "ResyncBooks",
    "Shutdown",
    "Side",
    "SlotReady",
    "TickSizeChanged",
    "TimerFired",
    "TokenId",
    "TradeEvent",
    "TradeId",
    "TradeStatus",
    "TreasuryTx",
    "TxStatus",
]
