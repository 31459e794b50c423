"""The ``runtime`` section applied to the process: switch interval, affinity, GC freeze."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator

import pytest

from messages.errors import ConfigError
from polymm.config import load_config
from runtime.process import apply_runtime, freeze_startup_objects


@pytest.fixture
def restore() -> Iterator[None]:
    switch, affinity = sys.getswitchinterval(), os.sched_getaffinity(0)
    try:
        yield
    finally:
        gc.unfreeze()
        sys.setswitchinterval(switch)
        os.sched_setaffinity(0, affinity)


def test_switch_interval_and_affinity_are_applied(restore: None) -> None:
    cpu = min(os.sched_getaffinity(0))
    cfg = load_config(overrides={"runtime.switch_interval_s": 0.0002,
                                 "runtime.cpu_affinity": [cpu]})
    apply_runtime(cfg.runtime)
    assert sys.getswitchinterval() == pytest.approx(0.0002)
    assert os.sched_getaffinity(0) == {cpu}


def test_gc_freeze_is_on_by_default_and_freezes_start_up_objects(restore: None) -> None:
    assert load_config().runtime.gc_freeze is True
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    freeze_startup_objects()
    assert gc.get_freeze_count() > 1000  # this process's modules, classes and functions


def test_gc_freeze_must_be_a_boolean() -> None:
    with pytest.raises(ConfigError, match=r"runtime\.gc_freeze"):
        load_config(overrides={"runtime.gc_freeze": "sometimes"})
