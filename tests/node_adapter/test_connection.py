"""Failover between member nodes and refusal of the wrong network, against real local nodes."""

from __future__ import annotations

import pytest

from node_adapter.connection import ChainConnection
from node_adapter.dev.localchain import LocalChain, free_port
from node_adapter.exceptions import ChainIdMismatchError, ChainUnavailableError


def test_fails_over_to_the_next_node_and_back() -> None:
    with LocalChain(port=free_port()) as first, LocalChain(port=free_port()) as second:
        connection = ChainConnection([first.url, second.url], expected_chain_id=31337, backoff_base=0.05)
        assert connection.call(lambda w3: w3.eth.chain_id) == 31337
        assert connection.current_url == first.url
        first.stop()
        assert connection.call(lambda w3: w3.eth.block_number) >= 0  # served by the second node
        assert connection.current_url == second.url
        health = {n.url: n for n in connection.health()}
        assert health[first.url].healthy is False
        assert health[first.url].last_error
        assert health[second.url].healthy is True
        assert health[second.url].block_number is not None


def test_no_node_answering_is_one_clear_error() -> None:
    urls = [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"]
    connection = ChainConnection(urls, expected_chain_id=31337, backoff_base=0.01)
    with pytest.raises(ChainUnavailableError, match="no chain node answers") as raised:
        connection.call(lambda w3: w3.eth.block_number)
    assert all(url in str(raised.value) for url in urls)


def test_a_node_of_another_network_is_refused(anvil_node: LocalChain, ganache_node: LocalChain) -> None:
    connection = ChainConnection([anvil_node.url, ganache_node.url], backoff_base=0.01)
    assert connection.chain_id == 31337  # the first node sets the network every other node must match
    anvil_down = ChainConnection([f"http://127.0.0.1:{free_port()}", ganache_node.url], expected_chain_id=31337)
    with pytest.raises(ChainIdMismatchError, match="reports chain id 1337, but chain id 31337 is configured"):
        anvil_down.call(lambda w3: w3.eth.block_number)
