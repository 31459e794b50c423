"""The State model's shortcuts decide exactly as the general code does.

``StateModel._on_change`` on a ``BookChange`` of one level must give the same result,
counters, resync requests and snapshots as the per-frame code it short-cuts; the snapshot's
reference views must be the ones the assets built; ``bench.state_path`` runs.
"""

from __future__ import annotations

import random

import pytest

from messages import BookChange, PriceSource, Side, TokenId
from tests.builders import (
    DOWN,
    START_MS,
    T0_NS,
    UP,
    make_change,
    make_feed,
    make_level,
    make_market,
    make_markets_changed,
    make_price,
    make_snapshot,
)
from trading.state import StateModel


def _model(*, general: bool) -> StateModel:
    m = StateModel(owner="owner-key-1")
    if general:  # every frame through the per-frame code, also frames of one level
        m._handlers[BookChange] = m._on_frame
    m.apply(make_markets_changed(make_market()))
    for feed in ("market", "user", "price"):
        m.apply(make_feed(feed=feed))
    m.apply(make_snapshot(token_id=UP, ts_event_ms=START_MS + 5))
    return m


def _counters(m: StateModel) -> tuple[int, ...]:
    return (m.events_applied, m.ignored, m.checksum_mismatches, m.stale_dropped)


def test_one_level_frames_decide_as_the_per_frame_code() -> None:
    rng = random.Random(7)
    fast, general = _model(general=False), _model(general=True)
    assert fast._handlers[BookChange] == fast._on_change
    tokens = (UP, UP, UP, DOWN, TokenId("9999"))  # DOWN has no snapshot: dropped
    for i in range(3000):
        if i == 1500:  # the Down book starts here
            for m in (fast, general):
                m.apply(make_snapshot(token_id=DOWN, ts_event_ms=START_MS + 5))
        price = 100 * rng.randint(40, 60)
        best = rng.choice((None, 4900, 5000, 5200, 0, 10_000))
        msg = make_change(
            make_level(token_id=rng.choice(tokens), side=rng.choice((Side.BUY, Side.SELL)),
                       price_pips=price, size_micro=rng.choice((0, 1, 10_000_000)),
                       best_bid_pips=best, best_ask_pips=rng.choice((None, 5200, 10_000))),
            ts_event_ms=START_MS + rng.randint(0, 10 + i),
            ts_recv_ns=T0_NS + rng.randint(0, 10**9))
        assert fast.apply(msg) == general.apply(msg), i
        assert _counters(fast) == _counters(general), i
        assert fast.take_resync_requests() == general.take_resync_requests(), i
        if i % 7 == 0:
            for m in (fast, general):
                m.apply(make_snapshot(token_id=UP, ts_event_ms=START_MS + i))
        assert fast.snapshot(T0_NS, T0_NS) == general.snapshot(T0_NS, T0_NS), i


def test_snapshot_refs_are_the_assets_views() -> None:
    m = _model(general=False)
    first = m.snapshot(T0_NS, T0_NS).refs
    assert [r.asset for r in first] == ["btc"]
    assert m.apply(make_price(source=PriceSource.BINANCE, ts_event_ms=START_MS + 1))
    refs = m.snapshot(T0_NS, T0_NS).refs
    assert refs != first and refs[0].binance_e8 == 100_000 * 10**8
    assert m.snapshot(T0_NS, T0_NS).refs[0] is refs[0]  # unchanged: the same view


def test_state_path_bench_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import state_path

    monkeypatch.setattr(state_path, "N_EVENTS", 200)
    res = state_path.measure(1).as_json()
    assert res["scenario"] == "state_path"
    for key in ("book_top_us", "book_deep_us", "price_us"):
        assert isinstance(res[key], float) and res[key] > 0
