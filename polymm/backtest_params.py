"""A backtest's parameters: the recorded run's own, overridden on the command line.

The ``start`` record holds what the run's decisions depended on (``quoter``, ``risk``,
``order_manager``, ``owner``; see ``polymm.replay.params_record``); a record that also carries
``paper`` (the paper exchange's ``latency_ms``) gives that too, else the dry run's default
applies. ``--set KEY=VALUE`` (the syntax of ``bin/polymm run --set``) overrides any of them,
and the result goes through the config loader's own validation, so a bad key or value is
refused with the loader's message naming it (``quoter.half_spred_pips: unknown key (did you
mean 'half_spread_pips'?)``). Only the sections a backtest reads may be set.

Thread ownership: none; the caller's (the main thread of a ``backtest`` or ``report``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from messages.errors import ConfigError, PolymmError
from polymm.config import REPO_ROOT, load_config
from polymm.config_schema import PaperConfig
from trading.params import OrderParams, QuoteParams, RiskLimits

SECTIONS: dict[str, type] = {"quoter": QuoteParams, "risk": RiskLimits,
                             "order_manager": OrderParams, "paper": PaperConfig}
"""The config sections a backtest reads, with their schema."""

# The base the recorded values are laid over: a dry run's config (public data, paper orders),
# which validates without a key, a URL or a simulated venue.
_BASE = REPO_ROOT / "conf" / "dry-run.yaml"


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestParams:
    """What one backtest runs with."""

    quoter: QuoteParams
    risk: RiskLimits
    orders: OrderParams
    latency_ms: int
    owner: str

    def as_dict(self) -> dict[str, Any]:
        """The parameters as config sections (what the JSON output echoes)."""
        return {"quoter": dataclasses.asdict(self.quoter), "risk": dataclasses.asdict(self.risk),
                "order_manager": dataclasses.asdict(self.orders),
                "paper": {"latency_ms": self.latency_ms}}


def _flatten(cls: type, data: Mapping[str, Any], prefix: str, out: dict[str, object]) -> None:
    """``data`` as dotted overrides, keeping only the keys ``cls`` still has (a log written by
    an older version may carry a key since removed: replay skips those too)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in data.items():
        f = fields.get(key)
        if f is None:
            continue
        inner = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
        if isinstance(value, dict) and dataclasses.is_dataclass(inner):
            _flatten(type(inner), value, f"{prefix}{key}.", out)
        else:
            out[f"{prefix}{key}"] = value


def resolve(start: Mapping[str, Any], overrides: Mapping[str, object]) -> BacktestParams:
    """The run's parameters (its ``start`` record's value) with ``overrides`` applied.

    Raises:
        ConfigError: an override names a key outside the backtest's sections, or the loader
            refuses a key or value (each error names its key).
    """
    outside = [k for k in overrides if k.split(".", 1)[0] not in SECTIONS]
    if outside:
        raise ConfigError([f"{k}: not a backtest parameter (a backtest reads "
                           f"{', '.join(SECTIONS)})" for k in outside])
    recorded: dict[str, object] = {}
    for section, cls in SECTIONS.items():
        value = start.get(section)
        if isinstance(value, dict):
            _flatten(cls, value, f"{section}.", recorded)
    cfg = load_config(_BASE, env={}, overrides={**recorded, **overrides})
    owner = start.get("owner")
    if not isinstance(owner, str) or not owner:
        raise PolymmError("the log's start record names no owner (was it written by polymm run?)")
    return BacktestParams(quoter=cfg.quoter, risk=cfg.risk, orders=cfg.order_manager,
                          latency_ms=cfg.paper.latency_ms, owner=owner)


def parse_sweep(text: str) -> tuple[str, list[object]]:
    """``KEY=V1,V2,...`` → ``(KEY, [V1, V2, ...])``, each value read as YAML (as ``--set``
    reads it). The values are split at every comma, so one value cannot hold a comma.

    Raises:
        PolymmError: no ``=``, no key, or no value.
    """
    from polymm.commands.run import parse_overrides

    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise PolymmError(f"--sweep: expected KEY=V1,V2,..., got {text!r}")
    items = [v.strip() for v in values.split(",")]
    if not any(items) or not all(items):
        raise PolymmError(f"--sweep {key}: expected one or more comma-separated values, "
                          f"got {values!r}")
    parsed = [parse_overrides([f"{key}={v}"])[key] for v in items]
    return key, parsed
