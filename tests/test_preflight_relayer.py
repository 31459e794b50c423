"""Pre-flight of a deposit wallet (signature type 3): the relayer API key is set and the
relayer answers the nonce route with it; each failure is one line naming what to fix. The
rule as a table, then each case against the simulated venue and its relayer stand-in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account

from polymm.config import DEFAULT_PATH, load_config
from polymm.config_schema import Secret
from polymm.preflight import Report, run_checks
from polymm.preflight_checks import relayer_failures
from polymm.preflight_relayer import resolve_relayer_url
from polymm.wiring import build_venue
from sim.process import SimProcess
from tests.loopback_http import free_port
from tests.test_sim_deposit_wallet import deposit_wallet
from tests.test_sim_support import start_sim

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(("sig", "key", "url", "expected"), [
    (0, False, "", []),
    (3, True, "http://r", []),
    (3, False, "http://r", ["relayer: venue.relayer_api_key is not set"]),
    (3, True, "", ["relayer: venue.relayer_url is not set"]),
])
def test_relayer_rule(sig: int, key: bool, url: str, expected: list[str]) -> None:
    got = [f.line for f in relayer_failures(sig, api_key_set=key, relayer_url=url)]
    assert len(got) == len(expected) and all(g.startswith(e) for g, e in zip(got, expected,
                                                                             strict=True))


def test_relayer_url_by_mode() -> None:
    def cfg(mode: str, url: str | None) -> Any:
        return dataclasses.replace(load_config(env={}), mode=mode) if url is None else \
            dataclasses.replace(load_config(env={}, overrides={"venue.relayer_url": url}),
                                mode=mode)
    assert resolve_relayer_url(cfg("live", None), None) == "https://relayer-v2.polymarket.com"
    assert resolve_relayer_url(cfg("paper", None), "http://127.0.0.1:5/") == \
        "http://127.0.0.1:5/relayer"
    assert resolve_relayer_url(cfg("paper", None), None) == ""
    assert resolve_relayer_url(cfg("live", "http://127.0.0.1:7/r"), None) == "http://127.0.0.1:7/r"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    proc = start_sim("--seed", "37")
    yield proc
    proc.stop()


def _check(sim: SimProcess, monkeypatch: pytest.MonkeyPatch, n: int, *,
           api_key: str | None, relayer_url: str | None = None) -> Report:
    key = "0x" + f"{n:02x}" * 32
    w = deposit_wallet(sim, key)
    monkeypatch.setenv("POLYMM_PRIVATE_KEY", key)
    overrides: dict[str, object] = {"sim.window_seconds": 900, "venue.signature_type": 3,
                                    "venue.funder": w["wallet"]}
    if relayer_url is not None:
        overrides["venue.relayer_url"] = relayer_url
    cfg = load_config(DEFAULT_PATH, overrides=overrides)
    secret = {"missing": None, "right": Secret(w["relayer_api_key"])}.get(
        api_key or "missing", Secret(api_key or ""))
    cfg = dataclasses.replace(cfg, venue=dataclasses.replace(cfg.venue, relayer_api_key=secret))
    venue = build_venue(cfg, sim.base_url)
    try:
        report = run_checks(cfg, venue, sim_base_url=sim.base_url, sim_chain_url=sim.chain_url)
    finally:
        venue.client.close()
        venue.gamma.close()
    assert Account.from_key(key).address == report.signer
    return report


@pytest.mark.parametrize(("name", "n", "api_key", "url", "expected"), [
    ("relayer key set", 0x61, "right", None, None),
    ("no relayer key", 0x62, None, None, "relayer: venue.relayer_api_key is not set"),
    ("a wrong relayer key", 0x63, "0b5e55ed-0000-4000-8000-000000000000", None,
     "relayer: the relayer refused the relayer API key for 0x"),
    ("no relayer there", 0x64, "right", "closed-port",
     "relayer: the relayer did not answer the nonce route (NotSent"),
])
def test_preflight_of_a_deposit_wallet(sim: SimProcess, monkeypatch: pytest.MonkeyPatch,
                                       name: str, n: int, api_key: str | None,
                                       url: str | None, expected: str | None) -> None:
    relayer_url = f"http://127.0.0.1:{free_port()}/relayer" if url == "closed-port" else url
    report = _check(sim, monkeypatch, n, api_key=api_key, relayer_url=relayer_url)
    lines = report.lines()
    if expected is None:
        assert report.ok, lines
        return
    assert len(lines) == 1 and lines[0].startswith(expected) and "\n" not in lines[0], lines
    assert "0b5e55ed" not in lines[0]  # the key is never quoted
