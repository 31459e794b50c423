"""Wire decoding throughput, single thread: frames per second through each decoder.

Frames are realistic in shape and size (77-digit token ids, 40-hex hashes, sizes with
decimals) and vary from frame to frame. Two memos help, as they do live: prices come from a
small set (``venue.numbers.PIPS_MEMO``), and ``book`` levels repeat from one book of a token to
the next (the venue resends the whole book after each trade; ``wire_market``'s level memo).
``book_per_s`` cycles through 64 books, so its levels hit the memo; ``book_cold_per_s`` uses a
distinct size on every level of every frame, so they never do.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

import orjson

from bench.common import Result, repeat
from venue.wire import decode_market, decode_polybolt, decode_user

SCENARIO = "decode"
TARGETS = {
    "price_change_per_s": ">= 150000 price_change frames/s (2 entries), single thread",
    "book_per_s": ">= 20000 book frames/s (2x50 levels), single thread",
    "book_cold_per_s": "reported (2x50 levels, every level new: the level memo never hits)",
    "user_per_s": "reported (trade frame with one maker order)",
    "price_per_s": "reported (PolyBolt price.crypto update)",
}

_VARIANTS = 64
_CID = "0x" + "5f65" * 16


def _token(rng: random.Random) -> str:
    return str(rng.randrange(10**76, 10**77))


def _size(rng: random.Random) -> str:
    whole = rng.randrange(1, 5000)
    return f"{whole}.{rng.randrange(0, 100):02d}" if rng.random() < 0.7 else str(whole)


def price_change_frames(rng: random.Random) -> list[bytes]:
    """``price_change`` frames with two entries (one per token of a market)."""
    up, down = _token(rng), _token(rng)
    frames = []
    for i in range(_VARIANTS):
        p = rng.randrange(1, 99)
        entries = [
            {"asset_id": up, "price": f"0.{p:02d}", "size": _size(rng), "side": "BUY",
             "hash": f"{rng.getrandbits(160):040x}", "best_bid": f"0.{p:02d}",
             "best_ask": f"0.{p + 1:02d}"},
            {"asset_id": down, "price": f"0.{99 - p:02d}", "size": _size(rng), "side": "SELL",
             "hash": f"{rng.getrandbits(160):040x}", "best_bid": f"0.{98 - p:02d}",
             "best_ask": f"0.{99 - p:02d}"},
        ]
        frames.append(orjson.dumps({"event_type": "price_change", "market": _CID,
                                    "timestamp": str(1757908892351 + i),
                                    "price_changes": entries}))
    return frames


def book_frames(rng: random.Random, count: int = _VARIANTS,
                unique: bool = False) -> list[bytes]:
    """``book`` frames with 50 bids and 50 asks on a 0.01 grid, ascending as the venue sends.

    ``unique``: every size string in every frame is distinct (a cold level memo).
    """
    token = _token(rng)
    frames = []
    serial = iter(range(10**9))

    def size() -> str:
        return f"{next(serial)}.{rng.randrange(0, 100):02d}" if unique else _size(rng)

    for i in range(count):
        bids = [{"price": f"0.{p:02d}", "size": size()} for p in range(1, 51)]
        asks = [{"price": f"0.{p:02d}", "size": size()} for p in range(51, 100)]
        asks.append({"price": "1", "size": size()})
        frames.append(orjson.dumps({"event_type": "book", "asset_id": token, "market": _CID,
                                    "bids": bids, "asks": asks,
                                    "timestamp": str(1757908892351 + i),
                                    "hash": f"0x{rng.getrandbits(160):040x}",
                                    "tick_size": "0.01", "min_order_size": "5"}))
    return frames


def user_frames(rng: random.Random) -> list[bytes]:
    """``trade`` frames where we are the maker (one ``maker_orders`` entry)."""
    frames = []
    for i in range(_VARIANTS):
        token = _token(rng)
        frames.append(orjson.dumps({
            "event_type": "trade", "type": "TRADE", "id": f"28c4d2eb-bbea-40e7-a9f0-{i:012d}",
            "taker_order_id": f"0x{rng.getrandbits(256):064x}", "market": _CID,
            "asset_id": token, "side": "BUY", "size": _size(rng), "price": "0.57",
            "fee_rate_bps": "0", "status": "MATCHED", "match_time": "1672290701",
            "last_update": "1672290701", "outcome": "YES", "owner": "k", "trade_owner": "k",
            "maker_address": "0x" + "ab" * 20, "transaction_hash": "0x" + "cd" * 32,
            "bucket_index": 0, "trader_side": "MAKER", "timestamp": str(1672290701000 + i),
            "maker_orders": [{"order_id": f"0x{rng.getrandbits(256):064x}", "owner": "k",
                              "maker_address": "0x" + "ab" * 20, "matched_amount": "10",
                              "price": "0.57", "fee_rate_bps": "0", "asset_id": token,
                              "outcome": "YES", "side": "SELL"}]}))
    return frames


def price_frames(rng: random.Random) -> list[bytes]:
    """PolyBolt ``price.crypto`` updates."""
    frames = []
    for i in range(_VARIANTS):
        cents = rng.randrange(6_000_000, 7_000_000)
        frames.append(orjson.dumps({
            "v": 1, "channel": "price.crypto", "seq": i, "ts": 1788973001000 + i,
            "payload": {"symbol": "btcusd", "value": cents / 100,
                        "full_accuracy_value": f"{cents // 100}.{cents % 100:02d}000000",
                        "timestamp": 1788973001000 + i, "source": "pyth"}}))
    return frames


def _rate(decode: Callable[[bytes, int], Sequence[object]], frames: list[bytes],
          n: int) -> Callable[[], float]:
    def run() -> float:
        k = len(frames)
        t0 = time.perf_counter()
        for i in range(n):
            decode(frames[i % k], i)
        return n / (time.perf_counter() - t0)
    return run


def measure(repeats: int) -> Result:
    """Median frames/s of each decoder over ``repeats`` runs."""
    rng = random.Random(7)
    result = Result(SCENARIO)
    cases: list[tuple[str, Callable[[bytes, int], Sequence[object]], list[bytes], int]] = [
        ("price_change_per_s", decode_market, price_change_frames(rng), 50_000),
        ("book_per_s", decode_market, book_frames(rng), 5_000),
        ("book_cold_per_s", decode_market, book_frames(rng, 2_500, unique=True), 2_000),
        ("user_per_s", decode_user, user_frames(rng), 20_000),
        ("price_per_s", decode_polybolt, price_frames(rng), 50_000),
    ]
    for key, decode, frames, n in cases:
        # Warm-up fills the price memo (and, for the cold case, only touches frames the
        # measured runs reach long after the level memo has been cleared again).
        _rate(decode, frames[-200:], min(n // 10, 200))()
        result.add(key, repeat(_rate(decode, frames, n), repeats))
    return result


if __name__ == "__main__":
    print(orjson.dumps(measure(5).as_json(), option=orjson.OPT_INDENT_2).decode())
