"""Account reads of the simulated venue: API keys, closed-only status, balances and allowances
as the CLOB caches them, and the geoblock answer (research §11.1, §11.2).

* ``GET /auth/api-keys`` (L2) → ``{"apiKeys": [...]}``: the keys handed out to the caller's
  address.
* ``GET /auth/ban-status/closed-only`` (L2) → ``{"closed_only": bool}``.
* ``GET /balance-allowance`` and ``/balance-allowance/update`` (L2; ``asset_type``
  COLLATERAL | CONDITIONAL | CONDITIONAL-V2, ``token_id``, ``signature_type``) →
  ``{"balance": "<micro>", "allowances": {spender: "<micro>"}}``. As the research reports of
  the real venue, the answer is right for signature type 0 only: the server resolves the
  wallet from the API key's signer, so for a proxy, Safe or deposit wallet it reads an empty
  account. On-chain reads are the truth.
* ``GET /api/geoblock`` (no auth; on polymarket.com for the real venue) →
  ``{"blocked", "ip", "country", "region"}``; ``Access`` holds what it answers.

Owned by the simulator's event loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from sim.auth import Keys, refuse
from sim.chain_state import ChainLedger
from venue.contracts import EXCHANGE_V2, EXCHANGE_V3, NEG_RISK_EXCHANGE_V2, PUSD, contracts_for

_EXCHANGES = (EXCHANGE_V2, NEG_RISK_EXCHANGE_V2, EXCHANGE_V3)
_MAX = str(2**256 - 1)


@dataclass(slots=True)
class Access:
    """What ``/api/geoblock`` answers (set with ``POST /_sim/geoblock``)."""

    blocked: bool = False
    country: str = "IE"
    region: str = "D"


class AccountRoutes:
    def __init__(self, keys: Keys, ledger: ChainLedger, access: Access) -> None:
        self.keys = keys
        self.ledger = ledger
        self.access = access

    async def api_keys(self, request: web.Request) -> web.Response:
        creds = self.keys.l2(request, await request.text())
        mine = sorted(k for k, c in self.keys.creds.items() if c.address == creds.address)
        return web.json_response({"apiKeys": mine})

    async def closed_only(self, request: web.Request) -> web.Response:
        creds = self.keys.l2(request, await request.text())
        return web.json_response(
            {"closed_only": self.ledger.account(creds.address).closed_only})

    async def balance_allowance(self, request: web.Request) -> web.Response:
        creds = self.keys.l2(request, await request.text())
        q = request.query
        sig = q.get("signature_type", "0")
        if sig not in ("0", "1", "2", "3"):
            raise refuse(400, "Invalid signature_type — must be EOA, POLY_PROXY, or "
                              "GNOSIS_SAFE")
        kind = q.get("asset_type", "")
        wallet = creds.address if sig == "0" else None
        if kind == "COLLATERAL":
            a = self.ledger.account(wallet) if wallet else None
            body = {"balance": str(a.pusd if a else 0),
                    "allowances": {x: str(a.allowances.get((PUSD.lower(), x.lower()), 0)
                                          if a else 0) for x in _EXCHANGES}}
        elif kind in ("CONDITIONAL", "CONDITIONAL-V2"):
            token = q.get("token_id", "")
            if not token.isdigit():
                raise refuse(400, "Invalid token_id")
            c = self.ledger.by_token.get(int(token))
            ledger = contracts_for(c.version, c.neg_risk).ledger if c else ""
            a = self.ledger.account(wallet) if wallet else None
            held = self.ledger.balance(ledger, wallet, int(token)) if (wallet and c) else 0
            body = {"balance": str(held),
                    "allowances": {x: _MAX if (a and ledger and a.operators.get(
                        (ledger.lower(), x.lower()))) else "0" for x in _EXCHANGES}}
        else:
            raise refuse(400, "Invalid asset_type")
        return web.json_response(body)

    async def geoblock(self, request: web.Request) -> web.Response:
        a = self.access
        return web.json_response({"blocked": a.blocked, "ip": request.remote or "127.0.0.1",
                                  "country": a.country, "region": a.region})

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/auth/api-keys", self.api_keys),
                web.get("/auth/ban-status/closed-only", self.closed_only),
                web.get("/balance-allowance", self.balance_allowance),
                web.get("/balance-allowance/update", self.balance_allowance),
                web.get("/api/geoblock", self.geoblock)]
