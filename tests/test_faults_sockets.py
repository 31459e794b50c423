"""Fault scenarios, end to end: dropped and silently frozen websockets (issue 6).

The bot runs in this process (``tests.e2e.Harness``) against the simulated venue in another;
the venue's admin routes drop or freeze sockets on command and count, per channel, the
connections opened and those that completed their subscription handshake.

* Drops: every feed's socket is dropped 100 times; every reconnect must resubscribe (the venue
  sees as many subscribed connections as drops, and sends a fresh book dump on each market
  resubscription); then each feed in turn is dropped with a venue-side outage (reconnects
  refused for a few seconds): our orders must be pulled at once while that feed is blind, and
  come back after it resyncs.
* Freezes: the market and price sockets stay open and answer pings but send no data: the
  bot must notice within its liveness bound, pull its quotes, reconnect, and quote again.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e import Harness, Sampler, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(150)]

FEEDS = {"market": "market_feed", "user": "user_feed", "prices": "price_feed"}
DROPS = 100
OUTAGE_S = 3.0
PULL_BOUND_S = 1.5  # a disconnect is seen at once; this bounds the cancel path end to end
LIVENESS_S = 2.0
FREEZE_S = 8.0


def _fast_reconnect() -> dict[str, object]:
    out: dict[str, object] = {}
    for feed in FEEDS.values():
        out[f"{feed}.reconnect_min_s"] = 0.02
        out[f"{feed}.reconnect_max_s"] = 0.1
    return out


def _none_after(sampler: Sampler, t0: float) -> float | None:
    """Seconds after ``t0`` of the first sample in which none of our orders rested."""
    for t, now_open, _ in sampler.rows:
        if t >= t0 and not now_open:
            return t - t0
    return None


def _gone_after(sampler: Sampler, ids: list[str], t0: float) -> float | None:
    """Seconds after ``t0`` of the first sample in which none of ``ids`` rested any more."""
    wanted = set(ids)
    for t, now_open, _ in sampler.rows:
        if t >= t0 and not wanted & set(now_open):
            return t - t0
    return None


def test_sockets_dropped_100_times_resubscribe_resync_and_pull_quotes(tmp_path):
    with Harness(tmp_path, overrides=_fast_reconnect()) as h:
        h.wait_quoting()
        before = h.venue()
        sub0 = {ch: before["subscribed"].get(ch, 0) for ch in FEEDS}
        dumps0 = before["book_dumps"]

        # 100 drops of every feed's socket, each waited out until the feed has resubscribed.
        for _ in range(DROPS):
            dropped = h.sim.drop(*FEEDS)
            assert all(dropped[ch] >= 1 for ch in FEEDS), dropped
            wait_until(lambda: all(n >= 1 for ch, n in h.venue()["sockets_subscribed"].items()
                                   if ch in FEEDS), 10, "every feed resubscribed")
        after = h.venue()
        for ch, feed in FEEDS.items():
            assert h.feed_stats(feed)["reconnects"] >= DROPS, feed
            # Every reconnect resubscribed: one subscribed connection per drop.
            assert after["subscribed"][ch] - sub0[ch] >= DROPS, ch
        # Every market resubscription asked for (and got) fresh book dumps: a resync.
        assert after["book_dumps"] - dumps0 >= 2 * DROPS

        # Quotes come back once the data does.
        h.wait_quoting(timeout=30)

        # Blind spells: each feed in turn, with reconnects refused for OUTAGE_S.
        with Sampler(h) as sampler:
            for ch in FEEDS:
                ids = h.wait_quoting(timeout=30)
                start = time.monotonic()
                h.sim.drop(ch, outage_s=OUTAGE_S)
                wait_until(lambda ch=ch: h.venue()["sockets_subscribed"].get(ch, 0) >= 1,
                           OUTAGE_S + 10, f"{ch} back after the outage")
                pulled = _gone_after(sampler, ids, start)
                assert pulled is not None, f"quotes not pulled while {ch} was down"
                assert pulled <= PULL_BOUND_S, f"{ch}: pulled after {pulled:.2f} s"
                # Quotes come back after the resync.
                h.wait_quoting(timeout=30)

        stats = h.om_stats()
        assert stats["duplicate_orders"] == 0
        assert stats["unknown_orders"] == 0
    assert h.result["open_orders_after_shutdown"] == 0
    assert h.final_state["duplicates"] == 0
    assert h.final_state["faults"]["socket_refused"] >= 3


@pytest.mark.parametrize("channel", ["market", "prices"])
def test_silent_socket_detected_within_liveness_bound_and_market_gated(tmp_path, channel):
    feed = FEEDS[channel]
    overrides = {**_fast_reconnect(), f"{feed}.liveness_timeout_s": LIVENESS_S,
                 f"{feed}.ping_interval_s": 0.5}
    with Harness(tmp_path, overrides=overrides) as h:
        h.wait_quoting()
        silent0 = h.feed_stats(feed)["silent"]
        reconnects0 = h.feed_stats(feed)["reconnects"]
        connects0 = h.feed_stats(feed)["connects"]
        with Sampler(h) as sampler:
            ids = h.wait_quoting()
            start = time.monotonic()
            # Frozen, and reconnects refused until the freeze ends: the bot is blind that long.
            assert h.sim.freeze(channel, seconds=FREEZE_S, outage_s=FREEZE_S)[channel] >= 1
            wait_until(lambda: h.feed_stats(feed)["silent"] > silent0, LIVENESS_S + 5,
                       f"{feed} declared the frozen socket silent")
            t_detected = time.monotonic()
            detected = t_detected - start
            wait_until(lambda: h.feed_stats(feed)["connects"] > connects0, FREEZE_S + 10,
                       f"{feed} reconnected")
            h.wait_quoting(timeout=30)
        # Until the silence is detected the bot may still re-price (the other feeds flow), so
        # "pulled" is measured from the detection: no order of ours rests from then on.
        pulled = _none_after(sampler, t_detected)
        assert ids, "nothing rested before the freeze"
        assert detected <= LIVENESS_S + 2.0, f"detected after {detected:.2f} s"
        assert pulled is not None, "quotes were not pulled while the feed was silent"
        assert pulled <= PULL_BOUND_S, f"pulled {pulled:.2f} s after the detection"
        # Gated the whole time the feed was blind: nothing of ours rested in between.
        blind = [ids_ for t, ids_, _ in sampler.rows
                 if t_detected + pulled <= t <= start + FREEZE_S - 0.5]
        assert blind and not any(blind), "orders rested while the feed was blind"
        assert h.feed_stats(feed)["reconnects"] > reconnects0
    assert h.result["open_orders_after_shutdown"] == 0
