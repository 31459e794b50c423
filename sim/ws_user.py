"""The user channel (``/ws/user``): ``order`` and ``trade`` events for one API key.

The first frame carries the raw credentials (§2); bad credentials close the socket. A client
sees only its own key's events, filtered by the condition ids it asked for (none = all).
Owned by the simulator's event loop.
"""

from __future__ import annotations

import logging

import orjson
from aiohttp import web

from sim.auth import Keys
from sim.hub import Conn, Hub

logger = logging.getLogger(__name__)


class UserRouter:
    """Delivers a key's events to that key's user sockets (the ``UserOut`` of the exchange)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def send(self, api_key: str, condition_id: str, event: dict[str, object]) -> None:
        text: str | None = None
        for conn in self.hub.conns["user"]:
            if conn.api_key != api_key:
                continue
            if (condition_id in conn.excluded if conn.markets is None
                    else condition_id not in conn.markets):
                continue
            if text is None:
                text = orjson.dumps(event).decode()
            self.hub.send(conn, text)


async def user_socket(request: web.Request, hub: Hub, keys: Keys) -> web.WebSocketResponse:
    """``GET /ws/user``."""
    ws = web.WebSocketResponse(compress=False, autoping=True)
    await ws.prepare(request)
    conn = Conn(channel="user", ws=ws, transport=request.transport)
    writer = await hub.serve(conn)
    try:
        async for req in hub.requests(conn, ws):
            markets = req.get("markets")
            if not conn.api_key:
                creds = keys.by_raw(req.get("auth"))
                if creds is None or req.get("type", "user").lower() != "user":
                    await ws.close(code=4001, message=b"Unauthorized/Invalid api key")
                    break
                conn.api_key = creds.api_key
                conn.markets = set(map(str, markets)) if markets else None
                hub.mark_subscribed(conn)
                continue
            op = req.get("operation")
            # A connection that asked for no markets gets every market (``markets`` None);
            # unsubscribing then excludes those markets rather than silencing all of them.
            if op == "subscribe" and markets:
                if conn.markets is None:
                    conn.excluded.difference_update(map(str, markets))
                else:
                    conn.markets.update(map(str, markets))
            elif op == "unsubscribe" and markets:
                if conn.markets is None:
                    conn.excluded.update(map(str, markets))
                else:
                    conn.markets.difference_update(map(str, markets))
    finally:
        hub.forget(conn)
        writer.cancel()
    return ws
