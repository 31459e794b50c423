"""Starting the IO actors (feeds and discovery) with their sinks wired.

Kept apart from the supervisor so that a restart after a crash builds the actor exactly as the
start-up did. Runs on the main thread.
"""

from __future__ import annotations

from typing import Any

import pykka

from venue.redact import redacting_sinks


def start_io_actor(sup: Any, name: str) -> pykka.ActorRef[Any]:
    """Start feed or discovery actor ``name`` with its sinks (state, order manager, ...)."""
    from actors.discovery import Discovery
    from actors.market_feed import MarketFeed
    from actors.price_feed import PriceFeed
    from actors.user_feed import UserFeed

    cfg, v, refs = sup.config, sup.venue, sup.actors.refs
    state = refs["state"].tell
    om = refs["order_manager"].tell
    if name == "user_feed":
        sinks = redacting_sinks([state, om], v.creds.api_key)
        return UserFeed.start(v.user_ws_url, cfg.user_feed, v.creds, sinks,
                              metrics=sup.metrics, shutdown=sup.shutting_down)
    if name == "market_feed":
        # Tick changes go to the State only: the OrderManager takes the tick with the
        # desired quotes priced on it. In a dry run the OrderManager's paper exchange fills
        # from the market channel, so it reads it too.
        return MarketFeed.start(v.market_ws_url, cfg.market_feed,
                                [state, om] if sup.dry_run else [state],
                                metrics=sup.metrics, shutdown=sup.shutting_down)
    if name == "price_feed":
        url = v.polybolt_url if cfg.price_feed.provider == "polybolt" else v.rtds_url
        assets = sorted({s.asset for s in cfg.discovery.series})
        return PriceFeed.start(url, cfg.price_feed, v.creds, assets, [state],
                               metrics=sup.metrics, shutdown=sup.shutting_down)
    if name == "discovery":
        # Through the roles: a feed restarted by the supervisor has a new ref.
        sinks = [sup.actors.roles[n].tell for n in (
            "state", "order_manager", "user_feed", "market_feed", "price_feed")]
        return Discovery.start(v.gamma, cfg.discovery, sinks, metrics=sup.metrics)
    raise ValueError(name)
