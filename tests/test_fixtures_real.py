"""Every payload recorded from the real venue goes through polymm's decoder for it.

The payloads are ``../shared/fixtures/polymarket/`` (a sibling of the repository, as in the CI
checkout; its ``MANIFEST.md`` says where each comes from). Every file found there is a case, so
a new recording is picked up without editing this module; a file that no rule below maps to a
decoder fails, and so does a missing folder.

Each payload is decoded twice: by polymm's decoder, and by hand from the JSON
(:mod:`tests.payload_expect`: every number read by ``decimal.Decimal`` from the payload's own
text, prices × 10⁴ = pips and sizes × 10⁶ = micro-units as exact integers, every time checked
to be a 2020–2035 time in exactly one unit). The two results must be equal, field for field.
A payload polymm refuses is listed in ``REJECTED`` with the reason it must be refused for
(refusals raise the decoder's own error, which the feeds and Discovery count, log and skip);
anything else must decode.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from messages.errors import VenueError
from tests.payload_expect import (
    RECV,
    book,
    clob_market,
    events,
    gamma_market,
    market_event,
    polybolt_ticks,
    rtds_ticks,
    user_event,
)
from venue.gamma import parse_market
from venue.rest_errors import error_from_response
from venue.wire import WireError, decode_market, decode_polybolt, decode_rtds, decode_user
from venue.wire_rest import decode_book_reply, decode_clob_market

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures" / "polymarket"
FAMILIES = ("market", "user", "prices", "gamma", "rest")
GAMMA = "gamma"  # the "reason" of a Gamma refusal: parse_market raises VenueError, not WireError

# label (file, or file#item) → (reason, text the error must contain). Why each is refused:
REJECTED: dict[str, tuple[str, str]] = {
    # A book without the venue's time cannot be ordered against the changes that follow it
    # (nautilus's first copy, 2024-09; the venue's books carry "timestamp").
    "market/nt-py-book-2024-09-no-timestamp.json": ("missing_field", "'timestamp'"),
    # The oldest price_change (one level at the top level, before 2024-10): not supported;
    # the venue has sent "price_changes" since 2025-09-15 ("changes" before that is decoded).
    "market/nt-py-price_change-legacy-single-level.json": ("missing_field", "'changes'"),
    # 2024 trades whose maker_orders have no "side". The side is not derived: user_trade3 has
    # a maker on the taker's own token with the taker's side, so no rule from the top-level
    # fields is safe. Current frames carry it (user_trade3/4, protocol §2).
    "user/nt-py-user_trade1.json": ("missing_field", "maker_orders.side"),
    "user/nt-py-user_trade1-2024-09-bucket_index-string.json": ("missing_field",
                                                               "maker_orders.side"),
    "user/nt-py-user_trade2.json": ("missing_field", "maker_orders.side"),
    # A REST /data/trades row (decoded as polymm.wiring does), 2024, same missing maker side.
    "user/nt-py-trades-no-event_type.json": ("missing_field", "maker_orders.side"),
    # nautilus removed the frame's "event_type": it cannot be dispatched.
    "user/nt-rs-order_venue_cancel_invalid.json": ("missing_field", "'event_type'"),
    # Channels and topics polymm never subscribes to, and the venue's error replies.
    "prices/nt-rs-rtds_equity_prices_subscribe.json": ("unknown_event", "'equity_prices'"),
    "prices/ts-polybolt-asyncapi-price-polymarket-snapshot.json": ("unknown_event",
                                                                   "'price.polymarket'"),
    "prices/ts-polybolt-staging-12-price-polymarket_snapshot.json": ("unknown_event",
                                                                     "'price.polymarket'"),
    "prices/ts-polybolt-staging-14-price-equity_update_aapl.json": ("unknown_event",
                                                                    "'price.equity'"),
    "prices/ts-polybolt-staging-00-op_error_bad_op.json": ("venue_error", "'bad_op'"),
    "prices/ts-polybolt-staging-13-op_error_bad_filter_price-crypto.json": ("venue_error",
                                                                            "'bad_filter'"),
    # The V2 docs example is a fragment (no conditionId, ticks or dates).
    "gamma/ac-gamma_market_v2_docs_example.json": (GAMMA, "conditionId"),
    # 2020 markets without a tick size cannot be quoted.
    "gamma/nt-rs-gamma_market_closed_nonbinary_legacy.json": (GAMMA, "orderPriceMinTickSize"),
    "gamma/nt-rs-gamma_market_closed_zero_zero_legacy.json": (GAMMA, "orderPriceMinTickSize"),
    # A test market in the CLOB /markets page ("will-the-clob-strapi-integration-work") whose
    # tokens have empty ids.
    "rest/nt-py-clob_markets_page.json#data[15]": ("bad_value", "token ids"),
}


@dataclass(frozen=True)
class Case:
    label: str
    decode: Callable[[], Any]  # polymm's decoder on the payload
    expect: Callable[[], Any]  # the same payload decoded here


# -- which decoder each payload goes to -------------------------------------------------------

def cases(path: Path) -> list[Case]:
    """The decoder cases of one file; a file no rule maps fails here."""
    rel = path.relative_to(FIXTURES).as_posix()
    family, raw = rel.split("/")[0], path.read_bytes()
    assert path.suffix == ".json", f"{rel}: no decoder mapping (not a .json payload)"
    doc = json.loads(raw, parse_float=Decimal)

    def one(decode: Callable[[], Any], expect: Callable[[], Any]) -> list[Case]:
        return [Case(rel, decode, expect)]
    if family == "market":
        return one(lambda: decode_market(raw, RECV), lambda: list(map(market_event, events(doc))))
    if family == "user":
        if isinstance(doc, dict) and "event_type" not in doc and "maker_orders" in doc:
            # A REST /data/trades row: polymm.wiring decodes it as a trade event.
            frame = orjson.dumps({**orjson.loads(raw), "event_type": "trade"})
            return one(lambda: decode_user(frame, RECV), lambda: [user_event(doc)])
        return one(lambda: decode_user(raw, RECV), lambda: list(map(user_event, events(doc))))
    if family == "prices" and isinstance(doc, dict) and "topic" in doc:
        return one(lambda: decode_rtds(raw, RECV), lambda: rtds_ticks(doc))
    if family == "prices" and isinstance(doc, dict) and ("op" in doc or "channel" in doc):
        return one(lambda: decode_polybolt(raw, RECV), lambda: polybolt_ticks(doc))
    if family == "gamma":
        return list(gamma_cases(rel, orjson.loads(raw), doc))
    if family == "rest":
        return list(rest_cases(rel, raw, doc))
    pytest.fail(f"{rel}: no decoder mapping for this payload")


def gamma_cases(rel: str, plain: Any, doc: Any) -> Iterator[Case]:
    """Each market as Discovery parses it, with its event (for priceToBeat and startTime)."""
    if isinstance(doc, list) or ("conditionId" not in doc and "events" in doc):
        evs = list(zip(doc if isinstance(doc, list) else doc["events"],
                       plain if isinstance(plain, list) else plain["events"], strict=True))
        pairs = [(f"{rel}#events[{i}].markets[{j}]", m, pm, ev, pev)
                 for i, (ev, pev) in enumerate(evs)
                 for j, (m, pm) in enumerate(zip(ev["markets"], pev["markets"], strict=True))]
    else:
        ev, pev = (doc.get("events") or [None])[0], (plain.get("events") or [None])[0]
        pairs = [(rel, doc, plain, ev, pev)]
    for label, m, pm, ev, pev in pairs:
        yield Case(label if len(pairs) > 1 else rel,
                   lambda pm=pm, pev=pev: parse_market(pm, event=pev, alias="fixture", asset="",
                                                       strategy="updown"),
                   lambda m=m, ev=ev: gamma_market(m, ev))


def rest_cases(rel: str, raw: bytes, doc: Any) -> Iterator[Case]:
    plain = orjson.loads(raw)
    if "bids" in doc:
        yield Case(rel, lambda: decode_book_reply(plain, RECV), lambda: book(doc))
    elif "c" in doc or "condition_id" in doc:
        yield Case(rel, lambda: decode_clob_market(plain), lambda: clob_market(doc))
    elif isinstance(doc.get("data"), list):  # a page, as ClobClient._paged reads it
        for i, (entry, pentry) in enumerate(zip(doc["data"], plain["data"], strict=True)):
            yield Case(f"{rel}#data[{i}]", lambda p=pentry: decode_clob_market(p),
                       lambda e=entry: clob_market(e))
    else:
        status = re.search(r"_(\d{3})\.json$", rel)
        assert status and set(doc) == {"error"}, f"{rel}: no decoder mapping for this reply"
        code = int(status.group(1))
        yield Case(rel, lambda: _error(error_from_response(code, raw, None, now_s=0)),
                   lambda: ("VenueError", code, doc["error"]))


def _error(e: VenueError) -> tuple[str, int, str]:
    return type(e).__name__, e.status, e.message


# -- the tests --------------------------------------------------------------------------------

def _files() -> list[Any]:
    found = sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.name != "MANIFEST.md")
    if not found:  # a failing case, not an empty (skipped) parametrisation
        return [pytest.param(None, id="fixtures-missing")]
    return [pytest.param(p, id=p.relative_to(FIXTURES).as_posix()) for p in found]


def test_fixture_folders_are_present() -> None:
    for family in FAMILIES:
        folder = FIXTURES / family
        assert folder.is_dir() and any(folder.glob("*.json")), (
            f"no payloads in {folder}: the CI checkout has shared/ beside the repository")


@pytest.mark.parametrize("path", _files())
def test_payload_decodes_as_recorded(path: Path | None) -> None:
    if path is None:
        pytest.fail(f"no fixture files under {FIXTURES} (shared/ must be beside the repository)")
    for case in cases(path):
        if case.label in REJECTED:
            reason, text = REJECTED[case.label]
            with pytest.raises(VenueError if reason == GAMMA else WireError) as info:
                case.decode()
            if reason != GAMMA:
                assert isinstance(info.value, WireError) and info.value.reason == reason, (
                    f"{case.label}: {info.value}")
            assert text in str(info.value), f"{case.label}: {info.value}"
        else:
            assert case.decode() == case.expect(), case.label


def test_rejections_name_payloads_that_exist() -> None:
    labels = {c.label for p in FIXTURES.rglob("*.json") for c in cases(p)}
    assert set(REJECTED) <= labels, sorted(set(REJECTED) - labels)
