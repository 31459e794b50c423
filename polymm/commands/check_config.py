"""``bin/polymm check-config``: load a config, print it resolved (secrets masked) or its errors.

Exit status 0 when the config is valid, 1 when it is not. Every problem is printed, one per
line, each naming its key path (or the file and line for a YAML syntax error); never a
traceback.
"""

from __future__ import annotations

import argparse
import sys

from messages.errors import ConfigError

HELP = "validate a config file and print it resolved (secrets as ********)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="config file (default conf/default.yaml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one value before validation, e.g. --set sim.seed=7 "
                        "(repeatable)")


def run(args: argparse.Namespace) -> int:
    from polymm.config import DEFAULT_PATH, dump_config, load_config, parse_override

    path = args.config or str(DEFAULT_PATH)
    try:
        overrides = dict(parse_override(text) for text in getattr(args, "overrides", []))
        cfg = load_config(path, overrides=overrides)
    except ConfigError as exc:
        noun = "problem" if len(exc.errors) == 1 else "problems"
        print(f"{path}: {len(exc.errors)} {noun}:", file=sys.stderr)
        for line in exc.errors:
            print(f"  {line}", file=sys.stderr)
        return 1
    sys.stdout.write(f"# {path}: OK\n")
    sys.stdout.write(dump_config(cfg))
    return 0
