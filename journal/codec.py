"""The event-log record codec: messages to JSON-ready dicts and back, and the journal reader.

A journal is a directory of ``events-<n>.jsonl`` files, one JSON object per line::

    {"ts": <ns when appended>, "k": <kind>, "src": <actor>, "v": <encoded message>}

``encode`` turns any message of :mod:`messages` into a dict tagged with its class name under
``"_t"``; nested dataclasses (``LevelChange`` in ``BookChange``, ``Market`` in
``MarketsChanged``, ``MarketView`` in ``QuoteSnapshot``) stay dataclass instances, which orjson
serialises natively (in C), so only the top level costs Python work. ``decode`` rebuilds the
object from the dataclass type hints (tuples, StrEnums, NewTypes, ``X | None``, nested
dataclasses), from a registry built from ``messages.__all__``. Values that are not messages
(dicts, numbers, strings) pass through unchanged.
"""

from __future__ import annotations

import dataclasses
import enum
import operator
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

import messages

TAG = "_t"
FILE_RE = re.compile(r"^events-(\d+)\.jsonl$")

Decoder = Callable[[Any], Any]
"""A field's JSON form back into its value: both sides are any JSON value or message."""


def _type_decoder(tp: object) -> Decoder | None:
    """A function turning the JSON form of a ``tp`` value back into it (None = as is)."""
    supertype = getattr(tp, "__supertype__", None)  # NewType
    if supertype is not None:
        return _type_decoder(supertype)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner_types = [a for a in args if a is not type(None)]
        if len(inner_types) != 1:
            return None
        inner = _type_decoder(inner_types[0])
        if inner is None:
            return None
        return lambda v: None if v is None else inner(v)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _type_decoder(args[0])
            if item is None:
                return tuple
            return lambda v: tuple(item(x) for x in v)
        decs = [_type_decoder(a) for a in args]
        return lambda v: tuple(x if d is None else d(x) for d, x in zip(decs, v, strict=True))
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            return tp
        if dataclasses.is_dataclass(tp):
            cls: type = tp

            def nested(v: Any) -> Any:
                return v if isinstance(v, cls) else _build(cls, v)
            return nested
        if tp is float:
            return float
    return None


@dataclass(frozen=True, slots=True)
class _ClassCodec:
    cls: type
    to_dict: Callable[[object], dict[str, object]]
    fields: tuple[tuple[str, Decoder | None], ...]


def _nested_expr(value: str, tp: object, ns: dict[str, object]) -> str:
    """Source for the JSON-ready form of ``value`` (an expression) of declared type ``tp``.

    orjson serialises a slotted dataclass ~5x slower than the equivalent dict (it looks up the
    fields through Python attributes), so a field declared as a dataclass ``C``, ``C | None``
    or ``tuple[C, ...]`` becomes an untagged dict (a list for the tuple) in the same field
    order: the bytes orjson writes are the same. A value of any other runtime type (a
    subclass, a list, ``None``) is left to orjson, so the output never depends on the fast
    path having been taken.
    """
    while (supertype := getattr(tp, "__supertype__", None)) is not None:  # NewType
        tp = supertype
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _nested_expr(value, inner[0], ns) if len(inner) == 1 else value
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _dataclass_arg(args[0])
        if item is None:
            return value
        c, p = _plain_names(item, ns)
        return (f"([{p}(x) if type(x) is {c} else x for x in v] "
                f"if type(v := {value}) is tuple else v)")
    cls = _dataclass_arg(tp)
    if cls is None:
        return value
    c, p = _plain_names(cls, ns)
    return f"({p}(v) if type(v := {value}) is {c} else v)"


def _dataclass_arg(tp: object) -> type | None:
    while (supertype := getattr(tp, "__supertype__", None)) is not None:
        tp = supertype
    return tp if isinstance(tp, type) and dataclasses.is_dataclass(tp) else None


_PLAIN: dict[type, str] = {}
"""Dataclass -> index of its untagged dict maker in the makers' namespace (``_p<i>``)."""


def _plain_names(cls: type, ns: dict[str, object]) -> tuple[str, str]:
    """The namespace names of ``cls`` and of its untagged dict maker (compiled on first use;
    names resolve when called, so a self-referencing type compiles)."""
    i = _PLAIN.get(cls)
    if i is None:
        i = _PLAIN[cls] = str(len(_PLAIN))
        ns[f"_c{i}"] = cls
        ns[f"_p{i}"] = _dict_maker(cls, tuple(f.name for f in dataclasses.fields(cls)),
                                   tagged=False)
    return f"_c{i}", f"_p{i}"


_MAKERS_NS: dict[str, object] = {}


def _dict_maker(cls: type, names: tuple[str, ...], *,
                tagged: bool = True) -> Callable[[object], dict[str, object]]:
    """``lambda o: {"_t": "<Class>", "<field>": o.<field>, ...}``, compiled once per class
    (``tagged=False``: without the ``_t`` entry, for nested values; see :func:`_nested_expr`).

    A dict display with attribute loads costs ~0.7 µs for ten fields; ``dict(zip(...))`` over
    an ``attrgetter`` tuple costs ~2.5 µs, which alone would cap the journal below its target.
    """
    head = {TAG: cls.__name__} if tagged else {}
    if not all(n.isidentifier() for n in names):
        getter = operator.attrgetter(*names) if names else (lambda o: ())
        if len(names) == 1:
            return lambda o: {**head, names[0]: getter(o)}
        return lambda o: {**head, **dict(zip(names, getter(o), strict=True))}
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # unresolvable annotations: leave every field to orjson
        hints = {}
    items = [f"{TAG!r}: {cls.__name__!r}"] if tagged else []
    items += [f"{n!r}: {_nested_expr(f'o.{n}', hints.get(n, object), _MAKERS_NS)}"
              for n in names]
    fn: Callable[[object], dict[str, object]] = eval(f"lambda o: {{{', '.join(items)}}}",
                                                     _MAKERS_NS)
    return fn


_CODECS: dict[str, _ClassCodec] = {}
_BY_TYPE: dict[type, _ClassCodec] = {}


def _register(cls: type) -> _ClassCodec:
    codec = _BY_TYPE.get(cls)
    if codec is not None:
        return codec
    names = tuple(f.name for f in dataclasses.fields(cls))
    # Register before resolving hints so self-referencing types terminate.
    codec = _ClassCodec(cls=cls, to_dict=_dict_maker(cls, names), fields=())
    _CODECS[cls.__name__] = _BY_TYPE[cls] = codec
    hints = typing.get_type_hints(cls)
    fields = tuple((n, _type_decoder(hints[n])) for n in names)
    codec = dataclasses.replace(codec, fields=fields)
    _CODECS[cls.__name__] = _BY_TYPE[cls] = codec
    return codec


def _build(cls: type, d: dict[str, Any]) -> object:
    codec = _BY_TYPE.get(cls) or _register(cls)
    kwargs = {n: (d[n] if dec is None else dec(d[n])) for n, dec in codec.fields if n in d}
    return cls(**kwargs)


for _name in messages.__all__:
    _obj = getattr(messages, _name)
    if isinstance(_obj, type) and dataclasses.is_dataclass(_obj):
        _register(_obj)
# Logs written before a message was renamed still read back as the message.
for _old, _new in (("PriceTick", "PriceUpdate"), ("TimerTick", "TimerFired")):
    _CODECS[_old] = _CODECS[_new]


def registered() -> tuple[type, ...]:
    """Every message class the codec knows (all dataclasses of ``messages.__all__``)."""
    return tuple(dict.fromkeys(c.cls for c in _CODECS.values()))


def encode(obj: object) -> object:
    """A message as a dict tagged with its class name; anything else unchanged.

    The result is ready for ``orjson.dumps`` (nested dataclasses, tuples and enums are left
    to orjson, which serialises them natively).
    """
    codec = _BY_TYPE.get(type(obj))
    if codec is None:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            codec = _register(type(obj))
        else:
            return obj
    return codec.to_dict(obj)


def decode(d: object) -> Any:
    """The object ``encode`` made ``d`` from (``d`` may have been through JSON).

    A dict whose tag names no known class is returned as it is. The result is any message or
    JSON value (``Any``: replay reads it by the record's kind).
    """
    if type(d) is not dict:
        return d
    name = d.get(TAG)
    codec = _CODECS.get(name) if isinstance(name, str) else None
    if codec is None:
        return d
    kwargs = {n: (d[n] if dec is None else dec(d[n])) for n, dec in codec.fields if n in d}
    return codec.cls(**kwargs)


def _unserialisable(obj: object) -> dict[str, str]:
    # Never the object's repr: it could carry a secret. The type name is enough to debug.
    return {"_unserialisable": type(obj).__name__}


def encode_line(ts_ns: int, kind: str, src: str, obj: object) -> bytes:
    """One journal line, newline included."""
    return orjson.dumps({"ts": ts_ns, "k": kind, "src": src, "v": encode(obj)},
                        default=_unserialisable, option=orjson.OPT_APPEND_NEWLINE)


def encode_lines(records: list[tuple[int, str, str, object]]) -> bytes:
    """Many journal lines at once, newline-terminated: :func:`encode_line` per record, joined.

    (One orjson call over a list, with its record separators turned into newlines, is no
    faster once nested messages are plain dicts, and it needed a fallback for values that
    contain the separator.)
    """
    dumps = orjson.dumps
    nl = orjson.OPT_APPEND_NEWLINE
    return b"".join([dumps({"ts": ts, "k": k, "src": src, "v": encode(obj)},
                           default=_unserialisable, option=nl)
                     for ts, k, src, obj in records])
