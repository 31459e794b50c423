"""Every file on its floor: a package imports only packages on floors below its own.

The floors (design §2): ``messages`` and ``runtime`` (1), ``journal`` and ``venue`` (2),
``trading`` (3), ``actors`` (4), ``polymm`` (5, the roof). ``sim`` is the simulated venue, a
process of its own: it may use the vocabulary, the runtime and the venue's wire code, never the
bot, and only the roof (which starts it) imports it. Imports inside functions count too.
``bin/``, ``bench/`` and ``tests/`` stand beside the roof and are not checked. Strict floors
also rule out any import cycle between packages. And no module of the product is over 400
lines (the house's limit: split by concern).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOOR = {"messages": 1, "runtime": 1, "journal": 2, "venue": 2, "trading": 3, "actors": 4,
         "polymm": 5}
SIM_MAY_IMPORT = {"messages", "runtime", "venue"}
PRODUCT = (*FLOOR, "sim")
MAX_LINES = 400


def imported_packages(source: str) -> set[str]:
    """Top-level names of every absolute import in ``source``, at any depth."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def violations(root: Path) -> list[str]:
    """``file: imports X (floor n) from floor m`` for every import that breaks the rule."""
    found: list[str] = []
    ours = set(FLOOR) | {"sim"}
    for pkg in sorted(ours):
        for f in sorted((root / pkg).rglob("*.py")):
            rel = f.relative_to(root)
            for dep in sorted(imported_packages(f.read_text()) & ours - {pkg}):
                if pkg == "sim":
                    if dep not in SIM_MAY_IMPORT:
                        found.append(f"{rel}: the simulated venue imports {dep}")
                elif (dep == "sim" and pkg != "polymm") or (dep != "sim"
                                                            and FLOOR[dep] >= FLOOR[pkg]):
                    where = "the simulated venue" if dep == "sim" else f"floor {FLOOR[dep]}"
                    found.append(f"{rel}: imports {dep} ({where}) from floor {FLOOR[pkg]}")
    return found


def test_every_file_is_on_its_floor() -> None:
    assert violations(ROOT) == []


def test_the_roof_is_imported_by_nothing_below_it() -> None:
    below = [f for pkg in FLOOR if pkg != "polymm" for f in (ROOT / pkg).rglob("*.py")
             if "polymm" in imported_packages(f.read_text())]
    assert below == []


@pytest.mark.parametrize(("pkg", "line", "expected"), [
    ("messages", "from venue.wire import decode_market", "imports venue (floor 2) from floor 1"),
    ("venue", "import journal.codec", "imports journal (floor 2) from floor 2"),
    ("trading", "    from actors.state import State", "imports actors (floor 4) from floor 3"),
    ("runtime", "from polymm.config import load_config", "imports polymm (floor 5)"),
    ("actors", "from sim.process import SimProcess", "imports sim (the simulated venue)"),
    ("sim", "from trading.book import Book", "the simulated venue imports trading"),
])
def test_the_check_finds_a_broken_floor(tmp_path: Path, pkg: str, line: str,
                                         expected: str) -> None:
    for name in (*FLOOR, "sim"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / pkg / "bad.py").write_text(f"def f():\n    pass\n{line.strip()}\n")
    (tmp_path / "polymm" / "ok.py").write_text("from actors.state import State\n")
    found = violations(tmp_path)
    assert len(found) == 1 and expected in found[0], found


def long_modules(root: Path) -> list[str]:
    """``path: n lines`` for every product module longer than ``MAX_LINES``."""
    return [f"{f.relative_to(root)}: {n} lines"
            for pkg in PRODUCT for f in sorted((root / pkg).rglob("*.py"))
            if (n := len(f.read_text().splitlines())) > MAX_LINES]


def test_no_module_over_400_lines() -> None:
    assert long_modules(ROOT) == []


def test_the_line_check_names_a_long_module(tmp_path: Path) -> None:
    for pkg in PRODUCT:
        (tmp_path / pkg).mkdir()
    (tmp_path / "trading" / "ok.py").write_text("x = 1\n" * MAX_LINES)
    (tmp_path / "actors" / "big.py").write_text("x = 1\n" * (MAX_LINES + 1))
    assert long_modules(tmp_path) == [f"actors/big.py: {MAX_LINES + 1} lines"]
