"""The Treasury: its rules as tables, its actor over a scripted chain, then a real simulated
chain where merges and redeems must leave the sim's pUSD at start + PnL, to the micro-unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from eth_account import Account

from actors.treasury import Treasury, TreasuryConfig
from messages import ConditionId, Market, MarketsChanged, TokenId, TradeEvent, TradeStatus
from messages.errors import BadReply, ChainError, ConfigError, NotSent, OutcomeUnknown
from messages.treasury import PositionsMerged, PositionsRedeemed, TxStatus
from sim.process import SimProcess
from tests.builders import CID, DOWN, OWNER, UP, make_maker_fill, make_market, make_trade
from tests.e2e import wait_until
from tests.fakes import Clock, Collector, FakeLog
from tests.test_sim_support import Client, Socket, next_market, start_sim
from trading.treasury import (
    Holding,
    Merge,
    Redeem,
    Resolution,
    TreasuryLedger,
    plan,
    retry_delay_s,
    steps_for,
)
from venue import contracts as c
from venue.calldata import TxCall
from venue.chain import ChainClient, Receipt
from venue.chain_tx import EoaSender, SignedTx
from venue.wire_user import decode_user

pytestmark = pytest.mark.timeout(90)
M = 1_000_000
MKT = make_market()
UP_WINS = Resolution(1, (1, 0))


# -- the rules ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("up", "down", "resolved", "busy", "retry_at", "expected"), [
    (Holding(10 * M), Holding(7 * M), False, False, 0, [Merge(CID, 7 * M)]),
    (Holding(10 * M), Holding(4 * M), False, False, 0, []),             # below merge_min
    (Holding(10 * M), Holding(5 * M), False, False, 0, [Merge(CID, 5 * M)]),
    (Holding(10 * M), Holding(0, 9 * M), False, False, 0, []),          # a provisional BUY
    (Holding(10 * M, -4 * M), Holding(9 * M), False, False, 0, [Merge(CID, 6 * M)]),  # a SELL
    (Holding(10 * M), Holding(7 * M), False, True, 0, []),              # one in flight
    (Holding(10 * M), Holding(7 * M), False, False, 101, []),           # backing off
    (Holding(10 * M), Holding(7 * M), False, False, 100, [Merge(CID, 7 * M)]),
    (Holding(10 * M), Holding(7 * M), True, False, 0, [Redeem(CID)]),   # resolved: redeem all
    (Holding(0), Holding(1), True, False, 0, [Redeem(CID)]),            # losers too
    (Holding(3 * M, 1 * M), Holding(0), True, False, 0, []),            # fills still settling
    (Holding(0), Holding(0), True, False, 0, []),
    (Holding(0), Holding(0), False, False, 0, []),
])
def test_plan(up: Holding, down: Holding, resolved: bool, busy: bool, retry_at: float,
              expected: list[object]) -> None:
    got = plan([MKT], {UP: up, DOWN: down}, {CID: UP_WINS} if resolved else {},
               merge_min_micro=5 * M, busy={CID} if busy else set(),
               retry_at_s={CID: retry_at} if retry_at else {}, now_s=100)
    assert list(got) == expected


def test_plan_is_per_condition() -> None:
    other = make_market(condition_id=ConditionId("0x" + "cd" * 32),
                        token_ids=(TokenId("3"), TokenId("4")))
    holds = {UP: Holding(6 * M), DOWN: Holding(6 * M), TokenId("3"): Holding(2 * M)}
    assert plan([MKT, other], holds, {other.condition_id: UP_WINS}, merge_min_micro=M,
                busy=(), retry_at_s={}, now_s=0) == (Merge(CID, 6 * M),
                                                      Redeem(other.condition_id))


@pytest.mark.parametrize(("failures", "delay"), [(0, 0), (1, 10), (2, 20), (3, 40), (6, 320),
                                                 (7, 320), (50, 320)])
def test_retry_delay(failures: int, delay: float) -> None:
    assert retry_delay_s(failures, 10) == delay


@pytest.mark.parametrize(("market", "action", "held", "chain", "to", "burned", "paid"), [
    (MKT, Merge(CID, 7 * M), (10 * M, 7 * M), (10 * M, 7 * M), c.CTF_COLLATERAL_ADAPTER,
     [(7 * M, 7 * M)], [7 * M]),
    (MKT, Merge(CID, 7 * M), (10 * M, 7 * M), (10 * M, 6 * M), c.CTF_COLLATERAL_ADAPTER,
     [(6 * M, 6 * M)], [6 * M]),                       # the chain caps the merge
    (MKT, Merge(CID, 7 * M), (10 * M, 7 * M), (10 * M, 4 * M), "", [], []),  # under the min
    (make_market(neg_risk=True), Merge(CID, 7 * M), (7 * M, 7 * M), (7 * M, 7 * M),
     c.NEG_RISK_CTF_COLLATERAL_ADAPTER, [(7 * M, 7 * M)], [7 * M]),
    (MKT, Redeem(CID), (3 * M, 2 * M), (3 * M, 2 * M), c.CTF_COLLATERAL_ADAPTER,
     [(3 * M, 2 * M)], [3 * M]),                       # never the CTF itself (§10.2)
    (MKT, Redeem(CID), (3 * M, 2 * M), (0, 0), "", [], []),
    (make_market(version="v2", condition_id=ConditionId("0x" + "5a" * 31 + "00")), Redeem(CID),
     (3 * M, 2 * M), (3 * M, 2 * M), c.ROUTER, [(3 * M, 0), (0, 2 * M)], [3 * M, 0]),
])
def test_steps(market: Market, action: Merge | Redeem, held: tuple[int, int],
               chain: tuple[int, int], to: str, burned: list[tuple[int, int]],
               paid: list[int]) -> None:
    steps = steps_for(action, market, held, chain, UP_WINS, merge_min_micro=5 * M)
    assert {s.call.to for s in steps} == ({to} if to else set())
    assert [s.burned_micro for s in steps] == burned and [s.payout_micro for s in steps] == paid


def _trade(tid: str, token: TokenId, size: int, status: TradeStatus = TradeStatus.CONFIRMED,
           price: int = 4000) -> TradeEvent:
    return make_trade(trade_id=tid, status=status, token_id=token, maker_fills=(
        make_maker_fill(token_id=token, matched_size_micro=size, price_pips=price),))


def test_ledger_books_merges_and_redeems() -> None:
    led = TreasuryLedger(OWNER)
    led.on_trade(_trade("a", UP, 10 * M))
    led.on_trade(_trade("b", DOWN, 7 * M, price=5500))
    led.on_trade(_trade("c", UP, 2 * M, TradeStatus.MATCHED))
    assert (led.holding(UP), led.holding(DOWN)) == (Holding(10 * M, 2 * M), Holding(7 * M))
    (step,) = steps_for(Merge(CID, 7 * M), MKT, (12 * M, 7 * M), (12 * M, 7 * M), None,
                        merge_min_micro=M)
    assert isinstance(led.book(Merge(CID, 7 * M), MKT, step, "0x1", 0), PositionsMerged)
    assert (led.holding(UP), led.holding(DOWN)) == (Holding(3 * M, 2 * M), Holding(0))
    assert led.redeemable_micro([MKT], {CID: UP_WINS}) == 5 * M
    led.on_trade(_trade("c", UP, 2 * M))  # confirmed now
    (step,) = steps_for(Redeem(CID), MKT, (5 * M, 0), (5 * M, 0), UP_WINS, merge_min_micro=M)
    assert isinstance(led.book(Redeem(CID), MKT, step, "0x2", 0), PositionsRedeemed)
    assert led.redeemable_micro([MKT], {CID: UP_WINS}) == 0
    assert led.cash_micro() == -(12 * M * 4000 // 10_000) - 7 * M * 5500 // 10_000 + 12 * M


# -- the actor over a scripted chain --------------------------------------------------------------

class FakeChain:
    def __init__(self) -> None:
        self.den, self.nums, self.nonce_latest, self.closed = 0, (0, 0), 0, False
        self.balances: dict[int, int] = {}
        self.fail_reads: Exception | None = None

    def payout_denominator(self, ctf: str, condition_id: str) -> int:
        if self.fail_reads is not None:
            raise self.fail_reads
        return self.den

    def payout_numerator(self, ctf: str, condition_id: str, index: int) -> int:
        return self.nums[index]

    def erc1155_balance(self, token: str, owner: str, token_id: int) -> int:
        return self.balances.get(token_id, 0)

    def nonce(self, address: str, block: str = "pending") -> int:
        return self.nonce_latest

    def close(self) -> None:
        self.closed = True


class FakeSender:
    """Signs with increasing nonces; ``submit_errors`` are raised by the next submits in
    turn; ``mined`` maps a hash to its receipt (absent: not mined yet)."""

    address = "0x" + "ee" * 20
    relayed = False

    def __init__(self) -> None:
        self.nonce_latest = 0  # the account's mined nonce (``superseded``)
        self.signed: list[SignedTx] = []
        self.submitted: list[str] = []
        self.submit_errors: list[Exception] = []
        self.sign_error: Exception | None = None
        self.mined: dict[str, Receipt] = {}

    def sign(self, call: TxCall) -> SignedTx:
        if self.sign_error is not None:
            raise self.sign_error
        n = len(self.signed)
        tx = SignedTx(f"0x{n:064x}", b"raw", self.address, call.to, n, 200_000, 90, 30)
        self.signed.append(tx)
        return tx

    def submit(self, tx: SignedTx) -> str:
        self.submitted.append(tx.tx_hash)
        if self.submit_errors:
            err = self.submit_errors.pop(0)
            if "nonce too low" in str(err):
                self.mine()  # mined since the submit that got no reply
            raise err
        return tx.tx_hash

    def receipt(self, tx_hash: str) -> Receipt | None:
        return self.mined.get(tx_hash)

    def superseded(self, tx: SignedTx) -> bool:
        return self.nonce_latest > tx.nonce

    def mine(self, ok: bool = True) -> None:
        h = self.signed[-1].tx_hash
        self.mined[h] = Receipt(h, ok, 7, 180_000, 60)


CFG = TreasuryConfig(merge_min_shares=5, interval_s=10, receipt_timeout_s=60)


class Env:
    """A Treasury never started (its handlers are called here) holding 10 Up and 7 Down."""

    def __init__(self) -> None:
        self.sender, self.chain, self.log = FakeSender(), FakeChain(), FakeLog()
        self.clock, self.sink = Clock(1000), Collector()
        self.t = t = Treasury(config=CFG, owner=OWNER, sender=self.sender, chain=self.chain,
                              sinks=[self.sink], event_log=self.log, clock_s=self.clock)
        t.on_receive(MarketsChanged(markets=(MKT,), added=(CID,), removed=(), ts_recv_ns=0))
        t.on_receive(_trade("a", UP, 10 * M))
        t.on_receive(_trade("b", DOWN, 7 * M, price=5500))
        self.chain.balances = {int(UP): 10 * M, int(DOWN): 7 * M}

    def statuses(self) -> list[str]:
        return [r.status.value for k, r in self.log.records if k == "treasury"]


@pytest.fixture()
def env() -> Env:
    return Env()


def test_merge_is_signed_logged_sent_and_booked_once_mined(env: Env) -> None:
    t, sender = env.t, env.sender
    t.cycle()
    assert env.statuses() == ["signed", "sent"] and t.stats()["pending"] == 1
    t.cycle()  # not mined yet: nothing new, nothing re-sent
    assert len(sender.submitted) == 1 and env.sink.items == []
    sender.mine()
    t.cycle()
    assert env.statuses() == ["signed", "sent", "mined"]
    assert [r.gas_used for _, r in env.log.records][-1] == 180_000
    (msg,) = env.sink.items
    assert (type(msg), msg.amount_micro, msg.token_ids) == (PositionsMerged, 7 * M, (UP, DOWN))
    assert t.stats() == {"merged_usd": 7.0, "redeemed_usd": 0.0, "redeemable_left_usd": 0.0,
                         "pending": 0, "failed": 0}
    t.cycle()
    assert len(sender.signed) == 1  # 3 Up left, no complete set


def test_no_reply_resubmits_the_same_bytes_never_a_new_transaction(env: Env) -> None:
    t, sender = env.t, env.sender
    sender.submit_errors = [OutcomeUnknown("rpc eth_sendRawTransaction: timed out"),
                            ChainError("nonce too low: next nonce 1, tx nonce 0", rpc_code=-1)]
    t.cycle()
    assert env.statuses() == ["signed", "unknown"]
    t.cycle()  # not mined: the same bytes again; the node has mined them meanwhile
    assert sender.submitted == [sender.signed[0].tx_hash] * 2 and len(sender.signed) == 1
    assert env.statuses() == ["signed", "unknown", "mined"]
    assert t.stats()["merged_usd"] == 7.0


@pytest.mark.parametrize("error", [ChainError("insufficient funds for gas * price + value",
                                              rpc_code=-32000), NotSent("no connection")])
def test_a_refusal_is_counted_and_retried_after_a_back_off(env: Env, error: Exception) -> None:
    t, sender = env.t, env.sender
    sender.submit_errors = [error]
    t.cycle()
    assert env.statuses() == ["signed", "refused"]
    assert (t.stats()["failed"], t.stats()["pending"]) == (1, 0)
    env.clock.t += CFG.interval_s - 1
    t.cycle()
    assert len(sender.signed) == 1  # backing off
    env.clock.t += 1
    t.cycle()
    sender.mine()
    t.cycle()
    assert len(sender.signed) == 2 and t.stats()["merged_usd"] == 7.0


def test_estimate_revert_and_reverted_receipt_are_failures(env: Env) -> None:
    t, sender = env.t, env.sender
    sender.sign_error = ChainError("execution reverted: ERC1155: need operator approval",
                                   rpc_code=3)
    t.cycle()
    assert env.statuses() == ["not_sent"] and t.stats()["failed"] == 1
    sender.sign_error = None
    env.clock.t += 100
    t.cycle()
    sender.mine(ok=False)
    t.cycle()
    assert env.statuses()[-3:] == ["signed", "sent", "reverted"]
    assert (t.stats()["failed"], t.stats()["merged_usd"], env.sink.items) == (2, 0.0, [])


def test_an_overdue_receipt_times_out_then_the_nonce_says_dropped(env: Env) -> None:
    t, sender = env.t, env.sender
    t.cycle()
    env.clock.t += CFG.receipt_timeout_s
    t.cycle()
    t.cycle()
    assert env.statuses() == ["signed", "sent", "timeout"]
    assert (t.stats()["failed"], t.stats()["pending"]) == (1, 1)  # still watched
    sender.nonce_latest = 1  # its nonce was used, and not by it
    t.cycle()
    assert env.statuses()[-1] == "dropped" and t.stats()["pending"] == 0


def test_redeem_after_on_chain_resolution_and_read_errors_are_not_fatal(env: Env) -> None:
    t, sender, chain = env.t, env.sender, env.chain
    chain.fail_reads = BadReply("rpc eth_call payoutDenominator: garbage")
    t.cycle()
    assert t.stats()["failed"] == 1 and len(sender.signed) == 1  # the merge went on
    sender.mine()
    chain.balances = {int(UP): 3 * M}
    chain.fail_reads, chain.den, chain.nums = None, 1, (1, 0)
    env.clock.t += 100
    t.cycle()  # books the merge; reads the resolution; redeems
    assert t.stats()["redeemable_left_usd"] == 3.0 and sender.signed[-1].to == \
        c.CTF_COLLATERAL_ADAPTER
    sender.mine()
    t.cycle()
    last = env.sink.items[-1]
    assert isinstance(last, PositionsRedeemed) and last.payout_micro == 3 * M
    assert t.stats() == {
        "merged_usd": 7.0, "redeemed_usd": 3.0, "redeemable_left_usd": 0.0, "pending": 0,
        "failed": 1}
    t.on_receive(MarketsChanged(markets=(), added=(), removed=(CID,), ts_recv_ns=0))
    assert t.stats()["redeemable_left_usd"] == 0.0 and t._markets == {}
    t.on_stop()
    assert chain.closed


@pytest.mark.parametrize("sig", [1, 2])  # 3 (deposit wallet): tests/test_treasury_relayer.py
def test_no_proxy_or_safe_accounts(sig: int) -> None:
    with pytest.raises(ConfigError, match=r"supports 0 \(EOA\) and 3 \(deposit wallet\)"):
        Treasury(config=CFG, owner=OWNER, sender=FakeSender(), chain=FakeChain(),
                 signature_type=sig)


# -- against the simulated venue and chain --------------------------------------------------------

@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    proc = start_sim("--seed", "23")
    yield proc
    proc.stop()


def key_of(n: int) -> str:
    return "0x" + f"{n:02x}" * 32


def market_of(row: dict[str, Any]) -> Market:
    return make_market(condition_id=ConditionId(row["condition_id"]), slug=row["slug"],
                       token_ids=(TokenId(row["token_ids"][0]), TokenId(row["token_ids"][1])),
                       start_ms=int(row["start"] * 1000), end_ms=int(row["end"] * 1000))


Post = Callable[[str, int, int], None]
"""Rest one post-only BUY of ours: token, price pips, size micro."""


def eoa_post(bot: Client) -> Post:
    def post(token: str, price: int, size_micro: int) -> None:
        assert bot.post(token, "BUY", price, size_micro)[1].status_code == 200
    return post


def fill_all(sim: SimProcess, post: Post, user: Socket, orders: list[tuple[str, int, int]],
             tell: Any) -> None:
    """Rest our post-only BUYs (token, price pips, shares) with ``post``, fill each with a
    taker SELL, and tell every trade event of ours to ``tell`` until all are CONFIRMED."""
    for token, price, shares in orders:
        sim.take(token, "BUY", "0.99", "1000000")  # nothing else rests on the book
        sim.take(token, "SELL", "0.01", "1000000")
        post(token, price, shares * M)
        assert sim.take(token, "SELL", f"{price / 10_000:.4f}", str(shares))["trade_id"]
    confirmed: set[str] = set()
    while len(confirmed) < len(orders):
        for ev in decode_user(user.recv_text(10), 0):
            if isinstance(ev, TradeEvent):
                tell(ev)
                if ev.status is TradeStatus.CONFIRMED:
                    confirmed.add(ev.trade_id)


def _start(sim: SimProcess, key: str, owner: str, markets: list[Market], **cfg: Any
           ) -> tuple[Any, FakeLog, Collector]:
    log, sink = FakeLog(), Collector()
    config = TreasuryConfig(**{"merge_min_shares": 5, "interval_s": 0.1, **cfg})
    chain = ChainClient(sim.chain_url)
    ref = Treasury.start(config=config, owner=owner, chain=chain, event_log=log, sinks=[sink],
                         sender=EoaSender(chain, key, chain_id=137, caps=config.gas_caps()))
    ref.tell(MarketsChanged(markets=tuple(markets), added=(), removed=(), ts_recv_ns=0))
    return ref, log, sink


def stats_of(ref: Any) -> dict[str, Any]:
    got: dict[str, Any] = ref.proxy().stats().get(timeout=10)
    return got


def test_merge_resolve_redeem_leaves_pusd_at_start_plus_pnl(sim: SimProcess) -> None:
    key = key_of(0x71)
    bot, who = Client(sim, key), Account.from_key(key_of(0x71)).address
    m1, m2 = market_of(next_market(sim, "btc")), market_of(next_market(sim, "eth"))
    (u1, d1), (u2, d2) = m1.token_ids, m2.token_ids
    user = Socket(sim.ws_url + "/ws/user")
    with ChainClient(sim.chain_url) as chain:
        start = chain.erc20_balance(c.PUSD, who)
        ref, log, sink = _start(sim, key, bot.creds.api_key, [m1, m2])
        try:
            user.send({"type": "user", "auth": bot.raw_auth(), "markets": []})
            fill_all(sim, eoa_post(bot), user,
                     [(u1, 4000, 10), (d1, 5500, 7), (u2, 6500, 5), (d2, 3000, 6)],
                  ref.tell)
            wait_until(lambda: stats_of(ref)["merged_usd"] == 12.0 and not stats_of(ref)["pending"],
                       20, "both merges mined", explain=lambda: str(stats_of(ref)))
            bal = {t: chain.erc1155_balance(c.CTF, who, int(t)) for t in (u1, d1, u2, d2)}
            assert bal == {u1: 3 * M, d1: 0, u2: 0, d2: 1 * M}
            assert stats_of(ref)["redeemable_left_usd"] == 0.0  # nothing resolved yet
            sim.resolve(m1.condition_id, 0)  # Up wins both: 3 Up pay 3, 1 Down pays 0
            sim.resolve(m2.condition_id, 0)
            wait_until(lambda: len(sink.of(PositionsRedeemed)) == 2, 20, "both redeems mined",
                       explain=lambda: str(stats_of(ref)))
            final = stats_of(ref)
            cash = ref.proxy().cash_micro().get(timeout=10)
        finally:
            ref.stop(timeout=10)
            user.close()
        assert final == {"merged_usd": 12.0, "redeemed_usd": 3.0, "redeemable_left_usd": 0.0,
                         "pending": 0, "failed": 0}
        spent = 4_000_000 + 3_850_000 + 3_250_000 + 1_800_000
        assert cash == -spent + 12 * M + 3 * M
        assert chain.erc20_balance(c.PUSD, who) == start + cash  # to the micro-unit
        assert all(chain.erc1155_balance(c.CTF, who, int(t)) == 0 for t in (u1, d1, u2, d2))
    txs = [r for k, r in log.records if k == "treasury"]
    mined = [r for r in txs if r.status is TxStatus.MINED]
    assert len(mined) == 4 and all(r.gas_used > 0 and r.to == c.CTF_COLLATERAL_ADAPTER
                                   for r in mined)
    assert {r.tx_hash for r in txs if r.status is TxStatus.SIGNED} == {r.tx_hash for r in mined}


def test_an_unfunded_gas_account_is_counted_and_retried(sim: SimProcess) -> None:
    key = key_of(0x72)
    bot, who = Client(sim, key), Account.from_key(key_of(0x72)).address
    m = market_of(next_market(sim, "btc"))
    user = Socket(sim.ws_url + "/ws/user")
    sim.account(who, pol="0")
    ref, log, _ = _start(sim, key, bot.creds.api_key, [m])
    try:
        user.send({"type": "user", "auth": bot.raw_auth(), "markets": []})
        fill_all(sim, eoa_post(bot), user, [(m.token_ids[0], 4000, 5), (m.token_ids[1], 5500, 5)],
                 ref.tell)
        wait_until(lambda: stats_of(ref)["failed"] >= 2, 20, "refused merges, retried")
        refused = [r for k, r in log.records if k == "treasury" and r.status is TxStatus.REFUSED]
        assert refused and "insufficient funds" in refused[0].error
        assert ref.is_alive() and stats_of(ref)["merged_usd"] == 0.0
        sim.account(who, pol="10")
        wait_until(lambda: stats_of(ref)["merged_usd"] == 5.0, 20, "the merge after funding",
                   explain=lambda: str(stats_of(ref)))
    finally:
        ref.stop(timeout=10)
        user.close()
    assert sim.account(who)["positions"] == {}
