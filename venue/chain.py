"""A Polygon JSON-RPC client over the project's one HTTP stack, with typed results.

``ChainClient`` posts JSON-RPC 2.0 requests through a ``requests.Session`` whose only adapter is
the project's ``KeepAliveAdapter`` (``venue.keepalive.new_session``), as ``venue.rest`` and
``venue.gamma`` do. Methods (research §11.3, §11.4): ``eth_chainId``, ``eth_call`` (with typed
helpers for ERC-20 ``balanceOf``/``allowance``, ERC-1155 ``balanceOf``/``isApprovedForAll`` and
CTF ``payoutDenominator``/``payoutNumerators``), ``eth_getBalance``, ``eth_getCode``,
``eth_getTransactionCount``, ``eth_gasPrice``, ``eth_maxPriorityFeePerGas``, ``eth_feeHistory``,
``eth_estimateGas``, ``eth_sendRawTransaction`` and ``eth_getTransactionReceipt``. Signing and
sending from an EOA is ``venue.chain_tx``.

Errors (``messages.errors``): a JSON-RPC error object raises ``ChainError`` (its ``rpc_code``,
message and revert data); a non-2xx HTTP reply raises what ``venue.rest_errors`` makes of it
(``RateLimited`` for 429, ``ServerError`` for 5xx, ...); a reply that is not a JSON-RPC answer
to this request raises ``BadReply``; no reply raises ``NotSent`` (nothing left) or
``OutcomeUnknown`` (it may have been acted on: a raw transaction may be in the pool). Nothing is
retried here.

The RPC URL often embeds a provider's API key, so it never appears in an error or a log line:
errors name the method only.

Thread ownership: one caller thread at a time (the Treasury's, or pre-flight's on the main
thread); the adapter's lock serialises any others.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests

from messages.errors import BadReply, ChainError, InvalidHeartbeat, PolymmError
from venue import calldata
from venue.keepalive import KeepAliveAdapter, TimedResponse, new_session
from venue.rest_call import no_reply, prepared
from venue.rest_errors import error_from_response

__all__ = ["ChainClient", "FeeHistory", "Receipt", "parse_quantity"]

_HEADERS = {"Content-Type": "application/json", "Accept": "application/json",
            "User-Agent": "polymm/0.1"}
_NO_PROXIES: dict[str, str] = {}
_HEX = frozenset("0123456789abcdefABCDEF")


def parse_quantity(value: object, what: str) -> int:
    """A JSON-RPC quantity (``"0x1a"``) as an int; ``BadReply`` otherwise."""
    if (not isinstance(value, str) or value[:2] not in ("0x", "0X") or len(value) < 3
            or len(value) > 66 or not _HEX.issuperset(value[2:])):
        raise BadReply(f"rpc {what}: expected a hex quantity, got {value!r:.80}")
    return int(value, 16)


def _parse_data(value: object, what: str) -> bytes:
    if (not isinstance(value, str) or value[:2] not in ("0x", "0X") or len(value) % 2
            or not _HEX.issuperset(value[2:])):
        raise BadReply(f"rpc {what}: expected hex data, got {value!r:.80}")
    return bytes.fromhex(value[2:])


def _hex(n: int) -> str:
    return hex(n)


@dataclass(frozen=True, slots=True)
class Receipt:
    """A mined transaction (``eth_getTransactionReceipt``). ``ok``: status ``0x1``; a reverted
    transaction was mined too and paid its gas."""

    tx_hash: str
    ok: bool
    block_number: int
    gas_used: int
    effective_gas_price_wei: int

    @property
    def fee_wei(self) -> int:
        return self.gas_used * self.effective_gas_price_wei


@dataclass(frozen=True, slots=True)
class FeeHistory:
    """``eth_feeHistory``: the base fee of the next block and, per block asked, the tip paid
    at the requested percentile (empty when no percentile was asked)."""

    next_base_fee_wei: int
    tips_wei: tuple[int, ...]


class ChainClient:
    """Polygon JSON-RPC over one keep-alive connection.

    Args:
        rpc_url: the node's ``http(s)`` URL (a path, e.g. with a provider key, is kept).
        timeout_s: bound on every socket read/write after connecting.
        connect_timeout_s: bound on the TCP connect (and TLS handshake).
        ssl_context: TLS settings for https (default: verify against requests' CA bundle).
    """

    def __init__(self, rpc_url: str, *, timeout_s: float = 5.0, connect_timeout_s: float = 2.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        if not rpc_url.startswith(("http://", "https://")):
            raise PolymmError("venue.rpc_url: expected an http(s) URL")
        # A bare origin gets its "/": the session's adapter is mounted at origin + "/".
        self._url = rpc_url if urlsplit(rpc_url).path else rpc_url + "/"
        self.adapter = KeepAliveAdapter(rpc_url, connect_timeout_s=connect_timeout_s,
                                        timeout_s=timeout_s, ssl_context=ssl_context)
        self.session = new_session(self.adapter)
        self._id = 0
        self.last_send_ns = 0
        self.last_recv_ns = 0

    def __repr__(self) -> str:  # the URL may carry a provider key
        return f"ChainClient({self.adapter.origin.split('://')[0]}://…)"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> ChainClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------------

    def request(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC call; its ``result`` (any JSON value, ``None`` included)."""
        self._id += 1
        req_id = self._id
        body = orjson.dumps({"jsonrpc": "2.0", "id": req_id, "method": method,
                             "params": params})
        where = f"rpc {method}"
        try:
            reply = self.session.send(prepared("POST", self._url, _HEADERS, body),
                                      allow_redirects=False, proxies=_NO_PROXIES)
        except requests.RequestException as exc:
            raise no_reply("POST", where, exc) from exc
        if isinstance(reply, TimedResponse):
            self.last_send_ns, self.last_recv_ns = reply.sent_ns, reply.recv_ns
        if not 200 <= reply.status_code < 300:
            err = error_from_response(reply.status_code, reply.content,
                                      reply.headers.get("Retry-After"), now_s=int(time.time()),
                                      reason_phrase=reply.reason)
            if isinstance(err, InvalidHeartbeat):  # a CLOB shape: never from a node
                raise err
            raise type(err)(f"{where}: {err.message}", status=err.status,
                            retry_after_s=err.retry_after_s, code=err.code)
        try:
            obj = orjson.loads(reply.content)
        except orjson.JSONDecodeError:
            raise BadReply(f"{where}: reply is not JSON", status=reply.status_code) from None
        if not isinstance(obj, dict) or obj.get("id") != req_id:
            raise BadReply(f"{where}: not a JSON-RPC reply to this request")
        error = obj.get("error")
        if error is not None:
            if not isinstance(error, dict):
                raise BadReply(f"{where}: malformed error object")
            code = error.get("code")
            data = error.get("data")
            raise ChainError(f"{where}: {str(error.get('message') or 'error')[:300]}",
                             rpc_code=code if isinstance(code, int) else 0,
                             data=data if isinstance(data, str) else "")
        if "result" not in obj:
            raise BadReply(f"{where}: reply has neither result nor error")
        return obj["result"]

    def _quantity(self, method: str, params: list[Any]) -> int:
        return parse_quantity(self.request(method, params), method)

    # -- chain and accounts -----------------------------------------------------------------------

    def chain_id(self) -> int:
        """``eth_chainId`` (137 for Polygon)."""
        return self._quantity("eth_chainId", [])

    def balance_wei(self, address: str, block: str = "latest") -> int:
        """``eth_getBalance``: the native token (POL) held, in wei."""
        return self._quantity("eth_getBalance", [address, block])

    def code(self, address: str, block: str = "latest") -> bytes:
        """``eth_getCode``: empty for an EOA (or an undeployed contract wallet)."""
        return _parse_data(self.request("eth_getCode", [address, block]), "eth_getCode")

    def nonce(self, address: str, block: str = "pending") -> int:
        """``eth_getTransactionCount`` (``pending`` counts transactions in the pool)."""
        return self._quantity("eth_getTransactionCount", [address, block])

    # -- calls ------------------------------------------------------------------------------------

    def call(self, to: str, data: bytes, block: str = "latest") -> bytes:
        """``eth_call``: the raw return data (a revert raises ``ChainError``)."""
        return _parse_data(self.request("eth_call", [{"to": to, "data": "0x" + data.hex()},
                                                     block]), "eth_call")

    def _uint_call(self, to: str, data: bytes, what: str) -> int:
        try:
            return calldata.decode_uint(self.call(to, data))
        except ValueError as exc:
            raise BadReply(f"rpc eth_call {what}: {exc}") from None

    def erc20_balance(self, token: str, owner: str) -> int:
        """``token.balanceOf(owner)`` in base units."""
        return self._uint_call(token, calldata.balance_of(owner), "balanceOf")

    def erc20_allowance(self, token: str, owner: str, spender: str) -> int:
        """``token.allowance(owner, spender)`` in base units."""
        return self._uint_call(token, calldata.allowance(owner, spender), "allowance")

    def erc1155_balance(self, token: str, owner: str, token_id: int) -> int:
        """``token.balanceOf(owner, id)`` (outcome tokens, 6-dp base units)."""
        return self._uint_call(token, calldata.balance_of_1155(owner, token_id), "balanceOf")

    def is_approved_for_all(self, token: str, owner: str, operator: str) -> bool:
        """``token.isApprovedForAll(owner, operator)``."""
        try:
            return calldata.decode_bool(self.call(
                token, calldata.is_approved_for_all(owner, operator)))
        except ValueError as exc:
            raise BadReply(f"rpc eth_call isApprovedForAll: {exc}") from None

    def payout_denominator(self, ctf: str, condition_id: str) -> int:
        """``CTF.payoutDenominator(conditionId)``: > 0 once the condition is resolved."""
        return self._uint_call(ctf, calldata.payout_denominator(condition_id),
                               "payoutDenominator")

    def payout_numerator(self, ctf: str, condition_id: str, index: int) -> int:
        """``CTF.payoutNumerators(conditionId, index)``: the outcome's share of the payout."""
        return self._uint_call(ctf, calldata.payout_numerators(condition_id, index),
                               "payoutNumerators")

    # -- fees and gas -----------------------------------------------------------------------------

    def gas_price(self) -> int:
        """``eth_gasPrice`` in wei (a legacy transaction's price: base fee plus a tip)."""
        return self._quantity("eth_gasPrice", [])

    def max_priority_fee(self) -> int:
        """``eth_maxPriorityFeePerGas`` in wei (not every provider serves it: research §11.4)."""
        return self._quantity("eth_maxPriorityFeePerGas", [])

    def fee_history(self, blocks: int, percentile: float | None = None) -> FeeHistory:
        """``eth_feeHistory(blocks, "latest", [percentile])``."""
        pct = [] if percentile is None else [percentile]
        obj = self.request("eth_feeHistory", [_hex(blocks), "latest", pct])
        if not isinstance(obj, dict) or not isinstance(obj.get("baseFeePerGas"), list) \
                or not obj["baseFeePerGas"]:
            raise BadReply("rpc eth_feeHistory: no baseFeePerGas")
        base = parse_quantity(obj["baseFeePerGas"][-1], "eth_feeHistory")
        tips: list[int] = []
        if percentile is not None:
            rewards = obj.get("reward")
            if not isinstance(rewards, list):
                raise BadReply("rpc eth_feeHistory: no reward")
            for row in rewards:
                if not isinstance(row, list) or len(row) != 1:
                    raise BadReply("rpc eth_feeHistory: malformed reward")
                tips.append(parse_quantity(row[0], "eth_feeHistory"))
        return FeeHistory(next_base_fee_wei=base, tips_wei=tuple(tips))

    def estimate_gas(self, *, sender: str, to: str, data: bytes, value: int = 0) -> int:
        """``eth_estimateGas``; a call that would revert raises ``ChainError``."""
        return self._quantity("eth_estimateGas", [{"from": sender, "to": to,
                                                   "data": "0x" + data.hex(),
                                                   "value": _hex(value)}])

    # -- transactions -----------------------------------------------------------------------------

    def send_raw(self, raw: bytes) -> str:
        """``eth_sendRawTransaction``: the node's transaction hash (``0x`` + 64 hex)."""
        result = self.request("eth_sendRawTransaction", ["0x" + raw.hex()])
        if not isinstance(result, str) or len(_parse_data(result, "eth_sendRawTransaction")) != 32:
            raise BadReply("rpc eth_sendRawTransaction: expected a 32-byte hash")
        return result.lower()

    def receipt(self, tx_hash: str) -> Receipt | None:
        """``eth_getTransactionReceipt``: None until the transaction is mined."""
        obj = self.request("eth_getTransactionReceipt", [tx_hash])
        if obj is None:
            return None
        if not isinstance(obj, dict):
            raise BadReply("rpc eth_getTransactionReceipt: expected an object")
        status = parse_quantity(obj.get("status"), "receipt status")
        if status not in (0, 1):
            raise BadReply(f"rpc eth_getTransactionReceipt: status {status}")
        price = obj.get("effectiveGasPrice")
        return Receipt(tx_hash=str(obj.get("transactionHash") or tx_hash).lower(),
                       ok=status == 1,
                       block_number=parse_quantity(obj.get("blockNumber"), "receipt block"),
                       gas_used=parse_quantity(obj.get("gasUsed"), "receipt gasUsed"),
                       effective_gas_price_wei=parse_quantity(price, "receipt gas price")
                       if price is not None else 0)
