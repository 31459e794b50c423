"""The simulated venue's Polygon JSON-RPC endpoint (its own port): ``POST /``, single or batch.

Serves what a bot uses (research §11.4): ``eth_chainId`` (137), ``net_version``,
``eth_blockNumber``, ``eth_getBlockByNumber``, ``eth_call``, ``eth_getBalance``, ``eth_getCode``,
``eth_getTransactionCount``, ``eth_gasPrice``, ``eth_maxPriorityFeePerGas``, ``eth_feeHistory``,
``eth_estimateGas``, ``eth_sendRawTransaction`` and ``eth_getTransactionReceipt``, over the
ledger of ``sim.chain_state`` and the contracts of ``sim.chain_exec``. Transactions are mined
as soon as they are accepted, so a receipt is there on the first poll.

Errors are JSON-RPC error objects as geth words them: code 3 with ``execution reverted:
<reason>`` and the ``Error(string)`` data for a call or estimate that reverts, -32000 for a
transaction the node refuses, -32601 for an unknown method, -32602 for bad parameters, -32700
for a body that is not JSON. Owned by the simulator's event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web
from eth_abi.abi import encode

from sim.chain_exec import Executor, Refused
from sim.chain_state import CHAIN_ID, ChainLedger, Revert

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def _revert(exc: Revert) -> RpcError:
    data = "0x" + (_ERROR_STRING + encode(["string"], [exc.reason])).hex()
    return RpcError(3, f"execution reverted: {exc.reason}", data)


def _address(value: object) -> str:
    if not (isinstance(value, str) and value[:2] in ("0x", "0X") and len(value) == 42):
        raise RpcError(-32602, f"invalid address: {value!r:.60}")
    try:
        bytes.fromhex(value[2:])
    except ValueError:
        raise RpcError(-32602, f"invalid address: {value!r:.60}") from None
    return value.lower()


def _data(value: object) -> bytes:
    if value is None:
        return b""
    if not (isinstance(value, str) and value[:2] in ("0x", "0X")):
        raise RpcError(-32602, "invalid hex data")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise RpcError(-32602, "invalid hex data") from None


def _param(params: list[Any], i: int) -> Any:
    if len(params) <= i:
        raise RpcError(-32602, f"missing value for required argument {i}")
    return params[i]


class ChainRpc:
    """Dispatches JSON-RPC requests to the ledger."""

    def __init__(self, ledger: ChainLedger) -> None:
        self.ledger = ledger
        self.executor = Executor(ledger)
        self.requests = 0
        self.methods: dict[str, Callable[[list[Any]], Any]] = {
            "eth_chainId": lambda p: hex(CHAIN_ID),
            "net_version": lambda p: str(CHAIN_ID),
            "eth_blockNumber": lambda p: hex(self.ledger.block),
            "eth_getBlockByNumber": self._block,
            "eth_call": self._call,
            "eth_getBalance": lambda p: hex(self.ledger.account(_address(_param(p, 0))).pol_wei),
            "eth_getCode": lambda p: "0x6080604052" if self.ledger.has_code(
                _address(_param(p, 0))) else "0x",
            "eth_getTransactionCount": lambda p: hex(
                self.ledger.account(_address(_param(p, 0))).nonce),
            "eth_gasPrice": lambda p: hex(self.ledger.base_fee_wei + self.ledger.tip_wei),
            "eth_maxPriorityFeePerGas": lambda p: hex(self.ledger.tip_wei),
            "eth_feeHistory": self._fee_history,
            "eth_estimateGas": self._estimate,
            "eth_sendRawTransaction": self._send,
            "eth_getTransactionReceipt": lambda p: self.ledger.receipts.get(
                str(_param(p, 0)).lower()),
        }

    def _block(self, params: list[Any]) -> dict[str, Any]:
        return {"number": hex(self.ledger.block), "baseFeePerGas": hex(self.ledger.base_fee_wei),
                "hash": "0x" + self.ledger.block.to_bytes(32, "big").hex(), "transactions": []}

    def _call(self, params: list[Any]) -> str:
        tx = _param(params, 0)
        if not isinstance(tx, dict):
            raise RpcError(-32602, "invalid call object")
        try:
            return "0x" + self.ledger.call(_address(tx.get("to")),
                                           _data(tx.get("data", tx.get("input")))).hex()
        except Revert as exc:
            raise _revert(exc) from None

    def _fee_history(self, params: list[Any]) -> dict[str, Any]:
        raw = _param(params, 0)
        n = int(raw, 16) if isinstance(raw, str) else int(raw)
        if not 1 <= n <= 1024:
            raise RpcError(-32602, "invalid block count")
        pcts = params[2] if len(params) > 2 and isinstance(params[2], list) else []
        out: dict[str, Any] = {
            "oldestBlock": hex(max(0, self.ledger.block - n + 1)),
            "baseFeePerGas": [hex(self.ledger.base_fee_wei)] * (n + 1),
            "gasUsedRatio": [0.5] * n}
        if pcts:
            out["reward"] = [[hex(self.ledger.tip_wei)] * len(pcts)] * n
        return out

    def _estimate(self, params: list[Any]) -> str:
        tx = _param(params, 0)
        if not isinstance(tx, dict):
            raise RpcError(-32602, "invalid call object")
        try:
            return hex(self.executor.estimate(_address(tx.get("from")), _address(tx.get("to")),
                                              _data(tx.get("data", tx.get("input")))))
        except Revert as exc:
            raise _revert(exc) from None

    def _send(self, params: list[Any]) -> str:
        raw = _data(_param(params, 0))
        try:
            return self.executor.send_raw(raw)
        except Refused as exc:
            raise RpcError(-32000, str(exc)) from None

    def answer(self, req: Any) -> dict[str, Any]:
        """The reply object of one JSON-RPC request object."""
        self.requests += 1
        rid = req.get("id") if isinstance(req, dict) else None
        try:
            if not isinstance(req, dict) or not isinstance(req.get("method"), str):
                raise RpcError(-32600, "invalid request")
            fn = self.methods.get(req["method"])
            if fn is None:
                raise RpcError(-32601, f"the method {req['method']} does not exist/is not "
                                       "available")
            params = req.get("params") or []
            if not isinstance(params, list):
                raise RpcError(-32602, "params must be an array")
            try:
                return {"jsonrpc": "2.0", "id": rid, "result": fn(params)}
            except (ValueError, TypeError) as exc:
                raise RpcError(-32602, f"invalid argument: {exc}") from None
        except RpcError as exc:
            err: dict[str, Any] = {"code": exc.code, "message": exc.message}
            if exc.data is not None:
                err["data"] = exc.data
            return {"jsonrpc": "2.0", "id": rid, "error": err}

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            body = None
            reply: Any = {"jsonrpc": "2.0", "id": None,
                          "error": {"code": -32700, "message": "parse error"}}
        else:
            reply = ([self.answer(r) for r in body] if isinstance(body, list)
                     else self.answer(body))
        return web.Response(body=orjson.dumps(reply), content_type="application/json")

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.add_routes([web.post("/", self.handle)])
        return app
