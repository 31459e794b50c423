"""API keys of the simulated venue: L1 (ClobAuth signature) and L2 (HMAC) request checks.

Credentials derive deterministically from seed + address + nonce, so ``POST /auth/api-key`` and
``GET /auth/derive-api-key`` agree and survive a restart. A key is known to the venue once one
of those routes handed it out. Secrets never reach a log line or an error. Event loop owned.
"""

from __future__ import annotations

import logging

import orjson
from aiohttp import web

from sim.stats import Stats
from sim.verify import ApiCreds, check_hmac, clob_auth_digest, derive_creds, recover_address

logger = logging.getLogger(__name__)


def refuse(status: int, message: str) -> web.HTTPException:
    """An HTTP error carrying the venue's ``{"error": …}`` body."""
    cls = web.HTTPBadRequest if status == 400 else web.HTTPUnauthorized if status == 401 else \
        web.HTTPNotFound if status == 404 else web.HTTPInternalServerError
    return cls(text=orjson.dumps({"error": message}).decode(), content_type="application/json")


class Keys:
    """The registry of handed-out API credentials."""

    def __init__(self, seed: int, stats: Stats) -> None:
        self.seed = seed
        self.stats = stats
        self.creds: dict[str, ApiCreds] = {}

    def l1(self, request: web.Request) -> ApiCreds:
        """Check the L1 headers; returns the (registered) credentials of address + nonce."""
        h = request.headers
        try:
            address, sig, ts = h["POLY_ADDRESS"], h["POLY_SIGNATURE"], h["POLY_TIMESTAMP"]
            nonce = int(h.get("POLY_NONCE", "0"))
            signer = recover_address(clob_auth_digest(address, ts, nonce), sig)
        except (KeyError, ValueError):
            signer = None
        if signer is None or signer != h.get("POLY_ADDRESS", "").lower():
            self.stats.auth_failures += 1
            raise refuse(401, "Invalid L1 Request headers")
        creds = derive_creds(self.seed, address, nonce)
        if creds.api_key not in self.creds:
            # Never the key itself: the API key labels our orders and is a credential.
            logger.info("api credentials handed out to %s", creds.address)
        self.creds[creds.api_key] = creds
        return creds

    def l2(self, request: web.Request, body: str) -> ApiCreds:
        """Check the L2 headers over ``ts + METHOD + path + body``; 401 on any mismatch."""
        h = request.headers
        creds = self.creds.get(h.get("POLY_API_KEY", ""))
        ok = (creds is not None
              and h.get("POLY_ADDRESS", "").lower() == creds.address
              and h.get("POLY_PASSPHRASE", "") == creds.passphrase
              and check_hmac(creds, h.get("POLY_SIGNATURE", ""), h.get("POLY_TIMESTAMP", ""),
                             request.method, request.path, body))
        if not ok or creds is None:
            self.stats.auth_failures += 1
            raise refuse(401, "Unauthorized/Invalid api key")
        return creds

    def by_raw(self, auth: object) -> ApiCreds | None:
        """Credentials sent in the clear (user channel, PolyBolt), or None if they do not match."""
        if not isinstance(auth, dict):
            return None
        creds = self.creds.get(str(auth.get("apiKey", "")))
        if (creds is None or auth.get("secret") != creds.secret
                or auth.get("passphrase") != creds.passphrase):
            self.stats.auth_failures += 1
            return None
        return creds

    async def create(self, request: web.Request) -> web.Response:
        return self._creds_reply(self.l1(request))

    async def derive(self, request: web.Request) -> web.Response:
        return self._creds_reply(self.l1(request))

    @staticmethod
    def _creds_reply(creds: ApiCreds) -> web.Response:
        return web.json_response({"apiKey": creds.api_key, "secret": creds.secret,
                                  "passphrase": creds.passphrase})

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/auth/api-key", self.create),
                web.get("/auth/derive-api-key", self.derive)]
