"""Our trades read back from the venue (``GET /data/trades``) as user-channel events.

Start-up and user-feed recovery use it; no threads of its own (the caller's, before any actor
shares the REST client, or the OrderManager's).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson

from messages.errors import VenueError
from venue.redact import redact_owner
from venue.wire import decode_user
from venue.wire_common import WireError

logger = logging.getLogger(__name__)


def our_trades(client: Any, api_key: str, *, attempts: int = 3) -> list[Any]:
    """Our trades at the venue (``GET /data/trades``) as user-channel ``TradeEvent``s.

    Start-up reconciliation of positions: the events go to the State and the OrderManager the
    same way the user feed's do (owner mapped to ``self``/``other``), so a later status change
    of the same trade id on the user channel is recognised, never counted twice. Rows that do
    not decode are skipped and counted in the log line. Retries briefly (start-up only).

    Raises:
        VenueError: the venue did not answer after ``attempts`` tries.
    """
    rows: list[Any] = []
    for attempt in range(attempts):
        try:
            rows = client.trades()
            break
        except VenueError as exc:
            if attempt == attempts - 1:
                raise
            logger.warning("venue: reading our trades failed (%s); retrying", exc)
            time.sleep(0.3 * (attempt + 1))  # start-up only, before any actor uses the client
    now_ns = time.time_ns()
    out: list[Any] = []
    bad = 0
    for row in rows:
        try:
            frame = orjson.dumps({**row, "event_type": "trade"}) if isinstance(row, dict) else b""
            out.extend(redact_owner(ev, api_key) for ev in decode_user(frame, now_ns))
        except (WireError, TypeError) as exc:
            bad += 1
            logger.debug("venue: skipped a trade row: %s", exc)
    # The venue lists trades newest first; apply them in the order they happened.
    out.sort(key=lambda ev: ev.ts_event_ms)
    logger.info("venue: %d of our trades at the venue (%d rows skipped)", len(out), bad)
    return out
