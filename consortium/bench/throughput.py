"""Benchmarks that print figures: gas of our contracts side by side with the Ethereum Attestation Service.

Each benchmark starts a fresh local node of its own, so figures do not depend on what ran before. Gas is exact and
repeatable; run-time figures elsewhere are reported as ratios where the machine is noisy.
"""

from __future__ import annotations

import json
import logging
import statistics
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node_adapter.artifacts import load_artifact
from node_adapter.build import compile_standard_json
from node_adapter.clients import Role
from node_adapter.connection import ChainConnection, connect
from node_adapter.db import create_schema, make_engine
from node_adapter.deploy import SuiteParameters
from node_adapter.dev.chainutil import deploy, send_and_wait
from node_adapter.dev.devchain import pass_proposal
from node_adapter.dev.localchain import LocalChain, free_port
from node_adapter.indexer import EventIndexer, WatchedContract
from node_adapter.merkle import MerkleTree, batch_leaf
from node_adapter.outbox import Outbox
from node_adapter.readmodel import all_projections
from node_adapter.toolchain import SolcBinary, compiler_settings, project_root, solc_version_of
from node_adapter.txworker import TxPolicy, TxWorker

logger = logging.getLogger(__name__)

EAS_SOLC_VERSION = "0.8.29"
EAS_DIR = "node_modules/@ethereum-attestation-service/eas-contracts/contracts"
EAS_SCHEMA = "bytes32 subject,bytes32 digest,bytes32 ref"
"""The same payload as one of our attestations: 96 bytes."""


@lru_cache(maxsize=1)
def eas_contracts() -> dict[str, dict[str, Any]]:
    """EAS 1.9.0 and its SchemaRegistry, compiled as TOOLCHAIN.md says.

    solc 0.8.29 (which EAS pins) against OpenZeppelin 5.3.0, with our EVM version and optimizer settings; cached
    under ``.state/bench/`` by a hash of the compiler, settings and sources.
    """
    root = project_root()
    solc_path = root / "scripts" / "solc-0.8.29"
    solc = SolcBinary(solc_path, solc_version_of(solc_path), "solcjs")
    names = [f"{EAS_DIR}/EAS.sol", f"{EAS_DIR}/SchemaRegistry.sol"]
    settings = compiler_settings().standard_json()
    settings["remappings"] = ["@openzeppelin/contracts/=node_modules/@openzeppelin/contracts-530/"]
    cache_key = Web3.keccak(text=json.dumps([solc.version, settings, *[(root / n).read_text() for n in names]])).hex()
    cache = root / ".state" / "bench" / f"eas-{cache_key[:16]}.json"
    if cache.exists():
        return dict(json.loads(cache.read_text()))
    output = compile_standard_json(names, settings=settings, solc=solc)
    contracts = {}
    for path, name in zip(names, ("EAS", "SchemaRegistry"), strict=True):
        compiled = output["contracts"][path][name]
        contracts[name] = {"abi": compiled["abi"], "bytecode": "0x" + compiled["evm"]["bytecode"]["object"]}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(contracts))
    return contracts


def eas_gas(w3: Web3, account: LocalAccount, *, samples: int = 5, multi: int = 100) -> dict[str, float]:
    """Gas of EAS ``attest()`` with a 96-byte payload (median of ``samples``), and per record in a ``multiAttest``."""
    contracts = eas_contracts()
    registry_address = deploy(w3, account, contracts["SchemaRegistry"]["abi"], contracts["SchemaRegistry"]["bytecode"])
    eas_address = deploy(w3, account, contracts["EAS"]["abi"], contracts["EAS"]["bytecode"], registry_address)
    registry = w3.eth.contract(address=registry_address, abi=contracts["SchemaRegistry"]["abi"])
    eas = w3.eth.contract(address=eas_address, abi=contracts["EAS"]["abi"])
    zero = "0x" + "00" * 20
    register = registry.functions.register(EAS_SCHEMA, zero, True)
    send_and_wait(w3, account, register.build_transaction({"from": account.address}))
    uid = Web3.solidity_keccak(["string", "address", "bool"], [EAS_SCHEMA, zero, True])  # SchemaRegistry's uid

    def request(index: int) -> tuple[Any, ...]:
        subject, digest = Web3.keccak(text=f"subject-{index}"), Web3.keccak(text=f"digest-{index}")
        payload = encode(["bytes32", "bytes32", "bytes32"], [subject, digest, b"\0" * 32])
        return (zero, 0, True, b"\0" * 32, payload, 0)  # recipient, expiry, revocable, refUID, data, value

    singles, dense = [], []
    for index in range(samples):
        tx = eas.functions.attest((uid, request(index))).build_transaction({"from": account.address})
        singles.append(send_and_wait(w3, account, tx)["gasUsed"])
        # TOOLCHAIN.md's 249.8k figure: 96 payload bytes with no zero word (our ref=0 makes EAS store less).
        payload = b"".join(Web3.keccak(text=f"dense-{index}-{word}") for word in range(3))
        tx = eas.functions.attest((uid, (zero, 0, True, b"\0" * 32, payload, 0))).build_transaction(
            {"from": account.address}
        )
        dense.append(send_and_wait(w3, account, tx)["gasUsed"])
    batch = [request(samples + i) for i in range(multi)]
    tx = eas.functions.multiAttest([(uid, batch)]).build_transaction({"from": account.address})
    multi_gas = send_and_wait(w3, account, tx)["gasUsed"]
    return {
        "eas_single_gas": float(statistics.median(singles)),
        "eas_single_gas_dense_payload": float(statistics.median(dense)),
        "eas_multi_gas_per_record": multi_gas / multi,
    }


def ours_gas(
    w3: Web3, governor: LocalAccount, dealer: LocalAccount, *, samples: int = 5, batch: int = 1000
) -> dict[str, float]:
    """Gas of our suite on the same kind of node: a single attestation (median of ``samples`` by a member that has
    attested before), the member's first one, one with a reference, and a Merkle batch per record."""
    _membership, registry, _address, kind = _bench_suite(w3, governor, dealer)

    def attest(index: int, ref: bytes = b"\0" * 32) -> int:
        call = registry.functions.attest(
            Web3.keccak(text=f"subject-{index}"), kind, Web3.keccak(text=f"digest-{index}"), ref, 0
        )
        return int(send_and_wait(w3, dealer, call.build_transaction({"from": dealer.address}))["gasUsed"])

    first = attest(0)
    singles = [attest(i) for i in range(1, samples + 1)]
    with_ref = attest(samples + 1, ref=Web3.keccak(text="digest-1"))
    leaves = [batch_leaf(1, Web3.keccak(text=f"s-{i}"), Web3.keccak(text=f"d-{i}")) for i in range(batch)]
    root = MerkleTree(leaves).root
    anchor = registry.functions.anchorBatch(kind, root, batch, Web3.keccak(text="uri"))
    batch_gas = int(send_and_wait(w3, dealer, anchor.build_transaction({"from": dealer.address}))["gasUsed"])
    return {
        "ours_single_gas": float(statistics.median(singles)),
        "ours_first_attest_gas": float(first),
        "ours_attest_with_ref_gas": float(with_ref),
        "ours_batch_gas_per_record": batch_gas / batch,
    }


def gas_report(*, backend: str = "anvil") -> dict[str, float]:
    """Both suites on one fresh local node; the figures ``consortium bench gas --json`` prints."""
    with LocalChain(backend=backend, port=free_port()) as node:  # type: ignore[arg-type]
        w3 = connect(node.url)
        governor, dealer, eas_user = (Account.from_key(node.accounts[i].private_key) for i in range(3))
        report = {**ours_gas(w3, governor, dealer), **eas_gas(w3, eas_user)}
    report["ratio_single"] = round(report["ours_single_gas"] / report["eas_single_gas"], 4)
    report["ratio_single_dense_payload"] = round(report["ours_single_gas"] / report["eas_single_gas_dense_payload"], 4)
    report["ratio_batch_vs_multi"] = round(report["ours_batch_gas_per_record"] / report["eas_multi_gas_per_record"], 6)
    return report


def _bench_suite(w3: Web3, governor: LocalAccount, dealer: LocalAccount) -> tuple[Any, Any, Any, int]:
    """Membership and registry deployed, ``dealer`` admitted and one kind registered (for throughput runs)."""
    params = SuiteParameters(governors=[governor.address])
    membership_artifact, registry_artifact = load_artifact("Membership"), load_artifact("EvidenceRegistry")
    membership_address = deploy(w3, governor, membership_artifact.abi, membership_artifact.bytecode,
                                [governor.address], params.quorum_bps, params.voting_period, params.execution_delay,
                                params.grace_period)  # fmt: skip
    registry_address = deploy(w3, governor, registry_artifact.abi, registry_artifact.bytecode, membership_address,
                              params.corroboration_bonus, params.slash_multiplier, params.disputer_reward)  # fmt: skip
    membership = w3.eth.contract(address=membership_address, abi=membership_artifact.abi)
    registry = w3.eth.contract(address=registry_address, abi=registry_artifact.abi)
    kind = 1
    pass_proposal(
        w3,
        membership,
        governors=[governor],
        targets=[membership_address, registry_address],
        calldatas=[
            membership.functions.admitMember(
                [dealer.address], int(Role.DEALER), Web3.keccak(text="dealer")
            )._encode_transaction_data(),
            registry.functions.registerKind(
                kind, Web3.keccak(text="schema"), int(Role.DEALER), 10, 0
            )._encode_transaction_data(),
        ],
        description="benchmark: admit a dealer, register a kind",
    )
    return membership, registry, registry_address, kind


def throughput_report(*, sequential: int = 20, pipelined: int = 1000, batch_records: int = 20_000,
                      block_time: float = 1.0) -> dict[str, float]:  # fmt: skip
    """Writes per second on a fresh Anvil node: send-wait-send, the outbox pipeline, Merkle batches, and the indexer
    reading them back. ``block_time`` seconds between blocks, as on a real consortium chain (0: a block per
    transaction, Anvil's automine, which flatters send-wait-send)."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-") as tmp,
        LocalChain(port=free_port(), block_time=block_time or None) as node,
    ):
        w3 = connect(node.url)
        chain_id = w3.eth.chain_id
        governor, dealer = (Account.from_key(node.accounts[i].private_key) for i in range(2))
        membership, registry, registry_address, kind = _bench_suite(w3, governor, dealer)

        def attest_call(label: str) -> Any:
            return registry.functions.attest(
                Web3.keccak(text=f"s-{label}"), kind, Web3.keccak(text=f"d-{label}"), b"\0" * 32, 0
            )

        started = time.perf_counter()
        for i in range(sequential):
            send_and_wait(
                w3, dealer, attest_call(f"seq-{i}").build_transaction({"from": dealer.address, "gas": 200_000})
            )
        sequential_rate = sequential / (time.perf_counter() - started)

        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        create_schema(engine)
        outbox = Outbox(engine)
        worker = TxWorker(outbox, ChainConnection([node.url], expected_chain_id=chain_id), [dealer],
                          TxPolicy(max_in_flight=pipelined, batch_size=500))  # fmt: skip
        started = time.perf_counter()
        keys = []
        for i in range(pipelined):
            data = attest_call(f"pipe-{i}")._encode_transaction_data()
            keys.append(f"bench/{i}")
            outbox.submit(key=keys[-1], chain_id=chain_id, sender=dealer.address, to=registry_address, data=data,
                          gas_limit=200_000)  # fmt: skip
        worker.drain(timeout=600)
        rows = outbox.wait_all(keys, timeout=60)
        pipelined_rate = pipelined / (time.perf_counter() - started)
        if any(r.status != "confirmed" for r in rows):
            raise RuntimeError("a benchmark write did not confirm")

        started = time.perf_counter()
        batch_id = int(registry.functions.batchCount().call()) + 1
        records = [(Web3.keccak(text=f"bs-{i}"), Web3.keccak(text=f"bd-{i}")) for i in range(batch_records)]
        tree = MerkleTree([batch_leaf(batch_id, s, d) for s, d in records])
        anchor = registry.functions.anchorBatch(kind, tree.root, batch_records, Web3.keccak(text="uri"))
        send_and_wait(w3, dealer, anchor.build_transaction({"from": dealer.address}))
        batch_rate = batch_records / (time.perf_counter() - started)
        if not registry.functions.verifyBatchRecord(batch_id, *records[7], tree.proof(7)).call():
            raise RuntimeError("a benchmark batch record does not verify on chain")

        indexer = EventIndexer(engine, ChainConnection([node.url]),
                               [WatchedContract("Membership", membership.address, list(membership.abi)),
                                WatchedContract("EvidenceRegistry", registry_address, list(registry.abi))],
                               all_projections())  # fmt: skip
        started = time.perf_counter()
        events = indexer.sync()
        indexer_rate = events / (time.perf_counter() - started)
    return {
        "sequential_tx_per_s": round(sequential_rate, 2),
        "pipelined_tx_per_s": round(pipelined_rate, 2),
        "pipelined_over_sequential": round(pipelined_rate / sequential_rate, 2),
        "batch_records_per_s": round(batch_rate, 1),
        "indexer_events_per_s": round(indexer_rate, 1),
        "indexer_events": float(events),
        "block_time_s": block_time,
    }
