"""The simulated venue's stand-in for Polymarket's gasless relayer, deposit wallets only.

Served on the venue's main port under ``/relayer`` (so a bot's relayer base URL is
``<sim base>/relayer``), with the routes and bodies of research §10.7 for transaction type
``WALLET``:

* ``GET /relayer/v1/account/transactions/params?address=<owner>&type=WALLET`` →
  ``{"address": <the owner's wallet>, "nonce": "<n>"}`` (the wallet's ``Batch`` nonce;
  UNVERIFIED whether the real relayer's ``address`` is the wallet or the owner).
* ``POST /relayer/submit`` (the WALLET body) → ``{"transactionID", "state": "STATE_NEW"}``.
* ``GET /relayer/v1/account/transactions/<id>`` → ``{"transaction_id", "transaction_hash",
  "state", "error_msg"}``.
* ``GET /relayer/deployed?address=<wallet>&type=WALLET`` → ``{"deployed": bool}``.
* Admin: ``POST /_sim/deposit-wallet {"owner", "funded"?, "approved"?}`` registers the
  owner's deposit wallet on the chain ledger (``ChainLedger.create_wallet``: funded and
  approved unless told otherwise) and hands out the owner's relayer API key, as
  polymarket.com → Settings → Relayer API Keys does; it answers ``{"wallet", "owner",
  "relayer_api_key", "relayer_api_key_address", ...the wallet's /_sim/account snapshot}``.
  ``GET /_sim/deposit-wallet?owner=`` reads the same without changing anything.

Auth: ``RELAYER_API_KEY`` and ``RELAYER_API_KEY_ADDRESS`` headers; a key is accepted once the
admin route handed it out for that address (it derives from the venue's seed and the owner, so
it is the same after a restart). ``POST /submit`` needs them, and ``from`` must be that address;
the GET routes take them optionally, but refuse a key that is wrong (401).

A submit is checked in this order: auth, the body's shape, the wallet (registered, owned by
``from``), no action of the wallet in flight (``wallet has in-flight action``, retryable), the
nonce (``batch nonce N does not match on-chain nonce M``), the deadline, the ``Batch``
signature (EIP-712, recomputed here by hand from keccak, independent of the bot's eth-account
code: domain ``DepositWallet``/``1``/137/<wallet>), then each call's target against the
allowlist (``call blocked: call[i] blocked: calls to 0x… are not permitted``, research §10.1).
An accepted batch is ``STATE_NEW``; after the venue's mined delay its calls run as the wallet
through ``sim.chain_exec.Executor`` (the same contract code as the JSON-RPC path: an unresolved
redeem or a short balance reverts): all of them succeed (``STATE_MINED``, nonce + 1, a receipt
on the chain) or none takes effect (``STATE_FAILED`` with ``error_msg``; the nonce is not used,
UNVERIFIED for the real relayer); ``STATE_CONFIRMED`` follows after the confirmed delay. The
delays run on the venue's loop (``schedule``), never a sleep.

Owned by the simulator's event loop.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from sim.auth import refuse
from sim.chain_exec import Executor
from sim.chain_state import ChainLedger, Revert, deposit_wallet_address
from sim.verify import keccak, recover_address
from venue.contracts import (
    CTF,
    CTF_COLLATERAL_ADAPTER,
    NEG_RISK_CTF_COLLATERAL_ADAPTER,
    POSITION_MANAGER,
    PUSD,
    ROUTER,
    USDC_E,
)

DEPOSIT_WALLET_FACTORY = "0x00000000000Fb5C9ADea0298D729A0CB3823Cc07"
ALLOWED_TARGETS = frozenset(a.lower() for a in (
    PUSD, USDC_E, CTF, POSITION_MANAGER, CTF_COLLATERAL_ADAPTER,
    NEG_RISK_CTF_COLLATERAL_ADAPTER, ROUTER))
"""What a batch may call: collateral, token ledgers, the current adapters and the Router.
Everything else is blocked, the retired adapters included (research §10.1)."""
NEW, MINED, CONFIRMED, FAILED = "STATE_NEW", "STATE_MINED", "STATE_CONFIRMED", "STATE_FAILED"
_CALL_TYPE = b"Call(address target,uint256 value,bytes data)"
_CALL_TYPEHASH = keccak(_CALL_TYPE)
_BATCH_TYPEHASH = keccak(
    b"Batch(address wallet,uint256 nonce,uint256 deadline,Call[] calls)" + _CALL_TYPE)
_DOMAIN_TYPEHASH = keccak(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_RELAYER_EOA = "0x" + "7e" * 20  # who "sends" the wallet's transactions on the simulated chain


def _word(n: int) -> bytes:
    return n.to_bytes(32, "big")


def _addr(a: str) -> bytes:
    return bytes(12) + bytes.fromhex(a[2:])


def batch_digest(wallet: str, nonce: int, deadline: int,
                 calls: list[tuple[str, int, bytes]]) -> bytes:
    """The EIP-712 digest of ``Batch(wallet, nonce, deadline, calls)`` in the wallet's domain
    (``calls`` as ``(target, value, data)``)."""
    call_hashes = b"".join(keccak(_CALL_TYPEHASH + _addr(t) + _word(v) + keccak(d))
                           for t, v, d in calls)
    struct = keccak(_BATCH_TYPEHASH + _addr(wallet) + _word(nonce) + _word(deadline)
                    + keccak(call_hashes))
    domain = keccak(_DOMAIN_TYPEHASH + keccak(b"DepositWallet") + keccak(b"1") + _word(137)
                    + _addr(wallet))
    return keccak(b"\x19\x01" + domain + struct)


def relayer_key(seed: int, owner: str) -> str:
    """The relayer API key the venue hands out for ``owner`` (deterministic per seed)."""
    raw = hashlib.sha256(f"polymm-sim-relayer|{seed}|{owner.lower()}".encode()).digest()
    return str(uuid.UUID(bytes=raw[:16], version=4))


@dataclass(slots=True)
class RelayTx:
    """One submitted batch: its wallet, nonce, calls and where it is."""

    id: str
    wallet: str
    nonce: int
    calls: list[tuple[str, int, bytes]]
    state: str = NEW
    tx_hash: str = ""
    error: str = ""


def _address(value: object, what: str) -> str:
    if not (isinstance(value, str) and value[:2] in ("0x", "0X") and len(value) == 42):
        raise refuse(400, f"invalid request: {what} must be an address")
    try:
        bytes.fromhex(value[2:])
    except ValueError:
        raise refuse(400, f"invalid request: {what} must be an address") from None
    return value.lower()


def _digits(value: object, what: str) -> int:
    if not (isinstance(value, str) and value.isdigit() and value.isascii()):
        raise refuse(400, f"invalid request: {what} must be a decimal string")
    return int(value)


def _hex(value: object, what: str) -> bytes:
    if not (isinstance(value, str) and value[:2] == "0x"):
        raise refuse(400, f"invalid request: {what} must be 0x hex")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise refuse(400, f"invalid request: {what} must be 0x hex") from None


class Relayer:
    """The relayer's routes over one ``ChainLedger`` (see the module docstring).

    Args:
        ledger: the simulated chain. seed: the venue's (relayer API keys derive from it).
        schedule: ``loop.call_later``. clock: Unix seconds (deadlines).
        mined_s, confirmed_s: from submit to ``STATE_MINED``, and on to ``STATE_CONFIRMED``.
    """

    def __init__(self, ledger: ChainLedger, *, seed: int,
                 schedule: Callable[[float, Callable[[], None]], object],
                 clock: Callable[[], float], mined_s: float, confirmed_s: float) -> None:
        self.ledger = ledger
        self.seed = seed
        self.schedule = schedule
        self.clock = clock
        self.mined_s = mined_s
        self.confirmed_s = max(0.0, confirmed_s - mined_s)
        self.executor = Executor(ledger)
        self.keys: dict[str, str] = {}  # owner (lower case) -> the relayer API key handed out
        self.txs: dict[str, RelayTx] = {}
        self.refused = 0
        self._seq = itertools.count(1)

    # -- auth -------------------------------------------------------------------------------------

    def _caller(self, request: web.Request, *, required: bool) -> str | None:
        """The address whose relayer API key the request carries (None: no headers)."""
        key = request.headers.get("RELAYER_API_KEY")
        address = request.headers.get("RELAYER_API_KEY_ADDRESS", "").lower()
        if key is None and not required:
            return None
        if key is None or self.keys.get(address) != key:
            self.refused += 1
            raise refuse(401, "invalid relayer api key")
        return address

    # -- routes -----------------------------------------------------------------------------------

    async def params(self, request: web.Request) -> web.Response:
        self._caller(request, required=False)
        owner = _address(request.query.get("address"), "address")
        if request.query.get("type") != "WALLET":
            raise refuse(400, "invalid request: type must be WALLET here")
        wallet = deposit_wallet_address(owner)
        a = self.ledger.accounts.get(wallet)
        return web.json_response({"address": wallet,
                                  "nonce": str(a.batch_nonce if a is not None else 0)})

    async def deployed(self, request: web.Request) -> web.Response:
        self._caller(request, required=False)
        wallet = _address(request.query.get("address"), "address")
        return web.json_response({"deployed": self.ledger.wallet_owner(wallet) is not None})

    async def transaction(self, request: web.Request) -> web.Response:
        self._caller(request, required=False)
        tx = self.txs.get(request.match_info["tx_id"])
        if tx is None:
            raise refuse(404, "transaction not found")
        return web.json_response({"transaction_id": tx.id, "transaction_hash": tx.tx_hash,
                                  "state": tx.state, "error_msg": tx.error})

    async def submit(self, request: web.Request) -> web.Response:
        caller = self._caller(request, required=True)
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            body = None
        try:
            tx = self._check(caller or "", body)
        except web.HTTPException:
            self.refused += 1
            raise
        self.txs[tx.id] = tx
        self.schedule(self.mined_s, lambda: self._execute(tx))
        return web.json_response({"transactionID": tx.id, "state": tx.state})

    def _check(self, caller: str, body: Any) -> RelayTx:
        if not isinstance(body, dict) or not isinstance(body.get("depositWalletParams"), dict):
            raise refuse(400, "invalid request: a WALLET body with depositWalletParams")
        if body.get("type") != "WALLET":
            raise refuse(400, f"invalid request: type {body.get('type')!r} is not served here")
        owner = _address(body.get("from"), "from")
        if owner != caller:
            raise refuse(401, "invalid relayer api key: it is not the key of from")
        if _address(body.get("to"), "to") != DEPOSIT_WALLET_FACTORY.lower():
            raise refuse(400, "invalid request: to must be the deposit wallet factory")
        nonce = _digits(body.get("nonce"), "nonce")
        signature = _hex(body.get("signature"), "signature")
        if not isinstance(body.get("metadata", ""), str) or len(body.get("metadata", "")) > 500:
            raise refuse(400, "invalid request: metadata must be a string of <= 500 chars")
        p = body["depositWalletParams"]
        wallet = _address(p.get("depositWallet"), "depositWallet")
        deadline = _digits(p.get("deadline"), "deadline")
        raw_calls = p.get("calls")
        if not isinstance(raw_calls, list) or not raw_calls or \
                not all(isinstance(c, dict) for c in raw_calls):
            raise refuse(400, "invalid request: calls must be a non-empty list")
        calls = [(_address(c.get("target"), f"calls[{i}].target"),
                  _digits(c.get("value"), f"calls[{i}].value"),
                  _hex(c.get("data"), f"calls[{i}].data")) for i, c in enumerate(raw_calls)]
        if self.ledger.wallet_owner(wallet) is None:
            raise refuse(400, f"deposit wallet {wallet} is not deployed")
        if self.ledger.wallet_owner(wallet) != owner:
            raise refuse(400, f"deposit wallet {wallet} is not owned by {owner}")
        if any(t.wallet == wallet and t.state == NEW for t in self.txs.values()):
            raise refuse(400, "wallet has in-flight action")
        on_chain = self.ledger.account(wallet).batch_nonce
        if nonce != on_chain:
            raise refuse(400, f"batch nonce {nonce} does not match on-chain nonce {on_chain}")
        if deadline <= self.clock():
            raise refuse(400, f"batch deadline {deadline} has passed")
        if recover_address(batch_digest(wallet, nonce, deadline, calls),
                           "0x" + signature.hex()) != owner:
            raise refuse(400, "invalid signature: the batch is not signed by from")
        for i, (target, _, _) in enumerate(calls):
            if target not in ALLOWED_TARGETS:
                raise refuse(400, f"call blocked: call[{i}] blocked: calls to {target} are not "
                                  "permitted")
        return RelayTx(id=str(uuid.uuid4()), wallet=wallet, nonce=nonce, calls=calls)

    # -- execution --------------------------------------------------------------------------------

    def _execute(self, tx: RelayTx) -> None:
        """Run the batch as the wallet, all or nothing (its own account and tokens are all a
        wallet's calls can change)."""
        ledger = self.ledger
        saved = copy.deepcopy(ledger.account(tx.wallet))
        tokens = {k: v for k, v in ledger.tokens.items() if k[1] == tx.wallet}
        used = 0
        try:
            for target, _, data in tx.calls:
                used += self.executor.execute(tx.wallet, target, data)
        except Revert as exc:
            ledger.accounts[tx.wallet] = saved
            for k in [k for k in ledger.tokens if k[1] == tx.wallet]:
                del ledger.tokens[k]
            ledger.tokens.update(tokens)
            tx.state, tx.error = FAILED, f"execution reverted: {exc.reason}"
            return
        ledger.account(tx.wallet).batch_nonce += 1
        ledger.block += 1
        ledger.txs += 1
        tx.tx_hash = "0x" + keccak(f"relayer|{tx.id}|{next(self._seq)}".encode()).hex()
        ledger.receipts[tx.tx_hash] = {
            "transactionHash": tx.tx_hash, "status": "0x1", "blockNumber": hex(ledger.block),
            "gasUsed": hex(used), "effectiveGasPrice": hex(ledger.base_fee_wei),
            "from": _RELAYER_EOA, "to": DEPOSIT_WALLET_FACTORY.lower(), "logs": [],
            "type": "0x2", "cumulativeGasUsed": hex(used)}
        tx.state = MINED
        self.schedule(self.confirmed_s, lambda: setattr(tx, "state", CONFIRMED))

    # -- admin ------------------------------------------------------------------------------------

    async def deposit_wallet(self, request: web.Request) -> web.Response:
        req: dict[str, Any]
        if request.method == "GET":
            req = dict(request.query)
        else:
            try:
                req = orjson.loads(await request.read())
            except orjson.JSONDecodeError:
                req = {}
            if not isinstance(req, dict):
                raise refuse(400, "body: a JSON object")
        owner = _address(req.get("owner"), "owner")
        wallet = deposit_wallet_address(owner)
        if request.method != "GET":
            flags = {k: req[k] for k in ("funded", "approved") if k in req}
            if not all(isinstance(v, bool) for v in flags.values()):
                raise refuse(400, "funded, approved: expected true or false")
            if self.ledger.wallet_owner(wallet) is None:
                self.ledger.create_wallet(owner)
            self.ledger.configure(wallet, **flags)
            self.keys[owner] = relayer_key(self.seed, owner)
        elif self.ledger.wallet_owner(wallet) is None:
            raise refuse(404, "no deposit wallet for this owner")
        return web.json_response({**self.ledger.snapshot(wallet), "wallet": wallet,
                                  "owner": owner, "relayer_api_key": self.keys.get(owner),
                                  "relayer_api_key_address": owner},
                                 dumps=lambda o: orjson.dumps(o).decode())

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/relayer/v1/account/transactions/params", self.params),
                web.get("/relayer/v1/account/transactions/{tx_id}", self.transaction),
                web.post("/relayer/submit", self.submit),
                web.get("/relayer/deployed", self.deployed),
                web.post("/_sim/deposit-wallet", self.deposit_wallet),
                web.get("/_sim/deposit-wallet", self.deposit_wallet)]
