"""Loading ``conf/*.yaml`` into the frozen config dataclasses of ``polymm.config_schema``.

``polymm.config_yaml`` reads the file (the tag ``!ENV NAME`` names the environment variable
NAME) and applies the command line's overrides. Then one generic pass over the dataclasses
checks every value against its field's type hint and metadata, collecting *all* problems, each
named by its path (``quoter.half_spread_pips: expected >= 1, got 0``), and raises one
``ConfigError`` with the list. Rules worth knowing:

* Unknown keys are errors, with a "did you mean" from difflib.
* ``bool`` is not an ``int``; an ``int`` is accepted where a ``float`` is expected.
* An ``int`` where a string is expected is an error that says "quote it": YAML 1.1 reads an
  unquoted ``0x…`` address or a long token id as a number.
* Secrets (``Secret`` fields) come only from ``!ENV``; a literal in the YAML is an error. A
  variable that is not set is an error for a required field and None for an optional one.
* ``overrides`` (``{"sim.seed": 7}``, what the command line sets) are applied to the parsed YAML
  before validation; a numeric path segment indexes a list (``discovery.series.0.interval``).

The loader reads no clock and starts no thread; ``Config`` is plain construction data.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import types
import typing
from collections.abc import Collection, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from messages.errors import ConfigError
from polymm.config_schema import (
    MASK,
    Config,
    Secret,
    cross_field_errors,
    resolve_sim_intervals,
)
from polymm.config_yaml import EnvRef, apply_override, parse_override, read_scalar, read_yaml

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["DEFAULT_PATH", "REPO_ROOT", "Config", "Secret", "config_to_dict", "dump_config",
           "load_config", "parse_override"]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = REPO_ROOT / "conf" / "default.yaml"

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")

REMOVED_KEYS = {
    "quoter.strategy": "no longer a setting: the strategy is per market (the rolling series "
                       "are quoted by updown, a fixed market by its discovery.slugs[].strategy)",
}
"""Keys that were accepted once and are now refused, with what to do instead (more useful than
"unknown key")."""

_BAD = object()  # a value that failed validation (its error is already recorded)

# A field's type hint (``int``, ``str | None``, ``tuple[X, ...]``, a section class), read with
# ``typing.get_origin``/``get_args``; and its metadata (``trading.params.rng``: ``min``,
# ``max``, ``choices``; ``pattern``, ``address``).
Hint = object
Meta = Mapping[str, object]

# -- validation -------------------------------------------------------------------------------

@dataclasses.dataclass(slots=True)
class _Ctx:
    env: Mapping[str, str]
    errors: list[str]
    unset: dict[str, str] = dataclasses.field(default_factory=dict)  # path -> variable


@cache
def _hints(cls: type) -> dict[str, Hint]:
    return typing.get_type_hints(cls)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _build(cls: type[DataclassInstance], raw: object, path: str, ctx: _Ctx,
           base: DataclassInstance | None = None) -> object:
    """A ``cls`` instance from a mapping; ``base`` (an instance) supplies the missing keys."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        ctx.errors.append(f"{path or '<top level>'}: expected a mapping, got {_kind(raw)}")
        return _BAD
    fields = {f.name: f for f in dataclasses.fields(cls)}
    n_errors = len(ctx.errors)
    hints = _hints(cls)
    kwargs: dict[str, object] = {}
    for key, raw_value in raw.items():  # file order, so errors read top to bottom
        f = fields.get(key) if isinstance(key, str) else None
        where = _join(path, str(key))
        if f is None and where in REMOVED_KEYS:
            ctx.errors.append(f"{where}: {REMOVED_KEYS[where]}")
            continue
        if f is None:
            hint = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.6)
            tail = f" (did you mean {hint[0]!r}?)" if hint else ""
            ctx.errors.append(f"{where}: unknown key{tail}")
            continue
        value = _value(hints[key], raw_value, where, f.metadata, ctx, _default_of(f))
        if value is not _BAD:
            kwargs[key] = value
    if base is None:
        ctx.errors.extend(f"{_join(path, name)}: required" for name, f in fields.items()
                          if name not in raw and f.default is dataclasses.MISSING
                          and f.default_factory is dataclasses.MISSING)
    if len(ctx.errors) > n_errors:
        return _BAD
    try:
        return dataclasses.replace(base, **kwargs) if base is not None else cls(**kwargs)
    except (TypeError, ValueError) as exc:
        ctx.errors.append(f"{path or '<top level>'}: {exc}")
        return _BAD


def _default_of(f: dataclasses.Field[object]) -> DataclassInstance | None:
    """A section field's default instance: it supplies the keys the YAML leaves out."""
    if f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return value
    return None


def _resolve_env(ref: EnvRef, tp: Hint, where: str, ctx: _Ctx) -> object:
    value = ctx.env.get(ref.name)
    optional = _optional(tp)
    if value is None or (value == "" and Secret in _members(tp)):
        if optional:
            ctx.unset[where] = ref.name
            return None
        ctx.errors.append(f"{where}: environment variable {ref.name} is not set "
                          f"(from !ENV {ref.name})")
        return _BAD
    if Secret in _members(tp):
        return Secret(value)
    if str in _members(tp):
        return value
    return read_scalar(value)  # int, float, bool from the environment


def _members(tp: Hint) -> tuple[Hint, ...]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return (tp,)


def _optional(tp: Hint) -> bool:
    return type(None) in _members(tp)


def _value(tp: Hint, raw: object, where: str, meta: Meta, ctx: _Ctx,
           base: DataclassInstance | None = None) -> object:
    is_secret = Secret in _members(tp)
    if isinstance(raw, EnvRef):
        raw = _resolve_env(raw, tp, where, ctx)
        if raw is _BAD or raw is None or isinstance(raw, Secret):
            return raw
    elif is_secret and raw is not None:
        # Never echo the value: it is probably the secret itself.
        ctx.errors.append(f"{where}: a secret cannot be written in the config file: "
                          f"use !ENV VARIABLE_NAME")
        return _BAD
    if raw is None:
        if _optional(tp):
            return None
        if dataclasses.is_dataclass(tp):  # an empty section: all defaults
            raw = {}
        else:
            ctx.errors.append(f"{where}: expected {_type_name(tp)}, got null")
            return _BAD
    members = [m for m in _members(tp) if m is not type(None)]
    inner = members[0] if len(members) == 1 else tp
    value = _convert(inner, raw, where, meta, ctx, base)
    if value is _BAD:
        return _BAD
    if isinstance(value, tuple):
        ok = all(_check(v, f"{where}[{i}]", meta, ctx) for i, v in enumerate(value))
        return value if ok else _BAD
    return value if _check(value, where, meta, ctx) else _BAD


def _type_name(tp: Hint) -> str:
    names: dict[Hint, str] = {int: "an integer", float: "a number", bool: "true or false",
                              str: "a string"}
    if tp in names:
        return names[tp]
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    if typing.get_origin(tp) in (tuple, list):
        return "a list"
    return str(tp)


def _convert(tp: Hint, raw: object, where: str, meta: Meta, ctx: _Ctx,
             base: DataclassInstance | None) -> object:
    if tp is bool:
        if isinstance(raw, bool):
            return raw
    elif tp is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
    elif tp is float:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return float(raw)
    elif tp is str:
        if isinstance(raw, str):
            return raw
        if isinstance(raw, int) and not isinstance(raw, bool):
            ctx.errors.append(f"{where}: expected a string, got an integer: quote it (YAML "
                              "reads an unquoted 0x… address or a long id as a number)")
            return _BAD
    elif typing.get_origin(tp) in (tuple, list):
        if not isinstance(raw, list):
            ctx.errors.append(f"{where}: expected a list, got {_kind(raw)}")
            return _BAD
        (item_tp, *_) = typing.get_args(tp)
        items = [_value(item_tp, v, f"{where}[{i}]", {}, ctx) for i, v in enumerate(raw)]
        return _BAD if any(v is _BAD for v in items) else tuple(items)
    elif dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _build(tp, raw, where, ctx, base)
    else:  # a schema type the loader does not know: a bug in the schema, say so clearly
        ctx.errors.append(f"{where}: unsupported field type {tp!r} in the config schema")
        return _BAD
    ctx.errors.append(f"{where}: expected {_type_name(tp)}, got {_kind(raw)} {raw!r}")
    return _BAD


def _check(value: object, where: str, meta: Meta, ctx: _Ctx) -> bool:
    """Range, choices, pattern and address checks from the field metadata."""
    lo, hi = meta.get("min"), meta.get("max")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(lo, int | float) and value < lo:
            ctx.errors.append(f"{where}: expected >= {lo}, got {value}")
            return False
        if isinstance(hi, int | float) and value > hi:
            ctx.errors.append(f"{where}: expected <= {hi}, got {value}")
            return False
    choices = meta.get("choices")
    if isinstance(choices, Collection) and value not in choices:
        hint = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
        tail = f" (did you mean {hint[0]!r}?)" if hint else ""
        ctx.errors.append(f"{where}: expected one of {', '.join(map(str, choices))}, "
                          f"got {value!r}{tail}")
        return False
    pattern = meta.get("pattern")
    if (isinstance(pattern, str) and isinstance(value, str)
            and not re.fullmatch(pattern, value)):
        ctx.errors.append(f"{where}: {value!r} does not match {pattern}")
        return False
    if meta.get("address") and isinstance(value, str) and not _ADDRESS.fullmatch(value):
        ctx.errors.append(f"{where}: expected a quoted 0x address of 40 hex digits, "
                          f"got {value!r}")
        return False
    return True


def load_config(path: str | os.PathLike[str] | None = None, *,
                env: Mapping[str, str] | None = None,
                overrides: Mapping[str, object] | None = None) -> Config:
    """Read, validate and return the configuration.

    Args:
        path: the YAML file; None means ``conf/default.yaml`` in the repository.
        env: where ``!ENV`` looks (default ``os.environ``).
        overrides: dotted paths to values, applied before validation.

    Raises:
        ConfigError: with every problem found, each naming its path (or file and line).
    """
    file = Path(path) if path is not None else DEFAULT_PATH
    raw = read_yaml(file)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError([f"{file}: expected a mapping of sections at the top level, "
                           f"got {_kind(raw)}"])
    ctx = _Ctx(env=os.environ if env is None else env, errors=[])
    for dotted, value in (overrides or {}).items():
        apply_override(raw, dotted, value, ctx.errors)
    cfg = _build(Config, raw, "", ctx)
    if ctx.errors or not isinstance(cfg, Config):
        raise ConfigError(ctx.errors)
    cfg, errors = resolve_sim_intervals(cfg)
    errors += cross_field_errors(cfg, ctx.unset)
    if errors:
        raise ConfigError(errors)
    return cfg


# -- output -----------------------------------------------------------------------------------

def config_to_dict(obj: object) -> object:
    """Plain data for printing: sections as dicts, tuples as lists, secrets as ``********``."""
    if isinstance(obj, Secret):
        return MASK
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: config_to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [config_to_dict(v) for v in obj]
    return obj


def dump_config(cfg: Config) -> str:
    """The resolved configuration as YAML, secrets masked (what ``check-config`` prints)."""
    return yaml.safe_dump(config_to_dict(cfg), sort_keys=False, default_flow_style=False,
                          allow_unicode=True)
