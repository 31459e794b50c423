"""What every benchmark scenario shares.

A scenario is a module ``bench/<name>.py`` with ``SCENARIO = "<name>"``, ``TARGETS`` (figure
key → human-readable target) and ``measure(repeats: int) -> Result``. A figure is a median over
``repeats`` runs with its min and max; comparisons are measured side by side in the same run.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class Result:
    """Figures of one scenario: key → median, plus key → (min, max)."""

    scenario: str
    figures: dict[str, object] = field(default_factory=dict)
    spread: dict[str, tuple[float, float]] = field(default_factory=dict)

    def add(self, key: str, samples: list[float]) -> float:
        """Record the median of ``samples`` under ``key`` and its min/max; returns the median."""
        med = float(statistics.median(samples))
        self.figures[key] = round(med, 3)
        self.spread[key] = (round(min(samples), 3), round(max(samples), 3))
        return med

    def set(self, key: str, value: object) -> None:
        """Record a figure that is not a sample statistic (e.g. a nested breakdown)."""
        self.figures[key] = value

    def as_json(self) -> dict[str, object]:
        return {"scenario": self.scenario, **self.figures,
                "spread": {k: list(v) for k, v in self.spread.items()}, "machine": machine()}


def machine() -> str:
    """A short description of where the figures were measured."""
    return (f"{platform.python_implementation()} {platform.python_version()}, "
            f"{os.cpu_count()} cpu, {platform.machine()}")


def calibration_ms() -> float:
    """Milliseconds a fixed pure-Python loop takes here, best of three.

    This VM's speed swings by up to 2x within seconds (the same loop: 106–198 ms); printed next
    to every scenario's figures, it says whether they were taken in a slow spell.
    """
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        s = 0
        for i in range(1_000_000):
            s += i
        best = min(best, time.perf_counter() - t0)
    return round(best * 1e3, 1)


def repeat(fn: Callable[[], float], repeats: int) -> list[float]:
    """Run ``fn`` ``repeats`` times and collect what it returns."""
    return [fn() for _ in range(repeats)]
