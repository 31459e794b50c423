"""The local book: snapshots, level replacement, best tracking, checksum, stale drops."""

from __future__ import annotations

import random

import pytest

from messages import Side
from tests.builders import START_MS, make_snapshot
from trading.book import Book, MarketBooks

B, S = Side.BUY, Side.SELL


def fresh(bids=((4800, 30), (4900, 20)), asks=((5200, 25), (5300, 60)), ts=START_MS) -> Book:
    book = Book("t")
    assert book.apply_snapshot(make_snapshot(bids=bids, asks=asks, ts_event_ms=ts))
    return book


def test_snapshot_replaces_both_sides_and_ignores_wire_order():
    book = fresh()
    assert book.apply_snapshot(make_snapshot(bids=((4000, 1), (4500, 2), (4200, 3)),
                                             asks=((6000, 1), (5500, 2)),
                                             ts_event_ms=START_MS + 5))
    assert book.bids == {4000: 1, 4500: 2, 4200: 3}
    assert book.asks == {6000: 1, 5500: 2}
    assert book.top() == (4500, 5500)
    assert book.synced and book.has_snapshot
    assert book.last_ts_ms == START_MS + 5


def test_empty_snapshot_gives_empty_top():
    book = fresh(bids=(), asks=())
    assert book.top() == (None, None)
    assert book.mid_pips() is None


@pytest.mark.parametrize("ops, top, bids, asks", [
    # replace a level's size (not a delta)
    ([(B, 4900, 99)], (4900, 5200), {4800: 30, 4900: 99}, None),
    # a better bid / ask becomes the best at once
    ([(B, 5000, 1)], (5000, 5200), None, None),
    ([(S, 5100, 1)], (4900, 5100), None, None),
    # a worse level does not move the best
    ([(B, 4000, 1), (S, 6000, 1)], (4900, 5200), None, None),
    # removing a non-best level
    ([(B, 4800, 0)], (4900, 5200), {4900: 20}, None),
    # removing the best recomputes from the rest
    ([(B, 4900, 0)], (4800, 5200), {4800: 30}, None),
    ([(S, 5200, 0)], (4900, 5300), None, {5300: 60}),
    # removing everything on a side empties it
    ([(B, 4900, 0), (B, 4800, 0)], (None, 5200), {}, None),
    ([(S, 5200, 0), (S, 5300, 0)], (4900, None), None, {}),
    # removing an absent level is a no-op
    ([(B, 1234, 0)], (4900, 5200), {4800: 30, 4900: 20}, None),
    # refill an emptied side
    ([(B, 4900, 0), (B, 4800, 0), (B, 4700, 5)], (4700, 5200), {4700: 5}, None),
])
def test_level_changes(ops, top, bids, asks):
    book = fresh()
    for side, price, size in ops:
        assert book.apply_level(side, price, size, START_MS + 1)
    assert book.top() == top
    if bids is not None:
        assert book.bids == bids
    if asks is not None:
        assert book.asks == asks


def test_best_tracking_matches_a_full_scan_under_random_changes():
    rng = random.Random(7)
    book = fresh()
    for _ in range(3000):
        side = rng.choice((B, S))
        price = rng.randrange(100, 10000, 100)
        size = rng.choice((0, 0, rng.randrange(1, 100)))
        book.apply_level(side, price, size)
        assert book.best_bid() == (max(book.bids) if book.bids else None)
        assert book.best_ask() == (min(book.asks) if book.asks else None)


@pytest.mark.parametrize("bid, ask, ok", [
    (4900, 5200, True),
    (None, None, True),          # no values: nothing to check
    (4900, None, True),
    (None, 5200, True),
    (4800, 5200, False),
    (4900, 5300, False),
    (0, 5200, False),            # venue says bids empty, ours are not
    (4900, 10000, False),        # venue says asks empty, ours are not
])
def test_checksum_on_two_sided_book(bid, ask, ok):
    assert fresh().checksum_ok(bid, ask) is ok


@pytest.mark.parametrize("bid, ask, ok", [
    (0, 10000, True),            # the venue's spelling of an empty book
    (None, None, True),
    (0, None, True),
    (100, 10000, False),
    (0, 9900, False),
])
def test_checksum_on_empty_book(bid, ask, ok):
    assert fresh(bids=(), asks=()).checksum_ok(bid, ask) is ok


def test_changes_older_than_the_snapshot_are_dropped():
    book = fresh(ts=START_MS + 10)
    assert not book.apply_level(B, 5000, 5, START_MS + 9)
    assert book.top() == (4900, 5200)
    assert book.apply_level(B, 5000, 5, START_MS + 10)   # same ms as the snapshot: applied
    assert book.top() == (5000, 5200)
    assert book.last_ts_ms == START_MS + 10
    assert book.apply_level(B, 5100, 5)                  # no time: not checked
    assert book.best_bid() == 5100


def test_older_snapshot_is_dropped():
    book = fresh(ts=START_MS + 10)
    assert not book.apply_snapshot(make_snapshot(bids=((100, 1),), asks=(),
                                                 ts_event_ms=START_MS + 9))
    assert book.top() == (4900, 5200)
    assert book.apply_snapshot(make_snapshot(bids=((100, 1),), asks=(),
                                             ts_event_ms=START_MS + 9), force=True)
    assert book.top() == (100, None)


def test_clear_keeps_snapshot_time():
    book = fresh(ts=START_MS + 10)
    book.clear()
    assert book.top() == (None, None) and not book.synced
    assert not book.apply_level(B, 5000, 5, START_MS)


@pytest.mark.parametrize("gamma, events, tick", [
    (100, [], 100),
    (0, [], None),
    (0, [(0, 10)], 10),
    (100, [(0, 10)], 100),               # the other token is still on the 0.01 grid
    (100, [(0, 10), (1, 10)], 10),
    (100, [(0, 10), (1, 10), (0, 100)], 100),
    (100, [(None, 10)], 10),             # the listed tick itself changed
])
def test_market_tick_is_the_coarser_token_tick(gamma, events, tick):
    mb = MarketBooks(("a", "b"), gamma)
    for index, t in events:
        mb.set_tick(index, t)
    assert mb.tick_pips == tick


def test_market_books_sync_recv_and_mark():
    mb = MarketBooks(("a", "b"), 100)
    assert not mb.synced() and mb.recv_ns() == 0
    mb.books[0].apply_snapshot(make_snapshot(ts_recv_ns=5))
    assert not mb.synced()
    mb.books[1].apply_snapshot(make_snapshot(bids=(), asks=(), ts_recv_ns=9))
    assert mb.synced() and mb.recv_ns() == 9
    assert mb.mark_pips(0) == (4900 + 5200) // 2
    assert mb.mark_pips(1) is None
    mb.last_trade_pips[1] = 4000
    assert mb.mark_pips(1) == 4000
    assert mb.unsync() and not mb.synced()
    assert not mb.unsync()
