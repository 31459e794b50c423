"""Recognises a ``best_bid_ask`` that only repeats what the ``price_change`` before it said.

With ``custom_feature_enabled`` (needed for ``market_resolved``) the venue follows a change of
a token's top with a ``best_bid_ask`` for it. The ``price_change`` already carries that
token's new best bid and ask in each entry (protocol §1.3, the checksum the State checks), so
the echo tells the State nothing: applying it only re-checks the same top. It does cost the
order path, though, because it arrives right behind the move that starts a replace: the
reader thread decodes it and the State applies it while the Quoter and the OrderManager wait
for the interpreter lock.

A ``best_bid_ask`` counts as an echo only if the last ``BookChange`` entry for its token had
the same event time and the same best bid and ask (an empty side compared as the State
compares it: bid 0, ask one unit). Anything else (another time, another top, a token whose
last message was a ``book`` dump) goes through, so the State still sees every top that
disagrees with its book. The simulated venue stamps the pair with one time; whether
Polymarket does is UNVERIFIED, and where it does not, nothing is skipped.

Thread ownership: the market feed's reader thread; :meth:`TopEchoes.clear` on a reconnect
(the reader thread's handshake).
"""

from __future__ import annotations

from messages import PIPS_PER_UNIT, BestBidAsk, BookChange, BookSnapshot, TokenId

_Top = tuple[int, int, int]  # event ms, best bid pips, best ask pips


def _top(ts_ms: int, bid: int | None, ask: int | None) -> _Top:
    return ts_ms, 0 if bid is None else bid, PIPS_PER_UNIT if ask is None else ask


class TopEchoes:
    """The last top each token's ``price_change`` reported, and the echoes it explains (the
    feed counts them: ``echoes_skipped``)."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[TokenId, _Top] = {}

    def is_echo(self, msg: object) -> bool:
        """Whether ``msg`` is a ``best_bid_ask`` that repeats its token's last change; other
        messages update what the next one is compared with."""
        if isinstance(msg, BookChange):
            for ch in msg.changes:  # in frame order: a token's last entry is its top now
                self._last[ch.token_id] = _top(msg.ts_event_ms, ch.best_bid_pips,
                                               ch.best_ask_pips)
            return False
        if isinstance(msg, BestBidAsk):
            return self._last.get(msg.token_id) == _top(msg.ts_event_ms, msg.best_bid_pips,
                                                         msg.best_ask_pips)
        if isinstance(msg, BookSnapshot):
            self._last.pop(msg.token_id, None)  # a fresh book: its top is the State's to check
        return False

    def clear(self) -> None:
        """A new connection: nothing said on the old one explains what comes next."""
        self._last.clear()
