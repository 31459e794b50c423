"""The requests the order planner asks its driver to carry out at the venue.

A planner operation that needs the venue is a generator: it yields one of these steps, the
driver (``actors.order_manager.driver``) carries it out through a ``venue.gateway.Gateway``
and sends back ``(outcome, at_s)``: the gateway's typed outcome and the driver's clock when it
arrived. So the planner's rules (sequencing, suppression, reading replies, the pipelined
cancel filter) run, and are tested, without a venue, an actor or a clock.

| step | outcome |
|---|---|
| ``Cancel(ids, wait=True)`` | ``CancelReply`` or ``Refusal`` |
| ``Cancel(ids, wait=False)`` | a pending handle (for ``FinishCancel``) or ``Refusal`` |
| ``FinishCancel(pending)`` | ``CancelReply`` or ``Refusal`` |
| ``Sign(orders)`` | a list of ``SignedOrder`` or ``SignRefusal``, one per order |
| ``Post(orders)`` | ``PostReply`` |
| ``CancelEverything(reason)`` | ``CancelReply`` or ``Refusal`` |
| ``FetchTick(token)`` | the tick in pips, or ``Refusal`` |
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from messages import DesiredQuote, OrderHash, TokenId
from venue.gateway import MarketInfo, SignedOrder


@dataclass(frozen=True, slots=True)
class Cancel:
    ids: tuple[OrderHash, ...]
    wait: bool = True


@dataclass(frozen=True, slots=True)
class FinishCancel:
    pending: object


@dataclass(frozen=True, slots=True)
class Sign:
    """Each quote with its market and the tick it was priced on."""

    orders: tuple[tuple[DesiredQuote, MarketInfo, int], ...]


@dataclass(frozen=True, slots=True)
class Post:
    orders: tuple[SignedOrder, ...]


@dataclass(frozen=True, slots=True)
class CancelEverything:
    reason: str


@dataclass(frozen=True, slots=True)
class FetchTick:
    token_id: TokenId


Step = Cancel | FinishCancel | Sign | Post | CancelEverything | FetchTick
# What a step's outcome is depends on the step (the table above).
Steps = Generator[Step, tuple[Any, float], Any]
