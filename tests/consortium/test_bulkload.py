"""The bulk loader: many transactions into a free-gas dev node in full blocks, every receipt checked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from consortium.bench.bulkload import FREE_GAS_ANVIL_ARGS, BulkLoader, BulkLoadError
from node_adapter.dev.localchain import LocalChain, free_port

PAIRING = "0x0000000000000000000000000000000000000008"
"""The bn256 pairing precompile: an input whose length is not a multiple of 192 bytes makes the call fail."""


@pytest.fixture(scope="module")
def free_gas_node() -> Iterator[LocalChain]:
    with LocalChain(port=free_port(), extra_args=FREE_GAS_ANVIL_ARGS) as node:
        yield node


def _transfers(node: LocalChain, count: int) -> list[dict[str, object]]:
    accounts = node.accounts
    return [
        {"from": accounts[i % 3].address, "to": accounts[9].address, "data": "0x", "gas": 21_000, "value": i + 1}
        for i in range(count)
    ]


def test_send_mines_every_transaction_in_few_blocks_and_returns_their_gas(free_gas_node: LocalChain) -> None:
    nonces_before = [int(free_gas_node.rpc("eth_getTransactionCount", [a.address, "latest"]), 16)
                     for a in free_gas_node.accounts[:3]]  # fmt: skip
    head_before = int(free_gas_node.rpc("eth_blockNumber"), 16)
    with BulkLoader(free_gas_node.url, chunk=40) as loader:
        result = loader.send(_transfers(free_gas_node, 100))
    assert result.transactions == 100
    assert result.gas_used == [21_000] * 100
    assert 3 <= result.blocks <= 6  # three chunks of 40 (the last one 20), each mined into one block or two
    assert int(free_gas_node.rpc("eth_blockNumber"), 16) == head_before + result.blocks
    nonces_after = [int(free_gas_node.rpc("eth_getTransactionCount", [a.address, "latest"]), 16)
                    for a in free_gas_node.accounts[:3]]  # fmt: skip
    assert [after - before for before, after in zip(nonces_before, nonces_after, strict=True)] == [34, 33, 33]
    assert free_gas_node.rpc("anvil_getAutomine") is True  # automine is back on


def test_a_failed_transaction_stops_the_load_and_says_which(free_gas_node: LocalChain) -> None:
    transactions = _transfers(free_gas_node, 5)
    transactions.insert(3, {"from": free_gas_node.accounts[0].address, "to": PAIRING, "data": "0x01", "gas": 100_000})
    failed = r"transaction 3 \(0x[0-9a-f]+\) reverted in block"
    with BulkLoader(free_gas_node.url) as loader, pytest.raises(BulkLoadError, match=failed):
        loader.send(transactions)
    assert free_gas_node.rpc("anvil_getAutomine") is True


def test_bad_input_is_refused_before_anything_is_sent(free_gas_node: LocalChain) -> None:
    head = free_gas_node.rpc("eth_blockNumber")
    with BulkLoader(free_gas_node.url) as loader:
        with pytest.raises(BulkLoadError, match="transaction 1 lacks gas"):
            loader.send([_transfers(free_gas_node, 1)[0], {"from": "0x" + "11" * 20, "to": PAIRING, "data": "0x"}])
        with pytest.raises(BulkLoadError, match=r"eth_sendTransaction .* failed"):  # a key the node does not hold
            loader.send([{"from": "0x" + "11" * 20, "to": PAIRING, "data": "0x", "gas": 50_000}])
    with pytest.raises(BulkLoadError, match="at least one"):
        BulkLoader(free_gas_node.url, chunk=0)
    assert free_gas_node.rpc("eth_blockNumber") == head
    assert free_gas_node.rpc("anvil_getAutomine") is True


def test_a_chain_with_a_base_fee_is_refused(chain: LocalChain) -> None:
    with BulkLoader(chain.url) as loader, pytest.raises(BulkLoadError, match="free-gas chain"):
        loader.send(_transfers(chain, 1))
