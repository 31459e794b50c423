"""Discovery: the pure decisions, then the actor with a fake Gamma and a fake clock."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from actors.discovery import (
    Discovery,
    SeriesConfig,
    SlugConfig,
    diff_markets,
    next_poll_at,
    wanted_slugs,
)
from messages import MarketsChanged
from tests.builders import make_market, market_n
from tests.fakes import (
    Clock,
    Collector,
    FakeGamma,
    FakeMetrics,
    gamma_event,
    make_discovery_config,
)
from venue.gamma_events import build_markets

T0 = 1_767_225_600  # a multiple of 900


def test_wanted_slugs_current_and_next_windows_then_fixed_slugs():
    series = (SeriesConfig(asset="btc", interval="15m", windows=2),
              SeriesConfig(asset="eth", interval="5m", windows=1))
    got = wanted_slugs(series, (SlugConfig(slug="some-election", alias="elect"),), T0 + 910)
    assert got == {
        f"btc-updown-15m-{T0 + 900}": ("btc-15m", "btc", "updown"),
        f"btc-updown-15m-{T0 + 1800}": ("btc-15m", "btc", "updown"),
        f"eth-updown-5m-{T0 + 900}": ("eth-5m", "eth", "updown"),
        "some-election": ("elect", "", "bands"),
    }


@pytest.mark.parametrize(("now", "expected"), [
    (T0 + 5, T0 + 7),            # just after a boundary: fast
    (T0 + 100, T0 + 130),        # mid-window: slow
    (T0 + 870, T0 + 880),        # slow, but not past the start of the fast period
    (T0 + 885, T0 + 887),        # just before a boundary: fast
])
def test_next_poll_schedule(now, expected):
    assert next_poll_at(now, [900], 30, 2, 20) == expected


def test_next_poll_without_series_is_slow():
    assert next_poll_at(100.0, [], 30, 2, 20) == 130.0


def test_diff_markets():
    a, b = market_n(1), market_n(2)
    assert diff_markets((a,), (a,)) == (False, (), ())
    assert diff_markets((a,), (a, b)) == (True, (b.condition_id,), ())
    assert diff_markets((a, b), (b,)) == (True, (), (a.condition_id,))
    assert diff_markets((a,), (replace(a, tick_pips=10),)) == (True, (), ())


def test_build_markets_filters_unwanted_expired_and_broken():
    wanted = wanted_slugs((SeriesConfig(asset="btc", interval="15m", windows=2),), (),
                          T0 + 10)
    cur = gamma_event(f"btc-updown-15m-{T0}", T0, 900, cid_byte=1)
    nxt = gamma_event(f"btc-updown-15m-{T0 + 900}", T0 + 900, 900, cid_byte=2,
                      tokens=("3", "4"))
    other = gamma_event("not-wanted", T0, 900, cid_byte=3)
    broken = gamma_event(f"btc-updown-15m-{T0 + 900}", T0 + 900, 900, cid_byte=4)
    broken["markets"][0]["conditionId"] = "nope"
    errors = []
    got = build_markets([nxt, other, cur, broken], wanted, (T0 + 10) * 1000,
                        lambda slug, exc: errors.append(slug))
    assert [m.slug for m in got] == [f"btc-updown-15m-{T0}", f"btc-updown-15m-{T0 + 900}"]
    assert got[0].alias == "btc-15m" and got[0].asset == "btc" and got[0].tick_pips == 100
    assert errors == [f"btc-updown-15m-{T0 + 900}"]
    # once the current window has ended it is dropped
    later = build_markets([cur, nxt], wanted, (T0 + 900) * 1000)
    assert [m.slug for m in later] == [f"btc-updown-15m-{T0 + 900}"]


# -- the actor ----------------------------------------------------------------------------------


@pytest.fixture
def world():
    gamma = FakeGamma({
        f"btc-updown-15m-{T0}": gamma_event(f"btc-updown-15m-{T0}", T0, 900, cid_byte=1),
        f"btc-updown-15m-{T0 + 900}": gamma_event(f"btc-updown-15m-{T0 + 900}", T0 + 900,
                                                  900, cid_byte=2, tokens=("3", "4")),
    })
    clock = Clock(T0 + 100)
    sink = Collector()
    metrics = FakeMetrics()
    ref = Discovery.start(gamma, make_discovery_config(), [sink], clock_s=clock,
                          metrics=metrics)
    yield gamma, clock, sink, ref.proxy(), metrics
    ref.stop()


def test_emits_on_start_and_only_on_change(world):
    gamma, _clock, sink, disco, metrics = world
    (first,) = sink.wait_of(MarketsChanged)
    assert len(first.markets) == 2 and len(first.added) == 2 and first.removed == ()
    disco.poll_now().get(timeout=5)
    disco.poll_now().get(timeout=5)
    assert len(sink.of(MarketsChanged)) == 1  # nothing changed: nothing emitted
    ev = gamma.events[f"btc-updown-15m-{T0}"]
    ev["markets"][0]["orderPriceMinTickSize"] = 0.001
    disco.poll_now().get(timeout=5)
    second = sink.of(MarketsChanged)[1]
    assert second.added == () and second.removed == ()
    assert second.markets[0].tick_pips == 10
    assert metrics.count("discovery.changes") == 2


def test_gamma_errors_are_counted_and_not_fatal(world):
    gamma, _clock, sink, disco, metrics = world
    sink.wait_of(MarketsChanged)
    gamma.fail = ConnectionError("gamma down")
    assert len(disco.poll_now().get(timeout=5)) == 2  # the last known set stays
    assert disco.stats().get(timeout=5)["errors"] == 1
    assert metrics.count("discovery.errors") == 1
    assert len(sink.of(MarketsChanged)) == 1


def test_ended_markets_are_dropped_between_polls(world):
    gamma, clock, sink, disco, _ = world
    sink.wait_of(MarketsChanged)
    clock.t = T0 + 899
    disco.poll_now().get(timeout=5)  # next poll due at T0 + 901 (fast period)
    calls = len(gamma.calls)
    clock.t = T0 + 900.5  # the first window ended; the next poll is not due yet
    disco.on_poll().get(timeout=5)
    msgs = sink.of(MarketsChanged)
    assert len(msgs) == 2 and len(msgs[1].removed) == 1 and len(msgs[1].markets) == 1
    assert len(gamma.calls) == calls  # dropped without polling


def test_late_ticks_poll_once_not_in_a_burst(world):
    gamma, clock, sink, disco, _ = world
    sink.wait_of(MarketsChanged)
    disco.stats().get(timeout=5)
    calls = len(gamma.calls)
    clock.t += 600  # the timer was late by many intervals
    futures = [disco.on_poll() for _ in range(5)]
    for f in futures:
        f.get(timeout=5)
    assert len(gamma.calls) == calls + 1
    gamma.wait_calls(calls + 1)


def test_bad_interval_is_a_config_error():
    from messages.errors import ConfigError

    with pytest.raises(ConfigError):
        Discovery(FakeGamma(),
                  make_discovery_config(series=(SeriesConfig(asset="btc", interval="7m"),)), [])


def test_market_builder_defaults_are_valid():
    assert make_market().end_ms > make_market().start_ms


def test_a_venue_listing_none_of_the_wanted_markets_is_said_once(world, caplog):
    gamma, _clock, sink, disco, _ = world
    sink.wait_of(MarketsChanged)
    saved = dict(gamma.events)
    gamma.events.clear()  # e.g. a stand-in venue with windows of another length
    with caplog.at_level(logging.WARNING, logger="actors.discovery"):
        disco.poll_now().get(timeout=5)
        disco.poll_now().get(timeout=5)
        said = [r.getMessage() for r in caplog.records if "lists none" in r.getMessage()]
        assert len(said) == 1 and "discovery.series" in said[0], said
        assert f"btc-updown-15m-{T0}" in said[0]
        gamma.events.update(saved)  # found again: a later empty spell is said again
        disco.poll_now().get(timeout=5)
        gamma.events.clear()
        disco.poll_now().get(timeout=5)
        said = [r.getMessage() for r in caplog.records if "lists none" in r.getMessage()]
        assert len(said) == 2
