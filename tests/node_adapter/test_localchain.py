from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from node_adapter.connection import connect
from node_adapter.dev.localchain import DEV_MNEMONIC, LocalChain, dev_accounts, free_port
from node_adapter.exceptions import ChainError, ChainIdMismatchError, PortInUseError
from tests.chain_helpers import isolated


def _transfer(w3: Web3, key: str, to: str, value: int) -> None:
    sender = Account.from_key(key)
    tx = {
        "to": to,
        "value": value,
        "gas": 21_000,
        "gasPrice": w3.eth.gas_price,
        "nonce": w3.eth.get_transaction_count(sender.address),
        "chainId": w3.eth.chain_id,
    }
    tx_hash = w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
    assert w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30).status == 1


@pytest.mark.ganache
def test_node_exposes_funded_dev_accounts(chain: LocalChain, w3: Web3) -> None:
    assert [a.address for a in chain.accounts] == w3.eth.accounts
    for account in chain.accounts:
        assert w3.eth.get_balance(account.address) == Web3.to_wei(10_000, "ether")
        assert Account.from_key(account.private_key).address == account.address


@pytest.mark.ganache
def test_isolated_reverts_a_transfer(chain: LocalChain, w3: Web3) -> None:
    recipient = Account.create().address
    block = w3.eth.block_number
    with isolated(chain):
        _transfer(w3, chain.accounts[1].private_key, recipient, 12345)
        assert w3.eth.get_balance(recipient) == 12345
    assert w3.eth.get_balance(recipient) == 0
    assert w3.eth.block_number == block


def test_dev_accounts_follow_the_standard_test_mnemonic() -> None:
    # The first account of the public Foundry/Hardhat test mnemonic, as every wallet derives it.
    assert dev_accounts(1, DEV_MNEMONIC)[0].address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_taken_port_is_reported_clearly() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is already in use"):
            LocalChain(port=port).start()


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ChainError, match="unknown local chain backend 'geth'"):
        LocalChain(backend="geth")  # type: ignore[arg-type]


def test_chain_id_mismatch_is_refused(anvil_node: LocalChain) -> None:
    with pytest.raises(ChainIdMismatchError, match="reports chain id 31337, but chain id 1 is configured"):
        connect(anvil_node.url, expected_chain_id=1)


def test_unreachable_node_is_reported() -> None:
    port = free_port()
    with pytest.raises(ChainError, match=f"cannot reach a chain node at http://127.0.0.1:{port}"):
        connect(f"http://127.0.0.1:{port}", timeout=2)


@pytest.mark.parametrize("backend", ["anvil", "ganache"])
def test_state_persists_between_runs(tmp_path: Path, backend: str) -> None:
    recipient = Account.create().address
    node = LocalChain(backend=backend, port=free_port(), state_dir=tmp_path)  # type: ignore[arg-type]
    with node:
        w3 = connect(node.url)
        _transfer(w3, node.accounts[2].private_key, recipient, 777)
        height = w3.eth.block_number
    assert not node.is_running()
    with node:
        w3 = connect(node.url)
        assert w3.eth.get_balance(recipient) == 777
        assert w3.eth.block_number >= height


def test_stop_is_idempotent() -> None:
    node = LocalChain(port=free_port()).start()
    node.stop()
    node.stop()
    assert not node.is_running()


def test_no_orphan_node_when_the_parent_is_killed(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from node_adapter.dev.localchain import LocalChain
        node = LocalChain(port={free_port()}).start()
        print(node.pid, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    node_pid = int(parent.stdout.readline())
    os.kill(node_pid, 0)  # the node runs
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(node_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(node_pid, signal.SIGKILL)
    pytest.fail(f"node pid {node_pid} outlived its killed parent")
