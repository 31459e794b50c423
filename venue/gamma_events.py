"""Gamma's events (``GET /events?slug=...``) as the tradable markets Discovery wants.

The walk over Gamma's event and market objects stops here, so the Discovery actor never reads
a wire dict. Pure code, no threads: the Discovery actor's thread calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from messages import Market
from venue.gamma import parse_market

Target = tuple[str, str, str]
"""What a wanted slug becomes: ``(alias, asset, strategy)``."""


def build_markets(events: Sequence[Mapping[str, Any]], wanted: Mapping[str, Target],
                  now_ms: int,
                  on_error: Callable[[str, Exception], None] | None = None) -> tuple[Market, ...]:
    """The tradable markets of Gamma's ``events``: wanted, parseable, not yet ended.

    Ordered by (alias, window start, condition id) so equal sets compare equal. A market that
    fails to parse is reported through ``on_error`` and skipped.
    """
    found: dict[str, Market] = {}
    for ev in events:
        slug = ev.get("slug")
        target = wanted.get(slug) if isinstance(slug, str) else None
        ms = ev.get("markets") or []
        if not isinstance(ms, list):
            continue
        for i, m in enumerate(ms):
            mt = target
            if mt is None and isinstance(m, Mapping):
                mslug = m.get("slug")
                mt = wanted.get(mslug) if isinstance(mslug, str) else None
            if mt is None:
                continue
            alias, asset, strategy = mt
            if len(ms) > 1 and not asset:
                alias = f"{alias}-{i}"
            try:
                market = parse_market(m, event=ev, alias=alias, asset=asset, strategy=strategy)
            except Exception as exc:
                if on_error is not None:
                    on_error(str(slug), exc)
                continue
            if market.end_ms > now_ms:
                found[market.condition_id] = market
    return tuple(sorted(found.values(), key=lambda m: (m.alias, m.start_ms, m.condition_id)))
