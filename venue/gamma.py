"""Gamma, Polymarket's public market-metadata API: a small client and the pure conversions.

``GammaClient`` fetches events by slug over its own keep-alive ``requests.Session``, the one
HTTP stack of the bot (``venue.keepalive``: no environment look-ups, no cookies kept). The pure
functions name the rolling up/down windows (``btc-updown-15m-1780000200``) and turn one Gamma
market object into a ``messages.Market`` (protocol §4.3): numbers into pips / micro-units /
bps / 1e-8 USD, ISO dates into epoch milliseconds. Bad data raises ``VenueError`` naming the
market and the field; it never crashes the caller with a ``KeyError``.

No threads, no clock: the caller passes ``now_s``. The client belongs to whichever thread
calls it (the Discovery actor's).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from messages import ConditionId, Market, TokenId
from messages.errors import PolymmError, VenueError
from venue.keepalive import KeepAliveAdapter, new_session
from venue.numbers import parse_e8_num, parse_micro_num, parse_pips_num

__all__ = ["GammaClient", "interval_label", "interval_seconds", "parse_market", "window_slug",
           "window_start"]

_INTERVALS = {"5m": 300, "15m": 900, "4h": 14400}
_LABELS = {v: k for k, v in _INTERVALS.items()}
_CONDITION = re.compile(r"0x[0-9a-fA-F]{64}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_SLUGS_PER_REQUEST = 40  # keeps the query string well under common URL limits

logger = logging.getLogger(__name__)

_DEFAULT_VERSION = "v1"
_version_default_logged = False
"""Set once a market without ``version`` has been logged. Once per process, not per market:
Discovery re-reads every window each poll and a new window opens every few minutes, so a line
per market would repeat all day the one fact worth knowing (Gamma serves markets without
``version``). Written from whichever thread parses; a race at worst logs the line twice."""


def interval_seconds(interval: str) -> int:
    """``"5m"`` → 300, ``"15m"`` → 900, ``"4h"`` → 14400, ``"<N>s"`` → N (other lengths)."""
    n = _INTERVALS.get(interval)
    if n is not None:
        return n
    if interval.endswith("s") and interval[:-1].isdigit() and int(interval[:-1]) > 0:
        return int(interval[:-1])
    raise PolymmError(f"unknown window interval {interval!r} (5m, 15m, 4h or <seconds>s)")


def interval_label(seconds: int) -> str:
    """The slug label of a window length: 900 → ``"15m"``, 120 → ``"120s"``."""
    return _LABELS.get(seconds, f"{seconds}s")


def window_start(now_s: int, interval: str) -> int:
    """Start (Unix s) of the window containing ``now_s``: a multiple of the window length."""
    n = interval_seconds(interval)
    return now_s - now_s % n


def window_slug(asset: str, interval: str, start_s: int) -> str:
    """The event/market slug of one window: ``window_slug("btc", "15m", t)`` →
    ``"btc-updown-15m-<t>"``."""
    return f"{asset}-updown-{interval}-{start_s}"


# -- one market -------------------------------------------------------------------------------

def _bad(slug: str, field: str, problem: str) -> VenueError:
    return VenueError(f"gamma market {slug or '?'}: {field}: {problem}")


def _json_list(m: Mapping[str, Any], key: str, slug: str) -> list[Any]:
    """A field Gamma sends as a JSON-encoded string (``"[\\"Up\\", \\"Down\\"]"``) or a list."""
    raw = m.get(key)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise _bad(slug, key, "not valid JSON") from None
    if not isinstance(raw, list):
        raise _bad(slug, key, f"expected a list, got {type(raw).__name__}")
    return raw


def _pair_of_ids(values: list[Any], key: str, slug: str) -> tuple[TokenId, TokenId]:
    if len(values) != 2:
        raise _bad(slug, key, f"expected 2 ids, got {len(values)}")
    out = []
    for v in values:
        if not (isinstance(v, str) and v.isdigit() and v.isascii()):
            raise _bad(slug, key, f"expected decimal id strings, got {v!r}")
        out.append(TokenId(v))
    return out[0], out[1]


def iso_to_ms(value: object) -> int:
    """An ISO-8601 time (``2026-10-05T12:15:00Z``; no zone = UTC) to Unix milliseconds."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"not an ISO time: {value!r}")
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // _MS


def _time_ms(m: Mapping[str, Any], keys: Sequence[str], slug: str, *,
             required: bool = True) -> int:
    for key in keys:
        if m.get(key) not in (None, ""):
            try:
                return iso_to_ms(m[key])
            except ValueError:
                raise _bad(slug, key, f"not an ISO time: {m[key]!r}") from None
    if required:
        raise _bad(slug, "/".join(keys), "missing")
    return 0


def _bool(m: Mapping[str, Any], key: str, slug: str, default: bool) -> bool:
    v = m.get(key, default)
    if v is None:
        return default
    if not isinstance(v, bool):
        raise _bad(slug, key, f"expected true/false, got {v!r}")
    return v


def _fees_bps(m: Mapping[str, Any], slug: str) -> tuple[int, int]:
    """``feeSchedule{rate, rebateRate}`` as basis points (fractions: 0.07 → 700)."""
    sched = m.get("feeSchedule")
    if sched is None or m.get("feesEnabled") is False:
        return 0, 0
    if not isinstance(sched, dict):
        raise _bad(slug, "feeSchedule", f"expected an object, got {type(sched).__name__}")
    out = []
    for key in ("rate", "rebateRate"):
        v = sched.get(key, 0)
        try:
            bps = parse_pips_num(v)  # a fraction with 4 decimals = basis points
        except ValueError:
            raise _bad(slug, f"feeSchedule.{key}", f"not a fraction: {v!r}") from None
        if bps > 10_000:
            raise _bad(slug, f"feeSchedule.{key}", f"above 1: {v!r}")
        out.append(bps)
    return out[0], out[1]


def _price_to_beat_e8(event: Mapping[str, Any] | None, slug: str) -> int | None:
    if not event:
        return None
    meta = event.get("eventMetadata")
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except ValueError:
            raise _bad(slug, "eventMetadata", "not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("priceToBeat") in (None, ""):
        return None
    try:
        return parse_e8_num(meta["priceToBeat"])
    except ValueError:
        raise _bad(slug, "eventMetadata.priceToBeat",
                   f"not a price: {meta['priceToBeat']!r}") from None


def _log_default_version(slug: str) -> None:
    global _version_default_logged
    if not _version_default_logged:
        _version_default_logged = True
        logger.warning("gamma market %s has no 'version': taken as %r, as every market listed "
                       "before Protocol V2 (logged once; later markets without it are not)",
                       slug or "?", _DEFAULT_VERSION)


def parse_market(m: Mapping[str, Any], *, event: Mapping[str, Any] | None, alias: str,
                 asset: str, strategy: str) -> Market:
    """One Gamma market object (and its event, for ``priceToBeat``) as a ``Market``.

    ``version`` picks the trading ids: ``v1`` → ``clobTokenIds`` (a JSON string), ``v2`` →
    ``positionIds``; absent (or null) is ``v1``, the version of every market before Protocol
    V2, logged once per process. Index 0 is Up/Yes. ``start_ms`` is ``eventStartTime`` (the
    window open; else the event's ``startTime`` unless it is after ``endDate``, else
    ``startDate``), ``end_ms`` is ``endDate``; a market that starts after it ends is refused.

    Raises:
        VenueError: naming the market and the field that is missing or malformed.
    """
    if not isinstance(m, Mapping):
        raise VenueError(f"gamma market: expected an object, got {type(m).__name__}")
    slug = str(m.get("slug") or (event or {}).get("slug") or "")
    cid = m.get("conditionId")
    if not (isinstance(cid, str) and _CONDITION.fullmatch(cid)):
        raise _bad(slug, "conditionId", f"expected 0x + 64 hex digits, got {cid!r}")
    version = m.get("version")
    if version is None:
        # Markets listed before the Protocol V2 rollout carry no version: they are all v1.
        version = _DEFAULT_VERSION
        _log_default_version(slug)
    if version == "v1":
        tokens = _pair_of_ids(_json_list(m, "clobTokenIds", slug), "clobTokenIds", slug)
    elif version == "v2":
        tokens = _pair_of_ids(_json_list(m, "positionIds", slug), "positionIds", slug)
    else:
        raise _bad(slug, "version", f"expected 'v1' or 'v2', got {version!r}")
    outcomes = _json_list(m, "outcomes", slug)
    if len(outcomes) != 2 or not all(isinstance(o, str) for o in outcomes):
        raise _bad(slug, "outcomes", f"expected two names, got {outcomes!r}")
    try:
        tick = parse_pips_num(m.get("orderPriceMinTickSize"))
    except ValueError:
        raise _bad(slug, "orderPriceMinTickSize",
                   f"not a tick size: {m.get('orderPriceMinTickSize')!r}") from None
    if not 0 < tick < 10_000:
        raise _bad(slug, "orderPriceMinTickSize", f"out of range: {tick} pips")
    try:
        min_size = parse_micro_num(m.get("orderMinSize"))
    except ValueError:
        raise _bad(slug, "orderMinSize", f"not a size: {m.get('orderMinSize')!r}") from None
    end_ms = _time_ms(m, ("endDate",), slug)
    start_src: dict[str, Any] = {"eventStartTime": m.get("eventStartTime"),
                                 "startTime": (event or {}).get("startTime"),
                                 "startDate": m.get("startDate")}
    if (start_src["eventStartTime"] in (None, "")
            and _time_ms(start_src, ("startTime",), slug, required=False) > end_ms):
        # An event that is not a window (an election, a match) has the day it happens as its
        # startTime, after its markets stop trading: that is not when the market opened.
        start_src["startTime"] = None
    start_ms = _time_ms(start_src, tuple(start_src), slug, required=False)
    if start_ms > end_ms:
        raise _bad(slug, "eventStartTime/startDate", "the market starts after its endDate")
    taker_bps, rebate_bps = _fees_bps(m, slug)
    return Market(
        condition_id=ConditionId(cid),
        slug=slug,
        alias=alias,
        question=str(m.get("question") or ""),
        token_ids=tokens,
        outcomes=(outcomes[0], outcomes[1]),
        version=version,
        neg_risk=_bool(m, "negRisk", slug, False),
        tick_pips=tick,
        min_size_micro=min_size,
        start_ms=start_ms,
        end_ms=end_ms,
        accepting_orders=_bool(m, "acceptingOrders", slug, False),
        asset=asset,
        strategy=strategy,
        taker_fee_rate_bps=taker_bps,
        maker_rebate_bps=rebate_bps,
        price_to_beat_e8=_price_to_beat_e8(event, slug),
    )


# -- the client -------------------------------------------------------------------------------

class GammaClient:
    """Reads events from Gamma (``GET /events?slug=…``, ``GET /events/slug/{slug}``).

    Thread ownership: one caller thread at a time (the Discovery actor). Network and HTTP
    errors raise ``VenueError`` with the status and, for 429, ``retry_after_s``; nothing is
    retried here.
    """

    def __init__(self, base_url: str, *, timeout_s: float = 5.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise PolymmError(f"gamma: not an http(s) URL: {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.session = new_session(KeepAliveAdapter(self.base_url, connect_timeout_s=timeout_s,
                                                    timeout_s=timeout_s))
        self.session.headers.update({"Accept": "application/json", "User-Agent": "polymm"})

    def close(self) -> None:
        self.session.close()

    def _get(self, path: str, params: Sequence[tuple[str, str]] = ()) -> Any:
        status, reason, retry, body = self._fetch(path, params)
        if status == 404:
            return None
        if status != 200:
            text = body[:200].decode("utf-8", "replace").strip()
            raise VenueError(f"gamma {path}: {text or reason}", status=status,
                             retry_after_s=float(retry) if retry and _is_number(retry) else None)
        try:
            return json.loads(body)
        except ValueError:
            raise VenueError(f"gamma {path}: reply is not JSON", status=status) from None

    def _fetch(self, path: str, params: Sequence[tuple[str, str]]
               ) -> tuple[int, str, str | None, bytes]:
        """(status, reason, Retry-After, body) of one GET, the reply closed.

        The reply never outlives this call: an error raised while it is a local would keep it,
        and its socket, open for as long as the error is kept (``close()`` cannot reach a
        connection a reply still holds).
        """
        try:
            with self.session.get(self.base_url + path, params=list(params),
                                  timeout=self.timeout_s, allow_redirects=False) as r:
                return r.status_code, r.reason, r.headers.get("Retry-After"), r.content
        except requests.RequestException as exc:
            raise VenueError(f"gamma {path}: {type(exc).__name__}") from None

    def events_by_slug(self, slugs: Sequence[str]) -> list[dict[str, Any]]:
        """The events among ``slugs`` that exist (open or not yet open; closed ones are not
        listed by Gamma unless asked), each with its ``markets``."""
        out: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(slugs))
        for i in range(0, len(unique), _SLUGS_PER_REQUEST):
            chunk = unique[i:i + _SLUGS_PER_REQUEST]
            data = self._get("/events", [("slug", s) for s in chunk])
            if data is None:
                continue
            if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
                raise VenueError("gamma /events: expected a list of events")
            out.extend(data)
        return out

    def event(self, slug: str) -> dict[str, Any] | None:
        """One event by slug, or None if Gamma does not know it."""
        data = self._get(f"/events/slug/{slug}")
        if data is None:
            return None
        if not isinstance(data, dict):
            raise VenueError(f"gamma /events/slug/{slug}: expected an object")
        return data


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
