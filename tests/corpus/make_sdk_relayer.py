"""Writes tests/corpus/sdk_relayer.json with the official SDK (not a test; run by hand).

The deposit-wallet Batch typed data, digest and signature, and the ``POST /submit`` WALLET
body, built by ``polymarket-client`` 0.14.0 for fixed keys, wallets, calls, nonces and
deadlines. The SDK is not a dependency of polymm: install it in a throw-away venv, never in
.venv::

    python3.11 -m venv /tmp/sdkvenv && /tmp/sdkvenv/bin/pip install polymarket-client==0.14.0
    /tmp/sdkvenv/bin/python tests/corpus/make_sdk_relayer.py

tests/test_relayer.py checks venue.relayer against the file.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import to_checksum_address
from polymarket._internal.actions.relayer.gasless import build_deposit_wallet_payload
from polymarket._internal.actions.relayer.signing.deposit_wallet import (
    build_deposit_wallet_typed_data,
    sign_deposit_wallet_batch,
)
from polymarket.calls import (
    ctf_merge_positions_call,
    ctf_redeem_positions_call,
    erc20_approval_call,
    erc1155_set_approval_for_all_call,
)
from polymarket.environments import PRODUCTION

ENV = PRODUCTION._config  # the SDK keeps its addresses there
PUSD = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"
CID = "0x" + "c2" * 32
CASES = [
    # (name, owner key, wallet, nonce, deadline, metadata, calls)
    ("merge", "0x" + "11" * 32, "0x" + "ab" * 20, "0", "1780000600", "",
     [ctf_merge_positions_call(target=ENV.collateral_adapter, collateral=PUSD,
                               condition_id=CID, amount=7_000_000)]),
    ("redeem", "0x" + "11" * 32, "0x" + "ab" * 20, "7", "1780000900", "polymm",
     [ctf_redeem_positions_call(ctf=ENV.neg_risk_collateral_adapter, collateral=PUSD,
                                condition_id=CID)]),
    ("approvals", "0x" + "22" * 32, "0x8Ba1f109551bD432803012645Ac136ddd64DBA72",
     "123456789012", "1999999999", "approve",
     [erc20_approval_call(token_address=PUSD, spender=ENV.collateral_adapter,
                          amount=2**256 - 1),
      erc1155_set_approval_for_all_call(token_address=ENV.conditional_tokens,
                                        operator=ENV.collateral_adapter)]),
]


def main() -> None:
    out: dict[str, object] = {
        "_source": f"polymarket-client {version('polymarket-client')} (PyPI) with eth-account "
                   f"{version('eth-account')}, in a throw-away venv: "
                   "_internal.actions.relayer.signing.deposit_wallet "
                   "(build_deposit_wallet_typed_data, sign_deposit_wallet_batch) and "
                   "_internal.actions.relayer.gasless.build_deposit_wallet_payload, calls from "
                   "polymarket.calls, factory from polymarket.environments.PRODUCTION; "
                   "written by tests/corpus/make_sdk_relayer.py",
        "cases": []}
    for name, key, wallet, nonce, deadline, metadata, calls in CASES:
        signer = Account.from_key(key)
        wallet = to_checksum_address(wallet)  # as the SDK holds a derived wallet
        typed = build_deposit_wallet_typed_data(wallet=wallet, calls=calls, nonce=nonce,
                                                deadline=deadline, chain_id=ENV.chain_id)
        digest = signer.sign_message(encode_typed_data(full_message=typed)).message_hash
        sig = sign_deposit_wallet_batch(signer, wallet=wallet, calls=calls, nonce=nonce,
                                        deadline=deadline, chain_id=ENV.chain_id)
        body = build_deposit_wallet_payload(
            signer_address=signer.address,
            deposit_wallet_factory=ENV.wallet_derivation.deposit_wallet_factory,
            wallet=wallet, calls=calls, nonce=nonce, deadline=deadline, signature=sig,
            metadata=metadata)
        out["cases"].append({  # type: ignore[attr-defined]
            "name": name, "owner_key": key, "owner": signer.address, "wallet": wallet,
            "nonce": nonce, "deadline": deadline, "metadata": metadata,
            "calls": [{"to": str(c.to), "value": c.value, "data": str(c.data)} for c in calls],
            "digest": "0x" + bytes(digest).hex(), "signature": str(sig), "body": body})
    path = Path(__file__).with_name("sdk_relayer.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
