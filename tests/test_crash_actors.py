"""A crashed actor (an exception injected in a ``tell`` handler) under the real supervisor.

Pykka stops an actor whose ``tell`` handler raises and skips its ``on_stop`` (``on_failure``
runs instead). The supervisor, driving the real actor graph in this process against a simulated
venue in another one, must: restart a crashed feed actor (with backoff) and give it the current
markets again, so it resubscribes and data flows; stop the run when the OrderManager dies,
whose ``on_failure`` has already canceled everything at the venue; stop the run when the State
dies; and never hang (``pytest-timeout`` and bounded waits turn a hang into a failure).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.market_feed import MarketFeed
from actors.order_manager import OrderManager
from actors.state import State
from actors.user_feed import UserFeed
from polymm.config import load_config
from polymm.supervisor import Supervisor
from polymm.wiring import build_venue
from sim.process import SimProcess
from tests.e2e import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ACTOR_CLASSES = {"market_feed": MarketFeed, "user_feed": UserFeed,
                 "order_manager": OrderManager, "state": State}


class Crash:
    """A message whose handler raises (patched in per test)."""


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    log = tmp_path_factory.mktemp("sim") / "sim.err"
    with open(log, "wb") as err:
        proc = SimProcess(["--window-seconds", "120", "--seed", "4", "--assets", "btc",
                           "--noise-rate", "3"], stderr=err).start()
    try:
        yield proc
    finally:
        proc.stop()


def inject_crash(monkeypatch: pytest.MonkeyPatch, cls: type) -> None:
    original = cls.on_receive  # type: ignore[attr-defined]

    def on_receive(self: Any, message: Any) -> Any:
        if isinstance(message, Crash):
            raise RuntimeError("injected crash")
        return original(self, message)

    monkeypatch.setattr(cls, "on_receive", on_receive)


@pytest.fixture
def supervisor(sim: SimProcess, tmp_path: Path) -> Iterator[Supervisor]:
    cfg = load_config(env={}, overrides={
        "event_log.dir": str(tmp_path / "events"), "statsd.enabled": False,
        "logging.status_interval_s": 3600})
    sup = Supervisor(cfg, build_venue(cfg, sim.base_url))
    try:
        yield sup
    finally:
        sup.stop_event.set()
        result = sup.shutdown()
        sup.venue.client.close()
        assert result["actors_left"] == 0


def our_open_orders(sim: SimProcess, sup: Supervisor) -> int:
    entry = sim.state()["open_orders"].get(sup.venue.creds.api_key, {})
    return int(entry.get("count", 0))


def run_in_thread(sup: Supervisor, duration_s: float) -> threading.Thread:
    t = threading.Thread(target=sup.run, args=(duration_s,), name="supervisor-run", daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("name", ["market_feed", "user_feed"])
def test_a_crashed_feed_is_restarted_and_resubscribed(
        name: str, supervisor: Supervisor, monkeypatch: pytest.MonkeyPatch) -> None:
    inject_crash(monkeypatch, ACTOR_CLASSES[name])
    sup = supervisor
    sup.start()
    wait_until(lambda: sup.actors.refs["discovery"].proxy().markets().get(timeout=5), 20,
               "markets from discovery")
    old = sup.actors.refs[name]
    runner = run_in_thread(sup, 60)
    old.tell(Crash())
    wait_until(lambda: sup.restarts.get(name) == 1 and sup.actors.refs[name] is not old, 20,
               f"{name} to be restarted")
    new = sup.actors.refs[name]
    assert new.is_alive() and not old.is_alive()
    if name == "market_feed":
        # The restarted feed got the current markets again: book data flows on it.
        wait_until(lambda: new.proxy().stats().get(timeout=5)["messages"] > 0, 20,
                   "book data on the restarted market feed")
    else:
        wait_until(lambda: new.proxy().stats().get(timeout=5)["connected"], 20,
                   "the restarted user feed to connect")
    assert sup.crashed == [name] and not sup.crashed_critical()
    sup.stop_event.set()
    runner.join(15)
    assert not runner.is_alive()


def test_order_manager_crash_cancels_at_the_venue_and_stops(
        sim: SimProcess, supervisor: Supervisor, monkeypatch: pytest.MonkeyPatch) -> None:
    inject_crash(monkeypatch, OrderManager)
    sup = supervisor
    sup.start()
    wait_until(lambda: our_open_orders(sim, sup) > 0, 40, "our orders at the venue")
    sup.actors.refs["order_manager"].tell(Crash())
    sup.run(60)  # returns on its own: a critical actor died
    assert sup.crashed == ["order_manager"] and sup.crashed_critical()
    # on_failure canceled everything before the supervisor did anything.
    assert our_open_orders(sim, sup) == 0
    result = sup.shutdown()
    assert result["open_orders_after_shutdown"] == 0
    assert result["cancel_all"] == "supervisor"


def test_state_crash_stops_the_run_and_shutdown_cancels(
        sim: SimProcess, supervisor: Supervisor, monkeypatch: pytest.MonkeyPatch) -> None:
    inject_crash(monkeypatch, State)
    sup = supervisor
    sup.start()
    wait_until(lambda: our_open_orders(sim, sup) > 0, 40, "our orders at the venue")
    sup.actors.refs["state"].tell(Crash())
    sup.run(60)
    assert sup.crashed == ["state"] and sup.crashed_critical()
    result = sup.shutdown()
    assert result["open_orders_after_shutdown"] == 0
    assert our_open_orders(sim, sup) == 0
