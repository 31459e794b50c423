"""Gamma: window naming, market parsing from realistic Gamma JSON (§4.3), and the client."""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from messages import Market
from messages.errors import PolymmError, VenueError
from tests.loopback_http import ClosingHTTPServer, free_port
from venue import gamma as gamma_module
from venue.gamma import (
    GammaClient,
    interval_label,
    interval_seconds,
    iso_to_ms,
    parse_market,
    window_slug,
    window_start,
)

UP = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
DOWN = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
CID = "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1"

# A btc 15 min window as Gamma lists it (fields from protocol §4.3, values as observed).
MARKET: dict[str, Any] = {
    "id": "561234",
    "question": "Bitcoin Up or Down - May 28, 4:30PM-4:45PM ET",
    "conditionId": CID,
    "slug": "btc-updown-15m-1780000200",
    "version": "v1",
    "clobTokenIds": json.dumps([UP, DOWN]),
    "outcomes": "[\"Up\", \"Down\"]",
    "outcomePrices": "[\"0.505\", \"0.495\"]",
    "startDate": "2026-05-27T20:41:12.345Z",
    "endDate": "2026-05-28T20:45:00Z",
    "eventStartTime": "2026-05-28T20:30:00Z",
    "orderPriceMinTickSize": 0.01,
    "orderMinSize": 5,
    "negRisk": False,
    "active": True,
    "closed": False,
    "archived": False,
    "acceptingOrders": True,
    "acceptingOrdersTimestamp": "2026-05-27T20:42:03Z",
    "enableOrderBook": True,
    "feesEnabled": True,
    "feeType": "crypto_fees_v2",
    "feeSchedule": {"exponent": 1, "rate": 0.07, "takerOnly": True, "rebateRate": 0.2},
    "takerBaseFee": 1000,
    "makerBaseFee": 1000,
    "bestBid": 0.5,
    "bestAsk": 0.51,
    "lastTradePrice": 0.5,
    "spread": 0.01,
    "resolutionSource": "https://data.chain.link/streams/btc-usd",
    "umaResolutionStatus": "",
}
EVENT: dict[str, Any] = {
    "id": "77001",
    "slug": "btc-updown-15m-1780000200",
    "title": "Bitcoin Up or Down - May 28, 4:30PM-4:45PM ET",
    "startTime": "2026-05-28T20:30:00Z",
    "endDate": "2026-05-28T20:45:00Z",
    "eventMetadata": {"priceToBeat": 108234.56789},
    "seriesSlug": "btc-up-or-down-15m",
    "markets": [MARKET],
}


def _parse(m: dict[str, Any], event: dict[str, Any] | None = EVENT) -> Market:
    return parse_market(m, event=event, alias="btc-15m", asset="btc", strategy="updown")


def _with(**changes: Any) -> dict[str, Any]:
    m = copy.deepcopy(MARKET)
    for k, v in changes.items():
        if v is None:
            m.pop(k, None)
        else:
            m[k] = v
    return m


def test_parse_market_v1() -> None:
    m = _parse(MARKET)
    assert m == Market(
        condition_id=CID, slug="btc-updown-15m-1780000200", alias="btc-15m",
        question=MARKET["question"], token_ids=(UP, DOWN), outcomes=("Up", "Down"),
        version="v1", neg_risk=False, tick_pips=100, min_size_micro=5_000_000,
        start_ms=1_780_000_200_000, end_ms=1_780_001_100_000, accepting_orders=True,
        asset="btc", strategy="updown", taker_fee_rate_bps=700, maker_rebate_bps=2000,
        price_to_beat_e8=10_823_456_789_000)


def test_parse_market_v2_uses_position_ids() -> None:
    pos = ["1234567890123", "9876543210987"]
    m = _parse(_with(version="v2", positionIds=pos))
    assert m.version == "v2" and m.token_ids == tuple(pos)


def test_fine_tick_fractional_min_size_and_neg_risk() -> None:
    m = _parse(_with(orderPriceMinTickSize=0.001, orderMinSize=2.5, negRisk=True))
    assert (m.tick_pips, m.min_size_micro, m.neg_risk) == (10, 2_500_000, True)


def test_optional_fields_absent() -> None:
    m = _parse(_with(feeSchedule=None, eventStartTime=None, acceptingOrders=None), event=None)
    assert (m.taker_fee_rate_bps, m.maker_rebate_bps) == (0, 0)
    assert m.price_to_beat_e8 is None
    assert m.start_ms == iso_to_ms(MARKET["startDate"])  # no window open known: startDate
    assert m.accepting_orders is False


def test_start_falls_back_to_event_start_time() -> None:
    m = _parse(_with(eventStartTime=None))
    assert m.start_ms == 1_780_000_200_000


def test_market_without_version_is_v1_logged_once_per_process(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    # Every market listed before the Protocol V2 rollout comes without "version".
    monkeypatch.setattr(gamma_module, "_version_default_logged", False)
    caplog.set_level(logging.WARNING, logger="venue.gamma")
    first = _parse(_with(version=None))
    second = _parse({**_with(version=None), "slug": "btc-updown-15m-1780001100"})
    assert (first.version, first.token_ids) == ("v1", (UP, DOWN))
    assert (second.version, second.token_ids) == ("v1", (UP, DOWN))
    lines = [r.getMessage() for r in caplog.records if r.name == "venue.gamma"]
    assert len(lines) == 1, lines
    assert "btc-updown-15m-1780000200" in lines[0] and "'version'" in lines[0]
    # A null version is absent too; it is not logged again.
    assert _parse({**MARKET, "version": None}).version == "v1"
    assert len([r for r in caplog.records if r.name == "venue.gamma"]) == 1


def test_event_start_time_after_the_end_is_not_the_start() -> None:
    # A non-window event (an election) has the day it happens as startTime, after its markets
    # stop trading (nautilus gamma_event.json): the market opened at its startDate.
    m = _parse(_with(eventStartTime=None, endDate="2028-11-07T00:00:00Z"),
               event={**EVENT, "startTime": "2028-11-07T12:00:00Z"})
    assert m.start_ms == iso_to_ms(MARKET["startDate"])
    assert m.start_ms < m.end_ms


def test_market_that_starts_after_it_ends_is_refused() -> None:
    with pytest.raises(VenueError, match="starts after its endDate"):
        _parse(_with(eventStartTime="2026-05-28T21:00:00Z"))


def test_fees_disabled_and_price_to_beat_as_string() -> None:
    event = {**EVENT, "eventMetadata": json.dumps({"priceToBeat": "64126.5"})}
    m = _parse(_with(feesEnabled=False), event=event)
    assert (m.taker_fee_rate_bps, m.price_to_beat_e8) == (0, 6_412_650_000_000)


@pytest.mark.parametrize(("changes", "field"), [
    ({"version": "v3"}, "version"),
    ({"version": ""}, "version"),
    ({"clobTokenIds": "[not json"}, "clobTokenIds"),
    ({"clobTokenIds": json.dumps([UP])}, "clobTokenIds"),
    ({"clobTokenIds": json.dumps([UP, 123])}, "clobTokenIds"),
    ({"version": "v2"}, "positionIds"),
    ({"outcomes": "[\"Yes\"]"}, "outcomes"),
    ({"conditionId": "0x1234"}, "conditionId"),
    ({"conditionId": None}, "conditionId"),
    ({"orderPriceMinTickSize": None}, "orderPriceMinTickSize"),
    ({"orderPriceMinTickSize": "abc"}, "orderPriceMinTickSize"),
    ({"orderPriceMinTickSize": 0}, "orderPriceMinTickSize"),
    ({"orderMinSize": -5}, "orderMinSize"),
    ({"endDate": None}, "endDate"),
    ({"endDate": "yesterday"}, "endDate"),
    ({"negRisk": "false"}, "negRisk"),
    ({"feeSchedule": {"rate": "lots"}}, "feeSchedule.rate"),
    ({"feeSchedule": [0.07]}, "feeSchedule"),
])
def test_bad_market_data_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(VenueError) as info:
        _parse(_with(**changes))
    assert f": {field}:" in str(info.value)
    assert "btc-updown-15m-1780000200" in str(info.value)


def test_bad_price_to_beat_names_the_field() -> None:
    with pytest.raises(VenueError, match=r"eventMetadata\.priceToBeat"):
        _parse(MARKET, event={**EVENT, "eventMetadata": {"priceToBeat": "n/a"}})


def test_not_an_object() -> None:
    with pytest.raises(VenueError):
        parse_market([], event=None, alias="a", asset="", strategy="bands")  # type: ignore[arg-type]


@pytest.mark.parametrize(("interval", "seconds"), [
    ("5m", 300), ("15m", 900), ("4h", 14400), ("120s", 120), ("1s", 1)])
def test_interval_seconds(interval: str, seconds: int) -> None:
    assert interval_seconds(interval) == seconds
    assert interval_label(seconds) == interval


@pytest.mark.parametrize("interval", ["1h", "15", "0s", "-5s", "m5", ""])
def test_bad_interval(interval: str) -> None:
    with pytest.raises(PolymmError):
        interval_seconds(interval)


@pytest.mark.parametrize(("now_s", "interval", "start"), [
    (1_780_000_200, "15m", 1_780_000_200),
    (1_780_000_999, "15m", 1_780_000_200),
    (1_780_001_100, "15m", 1_780_001_100),
    (1_780_000_299, "5m", 1_780_000_200),
    (1_780_000_000, "4h", 1_779_998_400),
    (1_780_000_000, "120s", 1_780_000_000 - 1_780_000_000 % 120),
])
def test_window_start(now_s: int, interval: str, start: int) -> None:
    assert window_start(now_s, interval) == start
    assert start % interval_seconds(interval) == 0


def test_window_slug() -> None:
    assert window_slug("btc", "15m", 1_780_000_200) == "btc-updown-15m-1780000200"
    assert window_slug("eth", "120s", 1_780_000_080) == "eth-updown-120s-1780000080"


def test_iso_to_ms_forms() -> None:
    assert iso_to_ms("2026-05-28T20:30:00Z") == 1_780_000_200_000
    assert iso_to_ms("2026-05-28T20:30:00.123Z") == 1_780_000_200_123
    assert iso_to_ms("2026-05-28T16:30:00-04:00") == 1_780_000_200_000
    assert iso_to_ms("2026-05-28T20:30:00") == 1_780_000_200_000


# -- the client against a local server --------------------------------------------------------

class _Gamma(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[tuple[str, dict[str, list[str]]]]] = []
    replies: ClassVar[dict[str, tuple[int, Any, dict[str, str]]]] = {}
    closed: ClassVar[threading.Event] = threading.Event()  # a client connection has ended

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def finish(self) -> None:
        super().finish()
        self.closed.set()

    def do_GET(self) -> None:
        u = urlsplit(self.path)
        self.seen.append((u.path, parse_qs(u.query)))
        status, payload, headers = self.replies.get(u.path, (404, {"error": "not found"}, {}))
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def gamma() -> Iterator[tuple[GammaClient, type[_Gamma]]]:
    handler = type("Handler", (_Gamma,), {"seen": [], "replies": {}, "closed": threading.Event()})
    server = ClosingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    client = GammaClient(f"http://127.0.0.1:{server.server_address[1]}/gamma", timeout_s=2)
    try:
        yield client, handler
    finally:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_events_by_slug_repeats_the_slug_parameter(gamma: tuple[GammaClient, Any]) -> None:
    client, h = gamma
    h.replies["/gamma/events"] = (200, [EVENT], {})
    slugs = ["btc-updown-15m-1780000200", "btc-updown-15m-1780001100"]
    events = client.events_by_slug(slugs + slugs[:1])
    assert events == [EVENT]
    assert h.seen == [("/gamma/events", {"slug": slugs})]
    market = _parse(events[0]["markets"][0], events[0])
    assert market.token_ids == (UP, DOWN)


def test_events_by_slug_empty_sends_nothing(gamma: tuple[GammaClient, Any]) -> None:
    client, h = gamma
    assert client.events_by_slug([]) == []
    assert h.seen == []


def test_event_by_slug_and_unknown(gamma: tuple[GammaClient, Any]) -> None:
    client, h = gamma
    h.replies["/gamma/events/slug/btc-updown-15m-1780000200"] = (200, EVENT, {})
    assert client.event("btc-updown-15m-1780000200") == EVENT
    assert client.event("btc-updown-15m-1") is None


def test_http_errors_are_venue_errors(gamma: tuple[GammaClient, Any]) -> None:
    client, h = gamma
    h.replies["/gamma/events"] = (429, {"error": "rate limited"}, {"Retry-After": "3"})
    with pytest.raises(VenueError) as info:
        client.events_by_slug(["a"])
    assert (info.value.status, info.value.retry_after_s) == (429, 3.0)
    h.replies["/gamma/events"] = (200, {"not": "a list"}, {})
    with pytest.raises(VenueError, match="list of events"):
        client.events_by_slug(["a"])


def test_an_error_reply_kept_by_the_caller_does_not_hold_its_connection(
        gamma: tuple[GammaClient, Any]) -> None:
    client, h = gamma
    h.replies["/gamma/events"] = (429, {"error": "rate limited"}, {})
    with pytest.raises(VenueError) as info:
        client.events_by_slug(["a"])
    kept = info.value  # a caller may keep the error (to report it); its traceback comes along
    client.close()
    assert h.closed.wait(5), "the connection stayed open after close() while the error lived"
    assert kept.status == 429


def test_connection_refused_is_a_venue_error() -> None:
    client = GammaClient(f"http://127.0.0.1:{free_port()}", timeout_s=1)
    try:
        with pytest.raises(VenueError, match="ConnectionError"):
            client.event("x")
    finally:
        client.close()
