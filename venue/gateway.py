"""The venue gateway: what the OrderManager does at the venue, with typed outcomes.

``Gateway`` is the seam: sign, post a batch, write and read a cancel, cancel-all, heartbeat,
tick look-up, and the reads (open orders, one order, our trades). ``ClobGateway`` is the
Polymarket CLOB behind it (``venue.rest.ClobClient`` and ``venue.orders.OrderSigner``); the
dry run's paper exchange is a second implementation. A mutation never raises for a venue
failure: it returns a ``venue.refusals.Refusal``. The reads raise ``VenueError`` (their
callers only log and try later).

Thread ownership: a gateway and everything it holds (the signer, the REST sessions, the
heartbeat id) belong to the OrderManager's thread. No threads of its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from messages import (
    ConditionId,
    DesiredQuote,
    Market,
    OrderHash,
    RejectReason,
    RemoteOrder,
    Side,
    TokenId,
    TradeEvent,
)
from messages.errors import InvalidHeartbeat, VenueError
from venue.gateway_replies import (
    CancelReply,
    PostOutcome,
    PostReply,
    PostVerdict,
    cancel_reply,
    decode_post_results,
)
from venue.orders import SIZE_STEP_MICRO, Order, exchange_for, limit_order_amounts_int, order_body
from venue.presign import Identity, Key, PresignCache, Presigned
from venue.refusals import CANCEL, POST, Refusal, refusal
from venue.remote_orders import remote_orders
from venue.trades import our_trades

# The typed replies live beside the gateway; its users take them from here as well.
__all__ = ["CancelReply", "ClobApi", "ClobGateway", "Gateway", "MarketInfo", "PostOutcome",
           "PostReply", "PostVerdict", "SignRefusal", "SignedOrder", "Signer", "cancel_reply",
           "check_quote", "decode_post_results", "market_infos"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketInfo:
    """What signing an order on one token needs (from ``MarketsChanged``)."""

    condition_id: ConditionId
    exchange: str
    domain_version: str
    min_size_micro: int


def market_infos(markets: Sequence[Market]) -> dict[TokenId, MarketInfo]:
    """Each tradable token's ``MarketInfo``; a market of an unknown version is left out (and
    logged): no order can be signed for it."""
    out: dict[TokenId, MarketInfo] = {}
    for m in markets:
        try:
            exchange, domain = exchange_for(m.version, m.neg_risk)
        except ValueError as exc:
            logger.error("gateway: market %s not tradable: %s", m.slug, exc)
            continue
        for token in m.token_ids:
            out[token] = MarketInfo(condition_id=m.condition_id, exchange=exchange,
                                    domain_version=domain, min_size_micro=m.min_size_micro)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedOrder:
    """A signed order ready to post: its hash (the venue's id), the quote it carries (size
    floored to the venue's step) and its ``POST /orders`` envelope."""

    order_id: OrderHash
    quote: DesiredQuote
    body: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class SignRefusal:
    """A quote that cannot be signed as it is (tick or size against the venue's rules)."""

    quote: DesiredQuote
    reason: RejectReason
    message: str


def check_quote(quote: DesiredQuote, market: MarketInfo,
                tick_pips: int) -> tuple[DesiredQuote, tuple[int, int]] | SignRefusal:
    """A quote checked as the venue checks an order (tick, price range, size step, market
    minimum) before it is signed: the quote with its size floored to the venue's step and its
    ``(maker_amount, taker_amount)``, or why it cannot be an order. Every gateway's ``sign``
    starts here, so the CLOB's and the paper exchange's refuse the same quotes."""
    size = quote.size_micro - quote.size_micro % SIZE_STEP_MICRO
    try:
        amounts = limit_order_amounts_int(quote.side, quote.price_pips, size, tick_pips,
                                          min_size_micro=market.min_size_micro)
    except ValueError as exc:
        why = str(exc)
        reason = RejectReason.TICK if "tick" in why else RejectReason.MIN_SIZE
        return SignRefusal(quote=quote, reason=reason, message=why)
    if size != quote.size_micro:
        quote = DesiredQuote(condition_id=quote.condition_id, token_id=quote.token_id,
                             side=quote.side, price_pips=quote.price_pips, size_micro=size)
    return quote, amounts


class Gateway(Protocol):
    """The venue as the OrderManager sees it (see the module docstring)."""

    def sign(self, quote: DesiredQuote, market: MarketInfo, tick_pips: int,
             ) -> SignedOrder | SignRefusal: ...

    def post(self, orders: Sequence[SignedOrder]) -> PostReply: ...

    def begin_cancel(self, ids: Sequence[OrderHash]) -> object | Refusal:
        """Write the cancel and return a handle for ``finish_cancel`` (exactly once)."""

    def finish_cancel(self, pending: object) -> CancelReply | Refusal: ...

    def cancel_all(self) -> CancelReply | Refusal: ...

    def heartbeat(self) -> Refusal | None: ...

    def tick_size(self, token_id: TokenId) -> int | Refusal: ...

    def open_orders(self) -> list[RemoteOrder]: ...

    def look_up(self, order_id: OrderHash) -> RemoteOrder | None: ...

    def our_trades(self) -> list[TradeEvent]: ...


class Signer(Protocol):
    """``venue.orders.OrderSigner`` as the gateway uses it."""

    @property
    def address(self) -> str: ...

    def sign_with_hash(self, order: Order, *, exchange: str,
                       domain_version: str = "2") -> tuple[str, str]: ...


class ClobApi(Protocol):
    """``venue.rest.ClobClient`` as the gateway uses it."""

    last_send_ns: int
    last_recv_ns: int

    def post_orders(self, body: bytes) -> list[dict[str, Any]]: ...

    def begin_cancel_orders(self, ids: Sequence[str]) -> Any: ...

    def finish_cancel_orders(self, call: Any) -> dict[str, Any]: ...

    def cancel_all(self) -> dict[str, Any]: ...

    def heartbeat(self, heartbeat_id: str) -> str: ...

    def get_tick_size(self, token_id: str) -> int: ...

    def open_orders(self) -> list[dict[str, Any]]: ...

    def get_order(self, order_id: str) -> dict[str, Any] | None: ...


def _key(quote: DesiredQuote, market: MarketInfo) -> Key:
    return (quote.token_id, quote.side, quote.price_pips, quote.size_micro, market.exchange,
            market.domain_version)


class ClobGateway:
    """Polymarket's CLOB: EIP-712 signing, ``POST /orders``, ``DELETE /orders`` on its own
    connection (written, then read), cancel-all, the dead-man heartbeat.

    ``owner`` is the API key (the envelope's ``owner``); a deposit wallet (signature type 3)
    signs as the wallet itself (protocol §6.2). ``wall_ms`` stamps order timestamps.
    ``presign`` signs likely next orders while the OrderManager is idle; ``sign`` uses them
    (``venue.presign``).
    """

    def __init__(self, *, client: ClobApi, signer: Signer, maker: str, signature_type: int,
                 owner: str, post_only: bool,
                 wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self.client = client
        self._signer = signer
        self._maker = maker
        self._signer_addr = maker if signature_type == 3 else signer.address
        self._sig_type = signature_type
        self._owner = owner
        self._post_only = post_only
        self._wall_ms = wall_ms
        self._hb_id = ""
        self.presigned = PresignCache()

    def sign(self, quote: DesiredQuote, market: MarketInfo,
             tick_pips: int) -> SignedOrder | SignRefusal:
        """The order for ``quote``: a presigned one when one matches (``venue.presign``),
        else signed now."""
        checked = check_quote(quote, market, tick_pips)
        if isinstance(checked, SignRefusal):
            return checked
        quote, amounts = checked
        now_ms = self._wall_ms()
        hit = self.presigned.take(_key(quote, market), tick_pips, self._identity(), now_ms)
        if hit is not None:
            return SignedOrder(order_id=hit.order_id, quote=quote, body=hit.body)
        return self._sign(quote, market, amounts, now_ms)

    def presign(self, quote: DesiredQuote, market: MarketInfo, tick_pips: int) -> bool:
        """Sign ``quote`` ahead of need and keep it for ``sign``; whether a signature was made
        (False: the quote is refused as it is, or a usable one is kept already)."""
        checked = check_quote(quote, market, tick_pips)
        if isinstance(checked, SignRefusal):
            return False
        quote, amounts = checked
        key, identity, now_ms = _key(quote, market), self._identity(), self._wall_ms()
        if self.presigned.has(key, tick_pips, identity, now_ms):
            return False
        s = self._sign(quote, market, amounts, now_ms)
        self.presigned.put(key, Presigned(order_id=s.order_id, body=s.body,
                                          tick_pips=tick_pips, identity=identity,
                                          signed_ms=now_ms))
        return True

    def _identity(self) -> Identity:
        return (self._signer.address, self._maker, self._signer_addr, self._sig_type,
                self._owner, self._post_only)

    def _sign(self, quote: DesiredQuote, market: MarketInfo, amounts: tuple[int, int],
              now_ms: int) -> SignedOrder:
        maker_amt, taker_amt = amounts
        order = Order.create(maker=self._maker, signer=self._signer_addr,
                             token_id=quote.token_id, maker_amount=maker_amt,
                             taker_amount=taker_amt, side=0 if quote.side is Side.BUY else 1,
                             timestamp_ms=now_ms, signature_type=self._sig_type)
        h, sig = self._signer.sign_with_hash(order, exchange=market.exchange,
                                             domain_version=market.domain_version)
        return SignedOrder(order_id=OrderHash(h), quote=quote,
                           body=order_body(order, sig, owner=self._owner,
                                           post_only=self._post_only))

    def post(self, orders: Sequence[SignedOrder]) -> PostReply:
        body = b"[" + b",".join(o.body for o in orders) + b"]"
        try:
            results = self.client.post_orders(body)
        except VenueError as exc:
            return PostReply(refusal=refusal(POST, exc), sent_ns=self._sent_ns(),
                             recv_ns=self._recv_ns())
        return PostReply(outcomes=tuple(decode_post_results(results,
                                                            [o.order_id for o in orders])),
                         sent_ns=self._sent_ns(), recv_ns=self._recv_ns())

    def begin_cancel(self, ids: Sequence[OrderHash]) -> object | Refusal:
        try:
            call: object = self.client.begin_cancel_orders(list(ids))
        except VenueError as exc:
            return refusal(CANCEL, exc)
        return call

    def finish_cancel(self, pending: object) -> CancelReply | Refusal:
        try:
            return cancel_reply(self.client.finish_cancel_orders(pending))
        except VenueError as exc:
            return refusal(CANCEL, exc)

    def cancel_all(self) -> CancelReply | Refusal:
        try:
            return cancel_reply(self.client.cancel_all())
        except VenueError as exc:
            return refusal(CANCEL, exc)

    def heartbeat(self) -> Refusal | None:
        """One dead-man heartbeat; a stale id is replaced by the one the venue expects and sent
        once more."""
        try:
            self._hb_id = self.client.heartbeat(self._hb_id)
            return None
        except InvalidHeartbeat as exc:
            self._hb_id = exc.expected_id
        except VenueError as exc:
            return refusal(POST, exc)
        try:
            self._hb_id = self.client.heartbeat(self._hb_id)
        except InvalidHeartbeat as exc:
            self._hb_id = exc.expected_id
            return refusal(POST, exc)
        except VenueError as exc:
            return refusal(POST, exc)
        return None

    def tick_size(self, token_id: TokenId) -> int | Refusal:
        try:
            return int(self.client.get_tick_size(token_id))
        except VenueError as exc:
            return refusal(POST, exc)

    def open_orders(self) -> list[RemoteOrder]:
        return remote_orders(self.client.open_orders())

    def look_up(self, order_id: OrderHash) -> RemoteOrder | None:
        doc = self.client.get_order(order_id)
        found = remote_orders([doc]) if doc else []
        return found[0] if found else None

    def our_trades(self) -> list[TradeEvent]:
        return our_trades(self.client, self._owner, attempts=1)

    def _sent_ns(self) -> int:
        return int(getattr(self.client, "last_send_ns", 0) or 0)

    def _recv_ns(self) -> int:
        return int(getattr(self.client, "last_recv_ns", 0) or 0)
