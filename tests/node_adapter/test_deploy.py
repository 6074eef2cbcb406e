from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from web3 import Web3

from node_adapter.deploy import SUITE, SuiteParameters, deploy_suite, is_live, load_deployment, manifest_path
from node_adapter.dev.localchain import LocalChain, free_port
from node_adapter.exceptions import DeploymentError
from node_adapter.outbox import TxStatus
from node_adapter.runtime import Runtime
from node_adapter.settings import NodeAdapterSettings


def _runtime(url: str, chain_id: int | None, state_dir: Path) -> Runtime:
    return Runtime.open(NodeAdapterSettings(rpc_urls=[url], chain_id=chain_id, state_dir=state_dir, network="test"))


def test_deploy_records_a_manifest_and_is_never_repeated(chain: LocalChain, w3: Web3, tmp_path: Path) -> None:
    runtime = _runtime(chain.url, chain.chain_id, tmp_path)
    heard: list[tuple[int, int, str]] = []
    deployment, deployed = runtime.deploy(progress=lambda *told: heard.append(told))
    assert deployed
    assert list(deployment.contracts) == list(SUITE)
    assert heard == [
        step for i, name in enumerate(SUITE) for step in ((i, 3, f"deploying {name}"), (i + 1, 3, f"deployed {name}"))
    ]
    saved = load_deployment(tmp_path / "deployments", "test")
    assert saved == deployment
    assert is_live(w3, saved)
    for contract in saved.contracts.values():
        receipt = w3.eth.get_transaction_receipt(contract.tx_hash)  # type: ignore[arg-type]
        assert receipt.contractAddress == contract.address
        assert receipt.blockNumber == contract.block_number
    nonce = w3.eth.get_transaction_count(deployment.deployer)
    again, deployed_again = runtime.deploy()
    assert not deployed_again
    assert again == deployment
    assert w3.eth.get_transaction_count(deployment.deployer) == nonce
    forced, deployed_forced = runtime.deploy(reuse=False)  # --force: a new suite, run 2
    assert deployed_forced
    assert forced.run == 2
    assert set(forced.contracts) == set(SUITE)
    assert all(forced.address(n) != deployment.address(n) for n in SUITE)
    assert w3.eth.get_transaction_count(deployment.deployer) == nonce + len(SUITE)
    assert runtime.outbox.backlog() == {str(TxStatus.CONFIRMED): 2 * len(SUITE)}


def test_an_interrupted_deployment_resumes_without_deploying_twice(chain: LocalChain, w3: Web3, tmp_path: Path) -> None:
    runtime = _runtime(chain.url, chain.chain_id, tmp_path)
    signer = runtime.signer()
    worker = runtime.worker([signer])
    real_drain = worker.drain
    calls = 0

    def drain_then_crash(*, timeout: float = 120.0) -> None:
        nonlocal calls
        calls += 1
        real_drain(timeout=timeout)
        if calls == 2:
            raise KeyboardInterrupt  # the operator hits Ctrl-C after the second contract landed

    worker.drain = drain_then_crash  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        deploy_suite(w3=w3, outbox=runtime.outbox, worker=worker, deployer=signer.address, network="test",
                     params=SuiteParameters(governors=[signer.address]))  # fmt: skip
    nonce = w3.eth.get_transaction_count(signer.address)
    resumed = deploy_suite(w3=w3, outbox=runtime.outbox, worker=runtime.worker([signer]), deployer=signer.address,
                           network="test", params=SuiteParameters(governors=[signer.address]))  # fmt: skip
    assert is_live(w3, resumed)
    assert w3.eth.get_transaction_count(signer.address) == nonce + 1  # only the third contract was still missing


def test_a_chain_started_afresh_gets_a_new_deployment(tmp_path: Path) -> None:
    port = free_port()
    with LocalChain(port=port) as first:
        deployment, _ = _runtime(first.url, 31337, tmp_path).deploy()
    with LocalChain(port=port) as second:  # a new chain with the same chain id and no state
        runtime = _runtime(second.url, 31337, tmp_path)
        assert not is_live(runtime.connection.w3, deployment)
        redeployed, deployed = runtime.deploy()
        assert deployed
        assert is_live(runtime.connection.w3, redeployed)


def test_missing_and_malformed_manifests_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DeploymentError, match="nothing is deployed on 'test' yet"):
        load_deployment(tmp_path, "test")
    manifest_path(tmp_path, "test").write_text(json.dumps({"network": "test"}))
    with pytest.raises(DeploymentError, match="is malformed"):
        load_deployment(tmp_path, "test")
    with pytest.raises(DeploymentError, match="invalid network name"):
        manifest_path(tmp_path, "../etc")


def test_bench_gas_prints_ours_against_eas() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "consortium.cli", "bench", "gas", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    report = json.loads(out)
    for key in (
        "ours_single_gas",
        "eas_single_gas",
        "ratio_single",
        "ours_batch_gas_per_record",
        "eas_multi_gas_per_record",
    ):
        assert report[key] > 0
    assert report["ratio_single"] == round(report["ours_single_gas"] / report["eas_single_gas"], 4)
    assert report["ours_single_gas"] < report["eas_single_gas"]
    assert report["ours_batch_gas_per_record"] < 1000  # the batch target: under 1,000 gas per record


def test_deploy_index_and_status_commands(chain: LocalChain, tmp_path: Path) -> None:
    env = {**os.environ, "NODE_ADAPTER_RPC_URLS": json.dumps([chain.url]), "NODE_ADAPTER_STATE_DIR": str(tmp_path),
           "NODE_ADAPTER_NETWORK": "cli", "COLUMNS": "200"}  # fmt: skip

    def consortium(*args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "consortium.cli", *args], capture_output=True, text=True,
                                env=env, timeout=300, check=False)  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "deployed on 'cli'" in consortium("deploy")
    assert "already deployed on 'cli'" in consortium("deploy")
    assert "indexed up to block" in consortium("index")
    status = json.loads(consortium("status", "--json"))
    assert status["network"] == "cli"
    assert status["nodes"][0]["healthy"] is True
    assert set(status["deployment"]["contracts"]) == set(SUITE)
    assert status["outbox"] == {"confirmed": len(SUITE)}
    assert status["indexer_lag_blocks"] == 0


def test_bench_throughput_prints_every_figure() -> None:
    command = ["bench", "throughput", "--json", "--block-time", "0.5", "--pipelined", "60", "--batch-records", "500"]
    out = subprocess.run(
        [sys.executable, "-m", "consortium.cli", *command], capture_output=True, text=True, check=True, timeout=600
    ).stdout
    report = json.loads(out)
    for key in ("sequential_tx_per_s", "pipelined_tx_per_s", "batch_records_per_s", "indexer_events_per_s"):
        assert report[key] > 0, key
    # 20 sequential attestations and 60 pipelined ones (an Attested event each), plus the batch and its points.
    assert report["indexer_events"] >= 80 + 2
    assert report["pipelined_tx_per_s"] > report["sequential_tx_per_s"]  # with blocks every 0.5 s, by far
