"""``conf/live.yaml`` pointed at a simulated venue: the live setup, with loopback URLs.

For the tests that run ``bin/polymm run --live`` or pre-flight against the simulated venue
standing in for Polymarket (the key and the RPC URL then come from the environment, as live).
"""

from __future__ import annotations

from pathlib import Path

from sim.process import SimProcess

REPO = Path(__file__).resolve().parent.parent


def live_config(sim: SimProcess, tmp: Path, *, signature_type: int = 0) -> Path:
    """A copy of ``conf/live.yaml`` in ``tmp`` with the simulated venue's URLs; an EOA
    (``signature_type`` 0, no funder) unless told otherwise (3 keeps ``POLYMM_FUNDER``)."""
    ws = "ws" + sim.base_url[len("http"):]
    text = (REPO / "conf" / "live.yaml").read_text()
    for key, url in (("clob_url", sim.base_url), ("gamma_url", f"{sim.base_url}/gamma"),
                     ("market_ws_url", f"{ws}/ws/market"), ("user_ws_url", f"{ws}/ws/user"),
                     ("polybolt_url", f"{ws}/ws/prices"), ("rtds_url", f"{ws}/rtds"),
                     ("geoblock_url", f"{sim.base_url}/api/geoblock"),
                     ("relayer_url", f"{sim.base_url}/relayer")):
        start = text.index(f"  {key}: ")
        end = text.index("\n", start)
        text = text[:start] + f"  {key}: {url}" + text[end:]
    if signature_type != 3:
        text = text.replace("  signature_type: 3", f"  signature_type: {signature_type}")
        text = text.replace("  funder: !ENV POLYMM_FUNDER", "  funder: null")
    path = tmp / "live.yaml"
    path.write_text(text)
    return path
