"""Control messages: timers, feed health, kill switch, shutdown."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerFired:
    """A periodic timer fired (``name`` says which). Logged, so replay sees the same clock."""

    name: str
    ts_recv_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedStatus:
    """A feed connected, disconnected, resynced or went silent.

    ``feed`` is ``market``, ``user`` or ``price``. ``token_ids`` names the books a market-feed
    resync covers (empty = all).
    """

    feed: str
    connected: bool
    reason: str
    ts_recv_ns: int
    token_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconnectFeed:
    """Drop the feed's socket and reconnect (resubscribe, resync): the sender has evidence the
    socket is open but no longer delivering (e.g. acknowledged orders with no user event)."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ResyncBooks:
    """Ask the market feed for fresh book dumps of ``token_ids`` (the State saw a book it can
    no longer trust: a checksum mismatch or a gap)."""

    token_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class KillSwitch:
    """Turn quoting off (``on=True``) or back on, with the reason."""

    on: bool
    reason: str
    ts_recv_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SlotReady:
    """Wake-up told to a consumer when a latest-only slot went from empty to full."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Shutdown:
    """Stop gracefully (cancel everything first)."""

    reason: str
