"""Starting the IO actors (feeds and discovery) with their sinks wired.

Kept apart from the supervisor so that a restart after a crash builds the actor exactly as the
start-up did. Runs on the main thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from messages import MarketResolved, PriceUpdate, TradeEvent
from runtime.sinks import only
from trading.paper_gateway import PAPER_MESSAGES
from trading.paper_settle import STREAMS as SETTLEMENT_STREAMS
from venue.redact import redacting_sinks

if TYPE_CHECKING:
    from polymm.supervisor import Supervisor


def start_io_actor(sup: Supervisor, name: str) -> None:
    """Start feed or discovery actor ``name`` with its sinks (state, order manager, ...), and
    make it the role's actor in ``sup.actors``."""
    from actors.discovery import Discovery
    from actors.market_feed import MarketFeed
    from actors.price_feed import PriceFeed
    from actors.user_feed import UserFeed

    cfg, v, actors = sup.config, sup.venue, sup.actors
    state = actors.refs["state"].tell
    om = actors.refs["order_manager"].tell
    treasury = actors.roles["treasury"].tell  # dropped in a run without one
    if name == "user_feed":
        creds = v.private().creds
        sinks = redacting_sinks([state, om, only(TradeEvent, treasury)], creds.api_key)
        actors.add(name, UserFeed.start(v.user_ws_url, cfg.user_feed, creds, sinks,
                                        metrics=sup.metrics, shutdown=sup.shutting_down))
    elif name == "market_feed":
        # Tick changes go to the State only: the OrderManager takes the tick with the
        # desired quotes priced on it. In a dry run the OrderManager's paper exchange fills
        # from the market channel, so it reads it too.
        actors.add(name, MarketFeed.start(v.market_ws_url, cfg.market_feed,
                                          [state, only(PAPER_MESSAGES, om)] if sup.dry_run
                                          else [state, only(MarketResolved, treasury)],
                                          metrics=sup.metrics, shutdown=sup.shutting_down))
    elif name == "price_feed":
        url = v.polybolt_url if cfg.price_feed.provider == "polybolt" else v.rtds_url
        assets = sorted({s.asset for s in cfg.discovery.series})
        # In a dry run the paper exchange settles each window from the reference prices.
        settles = only(PriceUpdate, om, lambda m: m.source in SETTLEMENT_STREAMS)
        actors.add(name, PriceFeed.start(url, cfg.price_feed, v.creds, assets,
                                         [state, settles] if sup.dry_run else [state],
                                         metrics=sup.metrics, shutdown=sup.shutting_down))
    elif name == "discovery":
        # Through the roles: a feed restarted by the supervisor has a new ref.
        sinks = [actors.roles[n].tell for n in (
            "state", "order_manager", "treasury", "user_feed", "market_feed", "price_feed")]
        actors.add(name, Discovery.start(v.gamma, cfg.discovery, sinks, metrics=sup.metrics))
    else:
        raise ValueError(name)
