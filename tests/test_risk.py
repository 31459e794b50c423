"""trading.risk: worst-case limits on posts, and the kill-switch monitor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from messages import DesiredQuote, RejectReason, Side, TokenId
from tests.builders_quoting import CID, CID2, DOWN, UP, UP2, make_limits, make_live, make_quote
from trading.risk import (
    MAX_NOTIONAL,
    MAX_OPEN_ORDERS,
    MAX_ORDER_SIZE,
    MAX_POSITION,
    Exposure,
    KillSwitchMonitor,
    RiskResult,
    TokenExposure,
    buy_notional_micro,
    check_posts,
)

SHARE = 1_000_000
MIN_SIZE = {CID: 5 * SHARE, CID2: 5 * SHARE}


def _check(posts: Sequence[DesiredQuote], positions: Mapping[TokenId, int] | None = None,
           live: Sequence[Any] = (), in_flight: Sequence[DesiredQuote] = (),
           position_notional: int = 0, open_orders: Mapping[str, int] | None = None,
           **limits: Any) -> RiskResult:
    exposure = Exposure.build(positions or {}, live, in_flight, position_notional)
    if open_orders is None:
        counts: dict[str, int] = {}
        for o in [*live, *in_flight]:
            counts[o.condition_id] = counts.get(o.condition_id, 0) + 1
        open_orders = counts
    return check_posts(posts, exposure, open_orders, make_limits(**limits),  # type: ignore[arg-type]
                       MIN_SIZE)


def _sizes(result: RiskResult) -> list[int]:
    return [q.size_micro for q in result.accepted]


def test_exposure_build_counts_fills_orders_and_in_flight() -> None:
    live = [make_live("0x01", size_micro=10 * SHARE, price_pips=4000),
            make_live("0x02", token_id=DOWN, side=Side.SELL, size_micro=3 * SHARE)]
    in_flight = [make_quote(size_micro=5 * SHARE, price_pips=5000)]
    exp = Exposure.build({UP: 7 * SHARE}, live, in_flight, position_notional_micro=1_000_000)
    assert exp.token(UP) == TokenExposure(position_micro=7 * SHARE, open_buy_micro=15 * SHARE)
    assert exp.token(DOWN) == TokenExposure(open_sell_micro=3 * SHARE)
    assert exp.token(UP2) == TokenExposure()
    assert exp.notional_micro == 1_000_000 + 4 * SHARE + 2_500_000


def test_buy_notional_rounds_up() -> None:
    assert buy_notional_micro(4800, 10 * SHARE) == 4_800_000
    assert buy_notional_micro(4801, 1) == 1


def test_within_limits_is_accepted_unchanged() -> None:
    posts = [make_quote(), make_quote(token_id=DOWN)]
    assert _check(posts) == RiskResult(accepted=tuple(posts), trimmed=0, dropped=())


@pytest.mark.parametrize(("positions", "live", "in_flight", "expected"), [
    # max_position 100 shares on UP; the post is 10 shares.
    ({UP: 95 * SHARE}, [], [], [5 * SHARE]),                      # unconfirmed fills count
    ({UP: 80 * SHARE}, [make_live("0x01", size_micro=12 * SHARE)], [], [8 * SHARE]),
    ({UP: 80 * SHARE}, [], [make_quote(size_micro=14 * SHARE)], [6 * SHARE]),   # in flight
    ({UP: 80 * SHARE}, [], [make_quote(size_micro=16 * SHARE)], []),  # 4 < min size: dropped
    ({UP: 100 * SHARE}, [], [], []),
    ({UP: 90 * SHARE, DOWN: 100 * SHARE}, [], [], [10 * SHARE]),   # other token irrelevant
    ({UP: 90 * SHARE}, [make_live("0x02", side=Side.SELL, size_micro=50 * SHARE)], [],
     [10 * SHARE]),                                              # resting sells do not help
    ({UP: 92_345_678}, [], [], [7_650_000]),                      # trimmed to 0.01 share
])
def test_max_position(positions: dict[TokenId, int], live: list[Any],
                      in_flight: list[DesiredQuote], expected: list[int]) -> None:
    result = _check([make_quote(size_micro=10 * SHARE)], positions, live, in_flight,
                    max_position_shares=100, max_open_orders_per_market=10)
    assert _sizes(result) == expected
    assert result.trimmed == (1 if expected and expected != [10 * SHARE] else 0)
    if not expected:
        assert [r for _, r in result.dropped] == [MAX_POSITION]


def test_posts_count_against_each_other() -> None:
    posts = [make_quote(size_micro=30 * SHARE, price_pips=4800 - i * 100) for i in range(4)]
    result = _check(posts, {UP: 20 * SHARE}, max_position_shares=100)
    assert _sizes(result) == [30 * SHARE, 30 * SHARE, 20 * SHARE]
    assert result.trimmed == 1 and [r for _, r in result.dropped] == [MAX_POSITION]


def test_max_notional() -> None:
    # 500 pUSD limit; 480 committed already; a BUY 100 @ 0.50 fits 40 shares.
    posts = [make_quote(size_micro=100 * SHARE, price_pips=5000)]
    result = _check(posts, position_notional=480 * SHARE, max_order_shares=1000,
                    max_position_shares=1000)
    assert _sizes(result) == [40 * SHARE] and result.trimmed == 1
    # In-flight BUYs count: 18 pUSD more leaves 2 pUSD = 4 shares < min size 5.
    result = _check(posts, position_notional=480 * SHARE,
                    in_flight=[make_quote(condition_id=CID2, token_id=UP2, size_micro=36 * SHARE,
                                          price_pips=5000)],
                    max_order_shares=1000, max_position_shares=1000)
    assert result.accepted == () and [r for _, r in result.dropped] == [MAX_NOTIONAL]


def test_max_notional_room_never_overshoots() -> None:
    posts = [make_quote(size_micro=100 * SHARE, price_pips=3300)]
    result = _check(posts, position_notional=490 * SHARE - 1, max_order_shares=1000,
                    max_position_shares=1000)
    (q,) = result.accepted
    assert 490 * SHARE - 1 + buy_notional_micro(q.price_pips, q.size_micro) <= 500 * SHARE
    assert q.size_micro == 30_300_000


def test_max_order_size_trims() -> None:
    result = _check([make_quote(size_micro=80 * SHARE)], max_order_shares=50)
    assert _sizes(result) == [50 * SHARE] and result.trimmed == 1


def test_binding_limit_names_the_drop() -> None:
    # Position room 10 shares, notional room 1 pUSD = 2.08 shares @ 0.48: notional binds.
    result = _check([make_quote(size_micro=10 * SHARE)], {UP: 90 * SHARE},
                    position_notional=499 * SHARE)
    assert [r for _, r in result.dropped] == [MAX_NOTIONAL]
    # Position room 1 share, notional room 2.08 shares: position binds.
    result = _check([make_quote(size_micro=10 * SHARE)], {UP: 99 * SHARE},
                    position_notional=499 * SHARE)
    assert [r for _, r in result.dropped] == [MAX_POSITION]


def test_max_open_orders_per_market() -> None:
    posts = [make_quote(price_pips=p) for p in (4800, 4700, 4600)] + [
        make_quote(condition_id=CID2, token_id=UP2)]
    result = _check(posts, open_orders={CID: 2}, max_open_orders_per_market=3)
    assert [q.price_pips for q in result.accepted] == [4800, 4800]
    assert [q.condition_id for q in result.accepted] == [CID, CID2]
    assert [(q.price_pips, r) for q, r in result.dropped] == [
        (4700, MAX_OPEN_ORDERS), (4600, MAX_OPEN_ORDERS)]


def test_open_orders_include_live_and_in_flight() -> None:
    live = [make_live("0x01"), make_live("0x02", token_id=DOWN)]
    result = _check([make_quote(price_pips=4000)], live=live, in_flight=[make_quote()],
                    max_open_orders_per_market=3, max_position_shares=1000)
    assert [r for _, r in result.dropped] == [MAX_OPEN_ORDERS]


def test_sell_is_bounded_by_the_short_side() -> None:
    post = make_quote(side=Side.SELL, size_micro=30 * SHARE)
    assert _sizes(_check([post], {UP: 0}, max_position_shares=20)) == [20 * SHARE]
    assert _sizes(_check([post], {UP: 50 * SHARE}, max_position_shares=20)) == [30 * SHARE]


def test_reason_constants_are_distinct() -> None:
    assert len({MAX_OPEN_ORDERS, MAX_ORDER_SIZE, MAX_POSITION, MAX_NOTIONAL}) == 4


# --- kill switch -----------------------------------------------------------------------------

def _kill(**over: Any) -> KillSwitchMonitor:
    base = dict(kill_min_posts=10, kill_error_rate=0.5, kill_window_s=60, kill_max_rejects=20)
    return KillSwitchMonitor(make_limits(**{**base, **over}))


def test_trips_on_error_rate() -> None:
    ks = _kill()
    for i in range(10):
        ks.record_post(ok=i % 3 == 0, now_ms=1000 + i)  # 6 of 10 failed
    reason = ks.tripped()
    assert reason is not None and "6/10" in reason


def test_needs_min_posts_and_rate_above_threshold() -> None:
    ks = _kill()
    for i in range(9):
        ks.record_post(ok=False, now_ms=1000 + i)
    assert ks.tripped() is None  # 9 < kill_min_posts
    ks2 = _kill()
    for i in range(10):
        ks2.record_post(ok=i % 2 == 0, now_ms=1000 + i)  # exactly 50 %: not above
    assert ks2.tripped() is None


def test_old_errors_leave_the_window() -> None:
    ks = _kill()
    for i in range(5):
        ks.record_post(ok=False, now_ms=1000 + i)
    for i in range(10):
        ks.record_post(ok=True, now_ms=70_000 + i)  # the errors are > 60 s old by now
    for i in range(5):
        ks.record_post(ok=False, now_ms=70_100 + i)
    assert ks.tripped() is None  # 5/15 in the window


def test_trips_on_reject_count() -> None:
    ks = _kill(kill_max_rejects=3)
    ks.record_reject(RejectReason.TICK, 1000)
    ks.record_reject(RejectReason.BALANCE, 2000)
    assert ks.tripped() is None
    ks.record_reject(RejectReason.SERVER, 3000)
    assert ks.tripped() == "3 rejects in 60s"


def test_rejects_spread_out_do_not_trip() -> None:
    ks = _kill(kill_max_rejects=3)
    for t in (0, 40_000, 80_000, 120_000):
        ks.record_reject(RejectReason.TICK, t)
    assert ks.tripped() is None


def test_post_only_crosses_never_trip() -> None:
    ks = _kill(kill_max_rejects=3)
    for i in range(100):
        ks.record_result(RejectReason.POST_ONLY_CROSS, 1000 + i)
        ks.record_reject(RejectReason.POST_ONLY_CROSS, 1000 + i)
    assert ks.tripped() is None


def test_record_result_counts_real_errors() -> None:
    ks = _kill(kill_max_rejects=1000)
    for i in range(10):
        ks.record_result(RejectReason.SERVER if i < 6 else None, 1000 + i)
    assert ks.tripped() is not None


def test_manual_trip_and_reset() -> None:
    ks = _kill()
    ks.manual("operator")
    assert ks.tripped() == "manual: operator"
    ks.reset()
    assert ks.tripped() is None


def test_trip_latches_until_reset() -> None:
    ks = _kill(kill_max_rejects=2)
    ks.record_reject(RejectReason.TICK, 0)
    ks.record_reject(RejectReason.TICK, 1)
    assert ks.tripped() is not None
    for i in range(10):
        ks.record_post(ok=True, now_ms=200_000 + i)
    assert ks.tripped() is not None
    ks.reset()
    ks.record_reject(RejectReason.TICK, 300_000)
    assert ks.tripped() is None
