"""What every wire decoder shares: the error type, the frame loader, field-error mapping.

Decoders raise only :class:`WireError`. Conversion functions do their field accesses inline
(Python 3.11 ``try`` blocks cost nothing until something raises) and keep the name of the field
they are working on in a local, so one ``except`` can say which field was wrong; any
``KeyError``/``TypeError``/``ValueError``/``AttributeError``/``IndexError`` is turned into a
``WireError`` by :func:`field_error`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import orjson

from venue.numbers import parse_int

__all__ = [
    "CONVERSION_ERRORS",
    "MAX_FRAME_BYTES",
    "MS_BELOW",
    "SECONDS_BELOW",
    "WireError",
    "decode_events",
    "epoch_ms",
    "events_of",
    "field_error",
    "load_frame",
    "need_str",
    "parse_ms",
    "slot_setters",
]

MAX_FRAME_BYTES: Final = 4 * 1024 * 1024
"""Frames longer than this are refused before parsing (``reason="too_large"``)."""

CONVERSION_ERRORS: Final = (KeyError, TypeError, ValueError, AttributeError, IndexError)
"""What a conversion may raise on malformed input; :func:`field_error` maps each to a reason."""

M = TypeVar("M")

_KEEPALIVE: Final = frozenset((b"", b"PONG", b"pong"))


class WireError(Exception):
    """A frame the decoder cannot turn into messages.

    ``reason`` is a short stable code for metrics: ``bad_json``, ``not_object``,
    ``missing_field``, ``bad_type``, ``bad_number``, ``bad_value`` (a string outside its set,
    e.g. a side ``"HOLD"``), ``unknown_event``, ``too_large``, ``venue_error`` (the venue sent
    an error frame). The message names the event and the field.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def field_error(where: str, field: str, exc: BaseException) -> WireError:
    """Map a conversion exception raised while reading ``field`` of ``where`` to a WireError."""
    if isinstance(exc, KeyError):
        key = exc.args[0] if exc.args else field
        return WireError("missing_field", f"{where}.{field}: missing field {key!r}")
    if isinstance(exc, ValueError):
        return WireError("bad_number", f"{where}.{field}: {exc}")
    return WireError("bad_type", f"{where}.{field}: wrong type ({exc})")


def load_frame(frame: bytes | str, max_bytes: int) -> Any:
    """Parse one websocket frame with orjson; ``[]`` (no events) for ``PONG`` or an empty frame.

    ``max_bytes`` is checked on ``len(frame)`` before parsing (characters for a ``str``
    frame, which bounds the work the same way).
    """
    if len(frame) > max_bytes:
        raise WireError("too_large", f"frame of {len(frame)} bytes exceeds {max_bytes}")
    try:
        return orjson.loads(frame)
    except orjson.JSONDecodeError:
        raw = frame.encode("utf-8", "replace") if isinstance(frame, str) else bytes(frame)
        if raw.strip() in _KEEPALIVE:
            return []
        raise WireError("bad_json", f"not JSON: {raw[:40]!r}") from None


def events_of(doc: Any, where: str) -> list[dict[str, Any]]:
    """The events of a parsed frame: one object, or a JSON array of objects."""
    if type(doc) is dict:
        return [doc]
    if type(doc) is list:
        for ev in doc:
            if type(ev) is not dict:
                raise WireError("not_object", f"{where}: array element is {type(ev).__name__}")
        return doc
    raise WireError("not_object", f"{where}: frame is {type(doc).__name__}, not an object")


def need_str(x: object) -> str:
    """``x`` if it is a string, else TypeError (ids, hashes, statuses)."""
    if type(x) is not str:
        raise TypeError(f"expected a string, got {type(x).__name__}")
    return x


def parse_ms(x: object) -> int:
    """A millisecond (or second) timestamp sent as a digit string or a JSON integer."""
    if type(x) is str:
        return parse_int(x)
    if type(x) is int and x >= 0:
        return x
    raise TypeError(f"expected a timestamp, got {type(x).__name__}")


SECONDS_BELOW: Final = 100_000_000_000
"""A Unix time below 1e11 is in seconds, one at or above it in milliseconds (:func:`epoch_ms`).

1e11 seconds is the year 5138 and 1e11 milliseconds is 1973-03-03, so between those two dates
the magnitude alone tells the unit: a time in seconds has at most 11 digits, one in
milliseconds at least 12."""
MS_BELOW: Final = 100_000_000_000_000
"""1e14 ms is the year 5138 again: a time this large is in micro- or nanoseconds, refused."""


def epoch_ms(x: object) -> int:
    """A Unix time the venue sent in seconds or in milliseconds, as milliseconds.

    The unit is told apart by magnitude (:data:`SECONDS_BELOW`): two integer comparisons, no
    guess by field name, because recorded frames carry seconds in a field documented as
    milliseconds (user-channel ``timestamp``) and the reverse (``created_at``). Raises
    ``ValueError`` for a time of :data:`MS_BELOW` or more (micro- or nanoseconds would be
    read as a date thousands of years away), ``TypeError`` for a non-number.
    """
    v = parse_ms(x)
    if v < SECONDS_BELOW:
        return v * 1000
    if v < MS_BELOW:
        return v
    raise ValueError(f"time {v} is neither Unix seconds nor milliseconds (too large)")


def decode_events(doc: Any, ts_recv_ns: int,
                  handlers: Mapping[str, Callable[[dict[str, Any], int], M]],
                  where: str) -> list[M]:
    """Convert each event of a loaded frame with the handler for its ``event_type``.

    ``doc`` is what :func:`load_frame` returned.
    """
    out: list[M] = []
    for ev in events_of(doc, where):
        et = ev.get("event_type")
        handler = handlers.get(et) if type(et) is str else None
        if handler is None:
            if et is None:
                raise WireError("missing_field", f"{where}: missing field 'event_type'")
            raise WireError("unknown_event", f"{where}: unknown event_type {et!r}")
        out.append(handler(ev, ts_recv_ns))
    return out


def slot_setters(cls: type, names: tuple[str, ...]) -> tuple[Callable[[Any, Any], None], ...]:
    """One setter per field, for building a frozen slotted message without its ``__init__``.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` and costs
    ~1.5 µs for six fields on the reference machine; ``object.__new__`` plus the slots' own
    descriptors costs a third of that, which the per-entry ``price_change`` path needs. The
    result is the same object (tests compare both ways). ``names`` must be exactly the class's
    fields in order, checked here at import, so a field added to the message cannot be left
    unset silently.
    """
    fields = tuple(f.name for f in dataclasses.fields(cls))
    if fields != names:
        raise TypeError(f"{cls.__name__} fields are {fields}, the fast constructor sets {names}")
    return tuple(getattr(cls, n).__set__ for n in names)
