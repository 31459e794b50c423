"""``SimProcess``: start the simulated venue in its own process and wait until it listens.

Used by tests, ``bin/polymm run`` and benchmarks. The child runs
``[sys.executable, <repo>/bin/polymm, "sim", "--port", "0", *args]``; its one stdout line
``SIM READY http://127.0.0.1:<port> http://127.0.0.1:<chain port>`` says where it listens (the
venue, and its chain's Polygon JSON-RPC). The child runs in its own session
(out of reach of a terminal's Ctrl-C) and stops when its stdin pipe closes, so it dies with its
parent. Stopping sends SIGTERM, waits, and kills it after a timeout, so no process is left
behind. Not thread-safe: one owner.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from messages.errors import PolymmError

REPO = Path(__file__).resolve().parent.parent
READY = "SIM READY "


class SimProcess:
    """A simulated venue child process.

    Args:
        args: extra ``polymm sim`` arguments (``--window-seconds 120``, ``--seed 7``, ...).
        startup_timeout_s: how long ``start`` waits for the READY line.
        stderr: where the child's log goes (default: inherited).
    """

    def __init__(self, args: Sequence[str] = (), *, startup_timeout_s: float = 20,
                 stderr: IO[Any] | int | None = None) -> None:
        self.args = list(args)
        self.startup_timeout_s = startup_timeout_s
        self.stderr = stderr
        self.proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self.ws_url = ""
        self.chain_url = ""

    def start(self) -> SimProcess:
        cmd = [sys.executable, str(REPO / "bin" / "polymm"), "sim", "--port", "0",
               "--exit-with-parent", *self.args]
        # Its own session: a terminal's Ctrl-C signals the whole foreground process group, and
        # the venue must outlive the bot's shutdown (its cancel-all and read-back). The stdin
        # pipe is its leash: when this process dies, even by SIGKILL, the venue reads EOF.
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr,
                                     stdin=subprocess.PIPE, cwd=str(REPO),
                                     start_new_session=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            line = self._read_ready()
        except BaseException:
            self.stop()
            raise
        words = line.split()
        self.base_url = words[2]
        self.chain_url = words[3] if len(words) > 3 else ""
        self.ws_url = "ws://" + self.base_url.removeprefix("http://")
        return self

    def _read_ready(self) -> str:
        if self.proc is None or self.proc.stdout is None:
            raise PolymmError("simulated venue not started")
        out = self.proc.stdout
        deadline = time.monotonic() + self.startup_timeout_s
        buf = b""
        with selectors.DefaultSelector() as sel:
            sel.register(out, selectors.EVENT_READ)
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PolymmError(f"simulated venue not ready within "
                                      f"{self.startup_timeout_s:g} s")
                if not sel.select(left):
                    continue
                chunk = os.read(out.fileno(), 4096)
                if not chunk:
                    raise PolymmError(f"simulated venue exited during start-up "
                                      f"(code {self.proc.wait(5)})")
                buf += chunk
        line = buf.split(b"\n", 1)[0].decode()
        if not line.startswith(READY):
            raise PolymmError(f"simulated venue said {line!r} instead of {READY.strip()}")
        return line

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s: float = 10) -> int | None:
        """SIGTERM, wait ``timeout_s``, then SIGKILL. Returns the exit code."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout_s)
        for pipe in (proc.stdout, proc.stdin):
            if pipe is not None:
                pipe.close()
        return proc.returncode

    def __enter__(self) -> SimProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _request(self, method: str, path: str, body: object = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def state(self) -> dict[str, Any]:
        """``GET /_sim/state``."""
        result: dict[str, Any] = self._request("GET", "/_sim/state")
        return result

    def drop(self, *channels: str, outage_s: float = 0.0) -> dict[str, int]:
        """Drop every socket of ``channels`` now; refuse reconnects for ``outage_s``."""
        reply: dict[str, int] = self._request("POST", "/_sim/drop", {
            "channels": list(channels), "outage_s": outage_s})["dropped"]
        return reply

    def freeze(self, *channels: str, seconds: float, outage_s: float = 0.0
               ) -> dict[str, int]:
        """Freeze every socket of ``channels`` for ``seconds`` (pings still answered);
        refuse reconnects for ``outage_s``."""
        reply: dict[str, int] = self._request("POST", "/_sim/freeze", {
            "channels": list(channels), "seconds": seconds, "outage_s": outage_s})["frozen"]
        return reply

    def orders(self, owner: str | None = None) -> list[dict[str, Any]]:
        """Every order the venue accepted (of ``owner``, an API key, if given)."""
        path = "/_sim/orders" + (f"?owner={owner}" if owner else "")
        rows: list[dict[str, Any]] = self._request("GET", path)
        return rows

    def set_tick(self, token_id: str, tick: str) -> None:
        """Change a market's tick now (``tick`` as a decimal string, e.g. ``"0.001"``)."""
        self._request("POST", "/_sim/tick", {"token_id": token_id, "tick": tick})

    def take(self, token_id: str, side: str, price: str, size: str) -> dict[str, Any]:
        """A taker order now against the book (hits resting orders, ours included)."""
        reply: dict[str, Any] = self._request("POST", "/_sim/take", {
            "token_id": token_id, "side": side, "price": price, "size": size})
        return reply

    def deposit_wallet(self, owner: str, **flags: bool) -> dict[str, Any]:
        """``POST /_sim/deposit-wallet``: the owner EOA's deposit wallet (created funded and
        approved unless ``funded=False``/``approved=False``): its ``wallet`` address, the
        ``relayer_api_key`` the stand-in relayer accepts for the owner, its chain account."""
        reply: dict[str, Any] = self._request("POST", "/_sim/deposit-wallet",
                                              {"owner": owner, **flags})
        return reply

    def account(self, address: str, **changes: Any) -> dict[str, Any]:
        """``POST /_sim/account``: change one chain account (``funded=False``,
        ``approved=False``, ``pusd="12.5"``, ``pol="0"``, ``contract=True``,
        ``closed_only=True``, ``eoa_allowed=False``); with no change, read it."""
        if not changes:
            reply: dict[str, Any] = self._request("GET", f"/_sim/account?address={address}")
            return reply
        reply = self._request("POST", "/_sim/account", {"address": address, **changes})
        return reply

    def skew_clock(self, seconds: float) -> None:
        """``POST /_sim/clock``: the venue's ``GET /time`` runs ``seconds`` ahead."""
        self._request("POST", "/_sim/clock", {"skew_s": seconds})

    def set_geoblock(self, blocked: bool, country: str = "US", region: str = "NY") -> None:
        """``POST /_sim/geoblock``: what ``GET /api/geoblock`` answers."""
        self._request("POST", "/_sim/geoblock",
                      {"blocked": blocked, "country": country, "region": region})

    def resolve(self, condition_id: str, winner: int) -> None:
        """``POST /_sim/resolve``: close a market now; ``winner`` 0 (Up) or 1 (Down)."""
        self._request("POST", "/_sim/resolve", {"condition_id": condition_id, "winner": winner})

    def set_faults(self, profile: str | dict[str, Any]) -> None:
        """Switch the fault profile: a name (``chaos``) or an inline profile mapping."""
        self._request("POST", "/_sim/faults", profile)
