"""Process settings every run applies once, on the main thread, before and after start-up.

The GIL is the scheduler: all actors share one interpreter, and Python's default 5 ms switch
interval turns a 30 µs hand-off into milliseconds (design §3). ``runtime.switch_interval_s``
and ``runtime.cpu_affinity`` come from the ``runtime`` config section; ``gc_freeze`` keeps the
collector from rescanning what start-up left alive.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Sequence
from typing import Protocol

logger = logging.getLogger(__name__)


class RuntimeSettings(Protocol):
    """The fields of the ``runtime`` config section read here (the section, and its defaults,
    are the roof's: this floor sits below the config loader)."""

    @property
    def switch_interval_s(self) -> float: ...

    @property
    def cpu_affinity(self) -> Sequence[int]: ...


def apply_runtime(runtime: RuntimeSettings) -> None:
    """GIL switch interval and CPU affinity from the ``runtime`` config section."""
    sys.setswitchinterval(runtime.switch_interval_s)
    if runtime.cpu_affinity and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(runtime.cpu_affinity))
    logger.info("runtime: switch interval %.4f s, cpu affinity %s", sys.getswitchinterval(),
                sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "n/a")


def freeze_startup_objects() -> None:
    """``gc.freeze()`` after a full collection: what start-up left alive is never scanned
    again, so later full collections (which stop every thread) scan only the run's objects."""
    gc.collect()
    gc.freeze()
    logger.info("runtime: %d start-up objects frozen out of the garbage collector",
                gc.get_freeze_count())
