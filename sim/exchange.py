"""The venue's core: markets, the orders of each API key, matching and its events.

Every public method takes ``now`` (Unix seconds, float) from its caller. Matching happens in
the canonical Up book (``sim.book``); events go out through the market publisher and the user
channel (``UserOut``). Trades move MATCHED → MINED → CONFIRMED (or RETRYING → FAILED) on timers
scheduled through ``schedule``. With a ``Ledger`` (the simulated chain, ``sim.chain_state``),
orders need the balance and allowance to pay for them, a mined trade moves the accounts'
tokens and pUSD, and a closed market's condition resolves. Everything is owned by the
simulator's event loop.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sim.book import BUY, SELL, Fill, Resting, to_up
from sim.stats import Stats
from sim.trades import MakerEntry, Order, Trade, order_event, trade_json
from sim.windows import MarketState
from sim.wire import PIPS, micro_str, ratio_str
from sim.ws_market import MarketPublisher

logger = logging.getLogger(__name__)

NOT_READY = "the market is not yet ready to process new orders"
NOT_CANCELED = "order can't be found - already canceled or matched"


class UserOut(Protocol):
    def send(self, api_key: str, condition_id: str, event: dict[str, object]) -> None: ...


class Ledger(Protocol):
    """The chain behind the venue (``sim.chain_state.ChainLedger``)."""

    def register(self, condition_id: str, token_ids: tuple[str, str], version: str,
                 neg_risk: bool) -> None: ...

    def resolve(self, condition_id: str, winner: int) -> None: ...

    def order_refusal(self, *, address: str, signature_type: int, token_id: str, side: str,
                      usd_micro: int, shares_micro: int, reserved_usd_micro: int,
                      reserved_shares_micro: int) -> str | None: ...

    def settle(self, trade: Trade) -> None: ...

    def wallet_owner(self, address: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Trade settlement timing: seconds to MINED and on to CONFIRMED, and the FAILED rate."""

    mined_s: float = 0.2
    confirmed_s: float = 1.0
    fail_rate: float = 0.0


class OrderError(Exception):
    """An order refused with the venue's 400 message; ``reason`` keys ``/_sim/state``."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class Exchange:
    """Markets by id, the orders of each key, trades, and the matching glue."""

    def __init__(self, *, stats: Stats, publisher: MarketPublisher, user: UserOut,
                 schedule: Callable[[float, Callable[[], None]], object],
                 lifecycle: Lifecycle, rng: random.Random, ledger: Ledger | None = None) -> None:
        self.stats = stats
        self.ledger = ledger
        self.pub = publisher
        self.user = user
        self.schedule = schedule
        self.lifecycle = lifecycle
        self.rng = rng
        self.markets: dict[str, MarketState] = {}
        self.by_token: dict[str, MarketState] = {}
        self.by_slug: dict[str, MarketState] = {}
        self.orders: dict[str, Order] = {}
        self.open_by_key: dict[str, dict[str, Order]] = {}
        self.trades_by_key: dict[str, list[Trade]] = {}

    # -- markets -----------------------------------------------------------------------------

    def add_market(self, m: MarketState) -> None:
        self.markets[m.condition_id] = m
        self.by_slug[m.slug] = m
        for t in m.token_ids:
            self.by_token[t] = m
        if self.ledger is not None:
            self.ledger.register(m.condition_id, m.token_ids, m.version, m.neg_risk)

    def forget_market(self, m: MarketState) -> None:
        self.markets.pop(m.condition_id, None)
        self.by_slug.pop(m.slug, None)
        for t in m.token_ids:
            self.by_token.pop(t, None)

    def set_tick(self, m: MarketState, tick_pips: int, now: float) -> None:
        if tick_pips == m.tick_pips:
            return
        old, m.tick_pips = m.tick_pips, tick_pips
        logger.info("tick of %s: %d -> %d pips", m.slug, old, tick_pips)
        self.pub.tick_change(m, old, tick_pips, int(now * 1000))

    def close_market(self, m: MarketState, winner: int, now: float) -> None:
        """Resolve: stop accepting, cancel every resting order, announce the winner."""
        m.accepting = False
        m.closed = True
        m.winner = winner
        if self.ledger is not None:
            self.ledger.resolve(m.condition_id, winner)
        now_ms = int(now * 1000)
        changes = []
        for order_id in list(m.book.orders):
            removed = m.book.remove(order_id)
            if removed is None:
                continue
            changes.append(removed[1])
            o = self.orders.get(order_id)
            if o is not None:
                # A client's order still resting when its window closed (a market maker should
                # have pulled it before the close).
                self.stats.canceled_at_close += 1
                self._cancelled(o, now_ms)
        self.pub.price_change(m, changes, now_ms)
        self.pub.resolved(m, now_ms)

    # -- orders ------------------------------------------------------------------------------

    def check_and_place(self, *, api_key: str, address: str, order: dict[str, object],
                        order_id: str, post_only: bool, order_type: str, now: float
                        ) -> dict[str, object]:
        """Validate an order whose signature was already verified; rest or match it.

        Returns the §5.4 success body; raises ``OrderError`` with the venue's message.
        """
        m = self.by_token.get(str(order["tokenId"]))
        if m is None:
            raise OrderError("Invalid order payload", "unknown_market")
        if order_id in self.orders:
            self.stats.duplicates += 1
            raise OrderError(f"order {order_id} is invalid. Duplicated.", "duplicate")
        if not m.accepting or m.closed:
            raise OrderError(NOT_READY, "not_accepting")
        side = str(order["side"])
        maker_amt, taker_amt = int(str(order["makerAmount"])), int(str(order["takerAmount"]))
        usd, shares = (maker_amt, taker_amt) if side == BUY else (taker_amt, maker_amt)
        if usd <= 0 or shares <= 0:
            raise OrderError("Invalid order payload", "invalid")
        tick = m.tick_pips
        if (usd * PIPS) % shares or (usd * PIPS // shares) % tick:
            raise OrderError(
                f"order {order_id} is invalid. Price ({ratio_str(usd, shares)}) breaks minimum "
                f"tick size rule: {ratio_str(tick, PIPS)}", "tick")
        price = usd * PIPS // shares
        if not tick <= price <= PIPS - tick:
            raise OrderError(
                f"order {order_id} is invalid. Price ({ratio_str(usd, shares)}) breaks minimum "
                f"tick size rule: {ratio_str(tick, PIPS)}", "tick")
        if shares < m.min_size_micro:
            raise OrderError(f"order {order_id} is invalid. Size ({micro_str(shares)}) lower "
                             f"than the minimum: {micro_str(m.min_size_micro)}", "min_size")
        if order_type not in ("GTC", "GTD", "FOK", "FAK"):
            raise OrderError("Invalid order payload", "invalid")
        if post_only and order_type not in ("GTC", "GTD"):
            raise OrderError("invalid post-only order: only GTC and GTD order types are allowed",
                             "post_only_type")
        idx = m.token_index(str(order["tokenId"]))
        up_side, up_price = to_up(idx, side, price)
        if post_only and m.book.crosses(up_side, up_price):
            raise OrderError("invalid post-only order: order crosses book", "post_only_cross")
        if order_type == "FOK" and m.book.fillable(up_side, up_price) < shares:
            raise OrderError("order couldn't be fully filled. FOK orders are fully filled or "
                             "killed.", "fok")
        if order_type == "FAK" and not m.book.crosses(up_side, up_price):
            raise OrderError("no orders found to match with FAK order. FAK orders are partially "
                             "filled or killed if no match is found.", "fak")
        if self.ledger is not None:
            maker = str(order["maker"]).lower()
            refusal = self.ledger.order_refusal(
                address=maker, signature_type=int(str(order.get("signatureType", 0))),
                token_id=m.token_ids[idx], side=side, usd_micro=usd, shares_micro=shares,
                **self._reserved(api_key, maker, m.token_ids[idx]))
            if refusal is not None:
                raise OrderError(refusal, "balance")
        o = Order(id=order_id, owner=api_key, maker_address=str(order["maker"]).lower(),
                  condition_id=m.condition_id, token_id=m.token_ids[idx], token_index=idx,
                  side=side, price_pips=price, original_micro=shares, order_type=order_type,
                  expiration=str(order.get("expiration", "0")), created_s=int(now))
        self.orders[order_id] = o
        self.stats.orders_accepted += 1
        now_ms = int(now * 1000)
        trade = None
        if m.book.crosses(up_side, up_price):
            trade = self.take(m, idx, side, price, shares, now, taker=o)
        if o.remaining_micro > 0 and order_type in ("GTC", "GTD"):
            self.open_by_key.setdefault(api_key, {})[order_id] = o
            change = m.book.add(Resting(order_id=order_id, owner=api_key, token_index=idx,
                                        up_side=up_side, up_price=up_price,
                                        remaining=o.remaining_micro))
            self.user.send(api_key, m.condition_id, order_event(o, "PLACEMENT", now_ms))
            self.pub.price_change(m, [change], now_ms)
        elif o.remaining_micro > 0:
            o.status = "CANCELED" if o.matched_micro == 0 else "MATCHED"
        filled = o.matched_micro
        making = filled * price // PIPS if side == BUY else filled
        taking = filled if side == BUY else filled * price // PIPS
        if o.remaining_micro == 0:
            status = "matched"
        elif order_type in ("GTC", "GTD"):
            status = "live"
        else:
            status = "matched" if filled else "unmatched"
        return {"success": True, "errorMsg": "", "orderID": order_id, "status": status,
                "makingAmount": micro_str(making) if filled else "",
                "takingAmount": micro_str(taking) if filled else "",
                "transactionsHashes": [], "tradeIDs": [trade.id] if trade else []}

    def _reserved(self, api_key: str, maker: str, token_id: str) -> dict[str, int]:
        """What the open orders of ``maker`` already hold: pUSD for BUYs, ``token_id`` for
        SELLs (the venue counts open orders against the balance)."""
        usd = shares = 0
        for o in self.open_by_key.get(api_key, {}).values():
            if o.maker_address != maker:
                continue
            if o.side == BUY:
                usd += o.remaining_micro * o.price_pips // PIPS
            elif o.token_id == token_id:
                shares += o.remaining_micro
        return {"reserved_usd_micro": usd, "reserved_shares_micro": shares}

    def cancel(self, api_key: str, order_ids: list[str], now: float) -> dict[str, object]:
        """``DELETE /order(s)``: cancel what is open; duplicates ignored."""
        canceled: list[str] = []
        not_canceled: dict[str, str] = {}
        open_orders = self.open_by_key.get(api_key, {})
        now_ms = int(now * 1000)
        touched: dict[str, list[tuple[str, int, int]]] = {}
        for oid in dict.fromkeys(order_ids):
            o = open_orders.get(oid)
            if o is None:
                not_canceled[oid] = NOT_CANCELED
                continue
            m = self.markets.get(o.condition_id)
            if m is not None:
                removed = m.book.remove(oid)
                if removed is not None:
                    touched.setdefault(m.condition_id, []).append(removed[1])
            self._cancelled(o, now_ms)
            canceled.append(oid)
        for cid, changes in touched.items():
            self.pub.price_change(self.markets[cid], changes, now_ms)
        self.stats.cancels += len(canceled)
        return {"canceled": canceled, "not_canceled": not_canceled}

    def cancel_where(self, api_key: str, now: float, *, market: str = "", asset_id: str = ""
                     ) -> dict[str, object]:
        ids = [o.id for o in self.open_by_key.get(api_key, {}).values()
               if (not market or o.condition_id == market)
               and (not asset_id or o.token_id == asset_id)]
        return self.cancel(api_key, ids, now)

    def _cancelled(self, o: Order, now_ms: int) -> None:
        o.status = "CANCELED"
        self.open_by_key.get(o.owner, {}).pop(o.id, None)
        self.user.send(o.owner, o.condition_id, order_event(o, "CANCELLATION", now_ms))

    # -- matching ----------------------------------------------------------------------------

    def take(self, m: MarketState, idx: int, side: str, price: int, size: int, now: float, *,
             taker: Order | None = None) -> Trade | None:
        """Match a taker on token ``idx`` (side/price in that token's terms); emit everything."""
        up_side, up_price = to_up(idx, side, price)
        fills, changes = m.book.match(up_side, up_price, size,
                                      taker_owner=taker.owner if taker else "")
        if not fills:
            return None
        now_ms = int(now * 1000)
        trade = self._trade(m, idx, side, fills, taker, now)
        for f in fills:
            o = self.orders.get(f.maker.order_id)
            if o is None:
                continue
            o.matched_micro += f.size
            o.trade_ids.append(trade.id)
            if o.remaining_micro <= 0:
                o.status = "MATCHED"
                self.open_by_key.get(o.owner, {}).pop(o.id, None)
            self.stats.fills += 1
            self.user.send(o.owner, m.condition_id, order_event(o, "UPDATE", now_ms))
        if taker is not None:
            taker.matched_micro += trade.size_micro
            taker.trade_ids.append(trade.id)
            if taker.remaining_micro <= 0:
                taker.status = "MATCHED"
            self.stats.fills += 1
        for key in trade.owners():
            self.trades_by_key.setdefault(key, []).append(trade)
        self._publish_trade(trade)
        m.last_trade_pips = trade.price_pips if idx == 0 else PIPS - trade.price_pips
        self.pub.books(m, now_ms)
        self.pub.last_trade(m, idx, side, trade.price_pips, trade.size_micro, now_ms)
        self.pub.best_bid_ask(m, now_ms)
        del changes  # the book events that follow a trade carry the new levels
        lc = self.lifecycle
        if trade.owners():
            failing = self.rng.random() < lc.fail_rate
            self.schedule(lc.mined_s, lambda: self._advance(trade, "RETRYING" if failing
                                                            else "MINED"))
            self.schedule(lc.mined_s + lc.confirmed_s,
                          lambda: self._advance(trade, "FAILED" if failing else "CONFIRMED"))
        return trade

    def _trade(self, m: MarketState, idx: int, side: str, fills: list[Fill],
               taker: Order | None, now: float) -> Trade:
        makers = []
        for f in fills:
            o = self.orders.get(f.maker.order_id)
            midx = f.maker.token_index
            mside, mprice = to_up(midx, f.maker.up_side, f.up_price)  # Up→token is symmetric
            makers.append(MakerEntry(
                order_id=f.maker.order_id, owner=f.maker.owner,
                maker_address=o.maker_address if o else "0x" + "0" * 40,
                token_id=m.token_ids[midx], token_index=midx, side=mside,
                price_pips=mprice, matched_micro=f.size))
        first = fills[0]
        price = first.up_price if idx == 0 else PIPS - first.up_price
        return Trade(id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                     taker_order_id=taker.id if taker else "0x" + self.rng.randbytes(32).hex(),
                     condition_id=m.condition_id, token_id=m.token_ids[idx], token_index=idx,
                     side=side, price_pips=price, size_micro=sum(f.size for f in fills),
                     taker_owner=taker.owner if taker else "",
                     taker_address=taker.maker_address if taker else "0x" + "0" * 40,
                     makers=tuple(makers), match_s=int(now))

    def _publish_trade(self, trade: Trade) -> None:
        # Lifecycle timers fire without a caller-supplied clock: the venue stamps its own time.
        now_ms = time.time_ns() // 1_000_000
        for key in trade.owners():
            self.user.send(key, trade.condition_id, trade_json(trade, key, now_ms))

    def _advance(self, trade: Trade, status: str) -> None:
        trade.status = status
        if status == "MINED" and self.ledger is not None:
            self.ledger.settle(trade)
        trade.last_update_s = int(time.time())
        self._publish_trade(trade)


__all__ = ["BUY", "SELL", "Exchange", "Lifecycle", "OrderError"]
