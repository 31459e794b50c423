"""Command-line entry: one sub-command per module in ``polymm.commands``.

Each command module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``. Modules are imported lazily so ``check-config`` does not pay for the
simulated venue's imports. Errors polymm raises on purpose print one line and exit non-zero;
they never show a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from messages.errors import ConfigError, PolymmError

COMMANDS: dict[str, str] = {
    "run": "polymm.commands.run",
    "sim": "polymm.commands.sim",
    "replay": "polymm.commands.replay",
    "backtest": "polymm.commands.backtest",
    "report": "polymm.commands.report",
    "bench": "polymm.commands.bench",
    "check-config": "polymm.commands.check_config",
    "cancel-all": "polymm.commands.cancel_all",
    "preflight": "polymm.commands.preflight",
}


def _load(name: str) -> ModuleType:
    return importlib.import_module(COMMANDS[name])


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polymm", description="Polymarket market maker")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # Only the chosen command's module is imported; the others get a bare parser for --help.
    chosen = next((a for a in argv if a in COMMANDS), None)
    for name in COMMANDS:
        if name == chosen:
            module = _load(name)
            p = sub.add_parser(name, help=getattr(module, "HELP", ""))
            module.add_arguments(p)
        else:
            sub.add_parser(name, help=f"see polymm {name} --help")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return int(_load(args.command).run(args))
    except ConfigError as exc:
        print("polymm: configuration error:", file=sys.stderr)
        for line in exc.errors:
            print(f"  {line}", file=sys.stderr)
        return 2
    except PolymmError as exc:
        print(f"polymm {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
