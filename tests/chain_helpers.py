"""Helpers for tests that talk to a local node."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import RPCEndpoint, TxReceipt

from node_adapter.artifacts import load_artifact
from node_adapter.dev.chainutil import deploy
from node_adapter.dev.localchain import LocalChain


@contextlib.contextmanager
def isolated(node: LocalChain) -> Iterator[None]:
    """Undo every change made to ``node`` inside the block (evm_snapshot before, evm_revert after)."""
    snapshot = node.rpc("evm_snapshot")
    try:
        yield
    finally:
        if not node.rpc("evm_revert", [snapshot]):
            raise RuntimeError(f"evm_revert({snapshot}) failed on {node.url}: later tests would see this test's state")


def as_governance(w3: Web3, membership: Contract, call: ContractFunction) -> TxReceipt:
    """Execute ``call`` from the Membership contract's own address, as a passed proposal would (Anvil only).

    Going through propose, vote and the execution delay is tested on its own; elsewhere this keeps tests short.
    """
    address = membership.address
    w3.provider.make_request(RPCEndpoint("anvil_impersonateAccount"), [address])
    w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [address, hex(10**20)])
    try:
        tx_hash = call.transact({"from": address})
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    finally:
        w3.provider.make_request(RPCEndpoint("anvil_stopImpersonatingAccount"), [address])
    assert receipt["status"] == 1, f"governance call {call.fn_name} reverted"
    return receipt


def deploy_membership(w3: Web3, governor: LocalAccount) -> Contract:
    """Membership with ``governor`` as its single initial governor (quorum 50%, 3 days voting, 1 day delay)."""
    artifact = load_artifact("Membership")
    address = deploy(
        w3, governor, artifact.abi, artifact.bytecode, [governor.address], 5000, 3 * 86400, 86400, 7 * 86400
    )
    return w3.eth.contract(address=address, abi=artifact.abi)
