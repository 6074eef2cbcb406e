"""Shared fixtures: one real local node per backend per test session, isolated per test by evm_snapshot/evm_revert.

A test that takes the ``chain`` fixture runs against Anvil; marked ``@pytest.mark.ganache`` it runs against Ganache too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3 import Web3

from node_adapter.connection import connect
from node_adapter.localchain import LocalChain, free_port
from tests.chain_helpers import isolated


@pytest.fixture(scope="session")
def anvil_node() -> Iterator[LocalChain]:
    with LocalChain(backend="anvil", port=free_port()) as node:
        yield node


@pytest.fixture(scope="session")
def ganache_node() -> Iterator[LocalChain]:
    with LocalChain(backend="ganache", port=free_port()) as node:
        yield node


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "chain" in metafunc.fixturenames:
        backends = ["anvil", "ganache"] if metafunc.definition.get_closest_marker("ganache") else ["anvil"]
        metafunc.parametrize("chain", backends, indirect=True)


@pytest.fixture
def chain(request: pytest.FixtureRequest) -> Iterator[LocalChain]:
    """The session's node of the requested backend, with every change of the test reverted afterwards."""
    node: LocalChain = request.getfixturevalue(f"{request.param}_node")
    with isolated(node):
        yield node


@pytest.fixture
def w3(chain: LocalChain) -> Web3:
    """A Web3 connected to the test's chain (chain id checked)."""
    return connect(chain.url, expected_chain_id=chain.chain_id)
