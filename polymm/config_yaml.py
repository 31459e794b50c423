"""Reading a config file: YAML with the ``!ENV`` tag, and the command line's ``--set`` values.

``read_yaml`` parses one file with PyYAML's C safe loader (pure-Python SafeLoader if the C one
is missing), turning every read or parse failure into a one-line ``ConfigError`` naming the file
and line. The tag ``!ENV NAME`` becomes an ``EnvRef``, resolved later by the validation in
``polymm.config`` against whatever environment it is given. ``parse_override`` and
``apply_override`` turn ``--set sim.seed=7`` into a change of the parsed YAML before validation.

Thread ownership: no state; called from whichever thread loads the config (the main thread).
Reads no clock and starts no thread.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from messages.errors import ConfigError

if TYPE_CHECKING:  # the C loader has the pure-Python one's interface
    _BaseLoader = yaml.SafeLoader
else:
    _BaseLoader = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader  # C if libyaml


@dataclasses.dataclass(frozen=True, slots=True)
class EnvRef:
    """A ``!ENV NAME`` value, resolved against the environment during validation."""

    name: str
    line: int


class _Loader(_BaseLoader):
    """The safe loader plus ``!ENV`` (the constructor table is copied, SafeLoader is untouched)."""


def _env_constructor(loader: yaml.SafeLoader, node: yaml.Node) -> EnvRef:
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(
            None, None, "!ENV takes one variable name", node.start_mark)
    name = str(loader.construct_scalar(node)).strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise yaml.constructor.ConstructorError(
            None, None, f"!ENV: not a variable name: {name!r}", node.start_mark)
    return EnvRef(name, node.start_mark.line + 1)


_Loader.add_constructor("!ENV", _env_constructor)


def read_yaml(path: Path) -> object:
    """Parse one file (any YAML document); every failure becomes a one-line ConfigError naming
    the file (and line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: is a directory, not a config file"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) \
            from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise ConfigError([f"{where}: YAML error: {what}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: YAML error: {exc}"]) from None


def parse_override(text: str) -> tuple[str, object]:
    """``"sim.seed=7"`` → ``("sim.seed", 7)``; the value is read as a YAML scalar."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError([f"override {text!r}: expected KEY=VALUE (e.g. sim.seed=7)"])
    try:
        parsed = yaml.load(value, Loader=_Loader) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    return key.strip(), parsed


def apply_override(raw: dict[str, object], dotted: str, value: object,
                   errors: list[str]) -> None:
    """Set ``dotted`` (``"discovery.series.0.interval"``) in the parsed YAML ``raw``, making
    missing sections; a path that runs into a scalar or past a list records an error."""
    parts = dotted.split(".")
    node: object = raw
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(parts[: i + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                errors.append(f"{where}: override: no list element {part!r}")
                return
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
            continue
        if not isinstance(node, dict):
            errors.append(f"{where}: override: {'.'.join(parts[:i])} is not a section")
            return
        if last:
            node[part] = value
        else:
            node = node.setdefault(part, {})


def read_scalar(text: str) -> object:
    """``text`` read as a YAML scalar (an environment variable's value for a number or a
    boolean field); text that is not valid YAML stays the text."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:
        return text
