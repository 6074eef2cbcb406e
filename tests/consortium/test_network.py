"""``consortium.network``: a Clique network of real geth nodes on loopback, its faults, and ``consortium network``.

The tests that start nodes need ``.tools/bin/geth`` (``make geth``; ``make test`` builds it): without it they fail,
naming ``make geth``. They run with a 1 s block period and wait with deadlines, never with fixed sleeps.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import os
import re
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.types import TxReceipt

from consortium.network import clique
from consortium.network.errors import GethMissingError, NetworkStateError
from consortium.network.layout import Ports, create_network, folder_of, load_plan, node_config
from consortium.network.network import CliqueNetwork, geth_processes, pid_alive
from consortium.network.tool import GETH_VERSION, require_geth
from node_adapter.connection import connect
from node_adapter.dev.localchain import free_port, port_is_free
from node_adapter.exceptions import PortInUseError

ROOT = Path(__file__).resolve().parents[2]
PERIOD = 1
CHEAP_SCRYPT_N = 2**10
"""Keystores of throw-away test networks: cheap to decrypt (geth decrypts each when it unlocks the signer)."""

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------------- no geth needed


def test_the_makefile_and_the_package_pin_the_same_geth() -> None:
    pinned = re.search(r"^GETH_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert pinned is not None, "the Makefile pins no GETH_VERSION"
    assert pinned.group(1) == GETH_VERSION


def test_the_genesis_names_the_sorted_signers_between_vanity_and_seal() -> None:
    signers = [Account.create().address for _ in range(4)]
    spec = clique.genesis(chain_id=5151, signers=signers, period=3)
    raw = bytes.fromhex(spec["extraData"][2:])
    assert len(raw) == 32 + 4 * 20 + 65
    assert raw[:32] == bytes(32)
    assert raw[-65:] == bytes(65)
    listed = [raw[32 + 20 * i : 52 + 20 * i] for i in range(4)]
    assert listed == sorted(bytes.fromhex(s[2:]) for s in signers)
    assert clique.signers_of(spec["extraData"]) == clique.sorted_signers(signers)
    config = spec["config"]
    assert config["clique"] == {"period": 3, "epoch": clique.EPOCH}
    assert config["londonBlock"] == 0
    assert not any(key.startswith(("shanghai", "cancun")) or key == "terminalTotalDifficulty" for key in config)
    assert int(spec["gasLimit"], 16) == 30_000_000
    assert {f"0x{a}" for a in spec["alloc"]} == {s.lower() for s in signers}


@pytest.mark.parametrize("chain_id", [31337, 1337])
def test_a_dev_chain_id_is_refused(chain_id: int) -> None:
    with pytest.raises(NetworkStateError, match=f"chain id {chain_id} is a local dev chain"):
        clique.genesis(chain_id=chain_id, signers=[Account.create().address])


def test_a_new_network_keeps_its_secrets_private_and_peers_every_member(tmp_path: Path) -> None:
    plan = create_network(tmp_path, nodes=3, period=2, scrypt_n=CHEAP_SCRYPT_N, ports=_free_ports(3))
    assert load_plan(tmp_path) == plan
    genesis = json.loads((tmp_path / "genesis.json").read_text())
    assert clique.signers_of(genesis["extraData"]) == plan.signers
    assert genesis["config"]["chainId"] == 5151
    for member in plan.members:
        folder = folder_of(tmp_path, member.name)
        password = folder.password_file.read_text().strip()
        assert stat.S_IMODE(folder.root.stat().st_mode) == 0o700
        for secret in (folder.password_file, folder.node_key_file, folder.keystore_file):
            assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
        assert Account.from_key(folder.signer_key()).address == member.signer
        assert folder.node_key().enode("127.0.0.1", member.ports.p2p) == member.enode
        assert password not in repr(folder)
        assert password not in (tmp_path / "network.json").read_text()
        peers = node_config(plan, member)["Node"]["P2P"]
        assert sorted(peers["StaticNodes"]) == sorted(m.enode for m in plan.members if m != member)
        assert peers["ListenAddr"] == f"127.0.0.1:{member.ports.p2p}"
    with pytest.raises(NetworkStateError, match="already holds a network"):
        create_network(tmp_path, nodes=3)


# ---------------------------------------------------------------------------------------------------- helpers


def _free_ports(count: int) -> list[Ports]:
    taken: set[int] = set()

    def one() -> int:
        while (port := free_port()) in taken:
            pass
        taken.add(port)
        return port

    return [Ports(one(), one(), one()) for _ in range(count)]


def _free_run(count: int) -> int:
    """The first of ``count`` consecutive free ports."""
    while True:
        first = free_port()
        if first + count < 65536 and all(port_is_free("127.0.0.1", first + i) for i in range(count)):
            return first


def _wait(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(0.1)


def _heads(network: CliqueNetwork) -> dict[str, tuple[int, str]]:
    """Head block number and hash of every running node."""
    heads = {}
    for node in network.running():
        block = node.rpc("eth_getBlockByNumber", ["latest", False])
        heads[node.name] = (int(block["number"], 16), block["hash"])
    return heads


def _same_head(network: CliqueNetwork, *, above: int = 0, timeout: float = 30.0) -> int:
    """Wait until every running node has the same head block above ``above``; return its number."""

    def agreed() -> int | None:
        heads = set(_heads(network).values())
        return next(iter(heads))[0] if len(heads) == 1 and next(iter(heads))[0] > above else None

    number: int = _wait(agreed, timeout, f"every running node at the same head above block {above}")
    return number


def _head(network: CliqueNetwork, name: str = "member-1") -> int:
    return int(network.node(name).rpc("eth_blockNumber"), 16)


def _wait_stall(network: CliqueNetwork, *, quiet: float, timeout: float) -> int:
    """Wait until member-1's head has not moved for ``quiet`` seconds; return that head."""
    deadline = time.monotonic() + timeout
    last, since = _head(network), time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, f"the chain kept growing for {timeout:.0f} s (head {last})"
        time.sleep(0.1)
        head = _head(network)
        if head != last:
            last, since = head, time.monotonic()
    return last


def _all_running(network: CliqueNetwork) -> None:
    for node in network.nodes:
        if not node.is_running():
            network.start(node.name)


@pytest.fixture(scope="session")
def geth() -> Path:
    """The pinned geth: a missing one fails the test (``make test`` builds it first), it is never skipped."""
    try:
        return require_geth()
    except GethMissingError as exc:
        pytest.fail(f"the network tests need geth {GETH_VERSION}: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def network(geth: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliqueNetwork]:
    state = tmp_path_factory.mktemp("network")
    started = time.monotonic()
    net = CliqueNetwork.open(state, nodes=4, period=PERIOD, ports=_free_ports(4), scrypt_n=CHEAP_SCRYPT_N)
    try:
        net.up()
        logger.info("4 nodes up and peered in %.2f s", time.monotonic() - started)
        _wait(lambda: _head(net) >= 1, 30, "the first block")
        logger.info("first block %.2f s after start", time.monotonic() - started)
        yield net
    finally:
        net.down()
    assert geth_processes(state) == []


# ---------------------------------------------------------------------------------------------------- a running network


@pytest.mark.slow
def test_four_members_agree_on_the_head_and_take_turns_sealing(network: CliqueNetwork) -> None:
    head = _same_head(network, above=6)
    founders = {s.lower() for s in network.plan.signers}
    member_1 = network.node("member-1")
    sealers = [member_1.rpc("clique_getSigner", [hex(n)]).lower() for n in range(1, head + 1)]
    assert set(sealers) <= founders
    assert len(set(sealers)) >= 3, sealers  # a signer seals at most one of any 3 consecutive blocks
    assert all(a != b for a, b in itertools.pairwise(sealers)), sealers
    assert {s.lower() for s in member_1.rpc("clique_getSigners")} == founders
    genesis = member_1.rpc("eth_getBlockByNumber", ["0x0", False])
    assert clique.signers_of(genesis["extraData"]) == network.plan.signers
    for status in network.status():
        assert (status.running, status.signer, status.sealing, status.peers) == (True, True, True, 3), status


@pytest.mark.slow
def test_a_transaction_sent_to_one_node_is_mined_and_seen_by_all(network: CliqueNetwork) -> None:
    sender = Account.from_key(network.node("member-2").folder.signer_key())
    recipient = Account.create().address
    w3 = connect(network.node("member-1").url, expected_chain_id=network.plan.chain_id)
    tip = Web3.to_wei(1, "gwei")
    base_fee = w3.eth.get_block("latest")["baseFeePerGas"]
    signed = sender.sign_transaction(
        {
            "type": 2,
            "chainId": network.plan.chain_id,
            "nonce": w3.eth.get_transaction_count(sender.address, "pending"),
            "to": recipient,
            "value": Web3.to_wei(3, "ether"),
            "gas": 21_000,
            "maxPriorityFeePerGas": tip,
            "maxFeePerGas": 2 * base_fee + tip,
        }
    )
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.2)
    assert receipt["status"] == 1
    for node in network.nodes:
        other = connect(node.url, expected_chain_id=network.plan.chain_id)
        seen = _wait(functools.partial(_receipt, other, tx_hash), 15, f"{node.name} to see the transaction")
        assert seen["blockHash"] == receipt["blockHash"], node.name
        assert other.eth.get_balance(recipient) == Web3.to_wei(3, "ether"), node.name


def _receipt(w3: Web3, tx_hash: HexBytes) -> TxReceipt | None:
    try:
        return w3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        return None


@pytest.mark.slow
def test_one_of_four_signers_killed_blocks_continue_and_it_catches_up(network: CliqueNetwork) -> None:
    _all_running(network)
    before = _same_head(network)
    network.node("member-4").kill()
    killed = time.monotonic()
    _wait(lambda: _head(network) >= before + 4, 20, "4 blocks sealed by the three signers left")
    logger.info("4 blocks without member-4 in %.2f s", time.monotonic() - killed)
    restarted = time.monotonic()
    network.start("member-4")
    head = _same_head(network, above=before + 4)
    logger.info("member-4 restarted and at the common head %d in %.2f s", head, time.monotonic() - restarted)


@pytest.mark.slow
def test_two_of_four_killed_the_chain_stalls_and_resumes_when_one_returns(network: CliqueNetwork) -> None:
    _all_running(network)
    _same_head(network)
    network.node("member-3").kill()
    network.node("member-4").kill()
    killed = time.monotonic()
    stuck = _wait_stall(network, quiet=4 * PERIOD, timeout=30)
    logger.info("stall seen %.2f s after two signers were killed (head %d)", time.monotonic() - killed, stuck)
    assert _head(network, "member-2") <= stuck + 1
    restarted = time.monotonic()
    network.start("member-3")
    _wait(lambda: _head(network) > stuck, 20, "blocks to resume with three signers")
    logger.info("blocks resumed %.2f s after member-3 was restarted", time.monotonic() - restarted)
    network.start("member-4")
    head = _same_head(network, above=stuck + 1)
    logger.info("all four at the common head %d %.2f s after the restarts", head, time.monotonic() - restarted)


@pytest.mark.slow
def test_down_leaves_no_geth_process_and_up_resumes_the_kept_chain(network: CliqueNetwork) -> None:
    _all_running(network)
    before = _same_head(network)
    pids = [node.pid for node in network.nodes]
    stopping = time.monotonic()
    network.down()
    logger.info("down in %.2f s", time.monotonic() - stopping)
    assert geth_processes(network.state_dir) == []
    assert not any(pid_alive(pid) for pid in pids if pid is not None)
    starting = time.monotonic()
    network.up()
    assert _head(network) >= before  # the chains were kept, not re-initialised
    head = _same_head(network, above=before)
    logger.info("up again in %.2f s, at block %d (was %d)", time.monotonic() - starting, head, before)


@pytest.mark.slow
def test_a_taken_port_is_refused_before_any_node_starts(geth: Path, tmp_path: Path) -> None:
    ports = _free_ports(2)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", ports[1].p2p))
        holder.listen()
        net = CliqueNetwork.open(tmp_path, nodes=2, period=PERIOD, ports=ports, scrypt_n=CHEAP_SCRYPT_N)
        with pytest.raises(PortInUseError, match=f"port {ports[1].p2p} on 127.0.0.1 \\(p2p of member-2\\)"):
            net.up()
    assert net.running() == []
    assert geth_processes(tmp_path) == []


# ---------------------------------------------------------------------------------------------------- the command


def _consortium(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consortium.cli", "network", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


@pytest.mark.slow
def test_the_command_runs_reports_and_stops_a_network(geth: Path, tmp_path: Path) -> None:
    state = tmp_path / "net"
    rpc, p2p, auth = _free_run(2), _free_run(2), _free_run(2)
    log = (tmp_path / "up.log").open("w+")
    up = subprocess.Popen(
        [sys.executable, "-m", "consortium.cli", "network", "up", "--nodes", "2", "--period", "1",
         "--state-dir", str(state), "--rpc-port", str(rpc), "--p2p-port", str(p2p), "--auth-port", str(auth)],
        stdout=log, stderr=subprocess.STDOUT, text=True, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    try:

        def answering() -> dict[str, Any] | None:
            assert up.poll() is None, f"consortium network up exited: {(tmp_path / 'up.log').read_text()}"
            run = _consortium("status", "--state-dir", str(state), "--json")
            if run.returncode != 0:
                return None
            report: dict[str, Any] = json.loads(run.stdout)
            nodes = report["nodes"]
            ready = all(n["running"] and n["peers"] == 1 and n["block"] >= 1 for n in nodes)
            return report if ready and report["supervisor_pid"] == up.pid else None

        report = _wait(answering, 90, "both nodes to answer, peer and seal")
        assert [n["url"] for n in report["nodes"]] == [f"http://127.0.0.1:{rpc}", f"http://127.0.0.1:{rpc + 1}"]
        assert all(n["signer"] and n["sealing"] for n in report["nodes"])
        assert report["chain_id"] == 5151
        table = _consortium("status", "--state-dir", str(state))
        assert table.returncode == 0, table.stderr
        assert "member-2" in table.stdout
        assert "running" in table.stdout
        second = _consortium("up", "--state-dir", str(state))
        assert second.returncode == 2, second
        assert "already running" in second.stderr
        down = _consortium("down", "--state-dir", str(state))
        assert down.returncode == 0, down.stderr
        assert "stopped consortium network up" in down.stdout
        assert up.wait(timeout=30) == 0
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
    assert geth_processes(state) == []
    assert not (state / "run.json").exists()
    gone = _consortium("status", "--state-dir", str(state), "--json")
    assert gone.returncode == 1
    assert not any(n["running"] for n in json.loads(gone.stdout)["nodes"])
    said = (tmp_path / "up.log").read_text() + "".join(p.read_text() for p in state.glob("members/*/geth.log"))
    said += json.dumps(report) + down.stdout + table.stdout
    for member in ("member-1", "member-2"):
        assert folder_of(state, member).password_file.read_text().strip() not in said
