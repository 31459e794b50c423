"""Account reads for pre-flight: the CLOB's view of our API keys, closed-only status and cached
balances (research §11.1), and the geoblock answer (§11.2).

``AccountReads`` signs its requests with L2 headers (``venue.auth``) and sends them over its
own ``requests.Session`` with the project's keep-alive adapter, as ``venue.rest.ClobClient``
does; errors are the same ``messages.errors`` tree (``Unauthorized`` for 401, ``NotSent`` /
``OutcomeUnknown`` without a reply, ``BadReply`` for a shape we cannot read). ``read_geoblock``
asks ``polymarket.com/api/geoblock`` (another host, no auth) about this machine's IP.

``/balance-allowance`` is informational only: it has no wallet parameter (the server resolves
the wallet from the API key's signer and ``signature_type``) and the research found it reading
0 for proxies and deposit wallets that hold pUSD on chain. On-chain reads are the truth.

Thread ownership: the caller's (pre-flight runs on the main thread before any actor).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
import requests

from messages.errors import BadReply, NotSent, PolymmError
from venue.auth import ApiCreds, l2_headers
from venue.keepalive import KeepAliveAdapter, new_session
from venue.rest_call import no_reply, prepared
from venue.rest_errors import error_from_response

__all__ = ["AccountReads", "BalanceAllowance", "Geoblock", "read_geoblock"]

_HEADERS = {"User-Agent": "polymm/0.1", "Accept": "application/json"}
_NO_PROXIES: dict[str, str] = {}


@dataclass(frozen=True, slots=True)
class Geoblock:
    """``GET /api/geoblock``: whether orders from this machine's IP are refused."""

    blocked: bool
    country: str
    region: str
    ip: str


@dataclass(frozen=True, slots=True)
class BalanceAllowance:
    """``GET /balance-allowance``: the CLOB's cached balance and allowances, base units."""

    balance_micro: int
    allowances: Mapping[str, int]


def _get(session: requests.Session, url: str, route: str, headers: Mapping[str, str],
         now_s: int) -> Any:
    try:
        reply = session.send(prepared("GET", url, headers, None), allow_redirects=False,
                             proxies=_NO_PROXIES)
    except requests.RequestException as exc:
        raise no_reply("GET", route, exc) from exc
    if not 200 <= reply.status_code < 300:
        raise error_from_response(reply.status_code, reply.content,
                                  reply.headers.get("Retry-After"), now_s=now_s,
                                  reason_phrase=reply.reason)
    try:
        return orjson.loads(reply.content)
    except orjson.JSONDecodeError:
        raise BadReply(f"{route}: reply is not JSON", status=reply.status_code) from None


def _int(value: object, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise BadReply(f"{what}: expected an integer, got {value!r:.60}")


def read_geoblock(url: str, *, timeout_s: float = 5.0) -> Geoblock:
    """Ask ``url`` (``https://polymarket.com/api/geoblock``) about this machine's IP."""
    if not url.startswith(("http://", "https://")):
        raise PolymmError(f"geoblock: not an http(s) URL: {url!r}")
    session = new_session(KeepAliveAdapter(url, connect_timeout_s=timeout_s,
                                           timeout_s=timeout_s))
    try:
        obj = _get(session, url, "/api/geoblock", _HEADERS, int(time.time()))
    finally:
        session.close()
    if not isinstance(obj, dict) or not isinstance(obj.get("blocked"), bool):
        raise BadReply("/api/geoblock: expected {blocked: bool, ...}")
    return Geoblock(blocked=obj["blocked"], country=str(obj.get("country") or "?"),
                    region=str(obj.get("region") or ""), ip=str(obj.get("ip") or ""))


class AccountReads:
    """L2-authenticated account reads on the CLOB.

    Args:
        base_url: the CLOB (``https://clob.polymarket.com`` or the simulated venue).
        address: the signing EOA (``POLY_ADDRESS``: API keys belong to it, whatever the wallet).
        creds: the API credentials to check.
        clock: Unix seconds for ``POLY_TIMESTAMP`` (the venue's clock if ours is off).
    """

    def __init__(self, base_url: str, *, address: str, creds: ApiCreds,
                 clock: Callable[[], int] = lambda: int(time.time()),
                 timeout_s: float = 5.0, connect_timeout_s: float = 2.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.address = address
        self.creds = creds
        self._clock = clock
        self.session = new_session(KeepAliveAdapter(self.base_url,
                                                    connect_timeout_s=connect_timeout_s,
                                                    timeout_s=timeout_s))

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> AccountReads:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _l2_get(self, route: str, query: Mapping[str, str] | None = None) -> Any:
        now = self._clock()
        try:
            headers = {**_HEADERS, **l2_headers(self.address, self.creds, now, "GET", route,
                                                None)}
        except ValueError:
            raise NotSent(f"GET {route}: the API secret is not url-safe base64",
                          code="auth") from None
        target = f"{route}?{urlencode(query)}" if query else route
        return _get(self.session, self.base_url + target, route, headers, now)

    def api_keys(self) -> tuple[str, ...]:
        """``GET /auth/api-keys``: the API keys of ``address`` (401: these are not valid)."""
        obj = self._l2_get("/auth/api-keys")
        keys = obj.get("apiKeys") if isinstance(obj, dict) else None
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise BadReply("/auth/api-keys: expected {apiKeys: [...]}")
        return tuple(keys)

    def closed_only(self) -> bool:
        """``GET /auth/ban-status/closed-only``: True if only reducing orders are accepted."""
        obj = self._l2_get("/auth/ban-status/closed-only")
        if not isinstance(obj, dict) or not isinstance(obj.get("closed_only"), bool):
            raise BadReply("/auth/ban-status/closed-only: expected {closed_only: bool}")
        return bool(obj["closed_only"])

    def balance_allowance(self, *, asset_type: str, signature_type: int,
                          token_id: str | None = None) -> BalanceAllowance:
        """``GET /balance-allowance`` (informational, see the module docstring)."""
        query = {"asset_type": asset_type, "signature_type": str(signature_type)}
        if token_id is not None:
            query["token_id"] = token_id
        obj = self._l2_get("/balance-allowance", query)
        if not isinstance(obj, dict):
            raise BadReply("/balance-allowance: expected an object")
        allowances = obj.get("allowances") or {}
        if not isinstance(allowances, dict):
            raise BadReply("/balance-allowance: allowances is not an object")
        return BalanceAllowance(
            balance_micro=_int(obj.get("balance"), "/balance-allowance balance"),
            allowances={str(k): _int(v, "/balance-allowance allowance")
                        for k, v in allowances.items()})
