"""Small synchronous chain helpers for one-shot tools (benchmarks, the demo's setup): send one transaction and wait.

Services write through the outbox (:mod:`node_adapter.outbox`); these helpers are for code that owns a fresh dev
chain and needs no durability.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.types import TxReceipt

from node_adapter.contract_errors import decode_revert, revert_data_of
from node_adapter.exceptions import ChainError


def send_and_wait(w3: Web3, account: LocalAccount, params: Mapping[str, Any], *, timeout: float = 60.0) -> TxReceipt:
    """Sign a transaction (nonce, chain id, gas, fees filled in if missing), send it, wait for and check its receipt."""
    tx = dict(params)
    tx.setdefault("from", account.address)
    tx.setdefault("nonce", w3.eth.get_transaction_count(account.address, "pending"))
    tx.setdefault("chainId", w3.eth.chain_id)
    tx.setdefault("value", 0)
    if "gas" not in tx:
        tx["gas"] = int(w3.eth.estimate_gas(tx) * 1.2)  # type: ignore[arg-type]
    if "gasPrice" not in tx and "maxFeePerGas" not in tx:
        tx["gasPrice"] = w3.eth.gas_price
    tx.pop("from")
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction), timeout=timeout
    )
    if receipt["status"] != 1:
        call = {k: v for k, v in tx.items() if k in ("to", "data", "value", "gas")}
        try:
            w3.eth.call({"from": account.address, **call}, receipt["blockNumber"])  # type: ignore[typeddict-item]
        except Exception as exc:  # the revert reason, whatever form it takes
            raise decode_revert(revert_data_of(exc)) from exc
        raise ChainError(f"transaction {receipt['transactionHash'].hex()} reverted")
    return receipt


def deploy(w3: Web3, account: LocalAccount, abi: list[dict[str, Any]], bytecode: str, *args: Any) -> ChecksumAddress:
    """Deploy a contract and return its address."""
    data = w3.eth.contract(abi=abi, bytecode=bytecode).constructor(*args).data_in_transaction
    receipt = send_and_wait(w3, account, {"data": data})
    address = receipt["contractAddress"]
    if address is None:
        raise ChainError("deployment receipt carries no contract address")
    return Web3.to_checksum_address(address)
