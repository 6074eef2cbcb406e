"""Benchmarks that print figures: gas of our contracts side by side with the Ethereum Attestation Service.

Each benchmark starts a fresh local node of its own, so figures do not depend on what ran before. Gas is exact and
repeatable; run-time figures elsewhere are reported as ratios where the machine is noisy.
"""

from __future__ import annotations

import json
import logging
import statistics
from functools import lru_cache
from typing import Any

from eth_abi.abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node_adapter.artifacts import load_artifact
from node_adapter.build import compile_standard_json
from node_adapter.chainutil import deploy, send_and_wait
from node_adapter.connection import connect
from node_adapter.deploy import SuiteParameters
from node_adapter.devchain import pass_proposal
from node_adapter.localchain import LocalChain, free_port
from node_adapter.merkle import MerkleTree, batch_leaf
from node_adapter.toolchain import SolcBinary, compiler_settings, project_root, solc_version_of

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

    singles = []
    for index in range(samples):
        tx = eas.functions.attest((uid, request(index))).build_transaction({"from": account.address})
        singles.append(send_and_wait(w3, account, tx)["gasUsed"])
    batch = [request(samples + i) for i in range(multi)]
    tx = eas.functions.multiAttest([(uid, batch)]).build_transaction({"from": account.address})
    multi_gas = send_and_wait(w3, account, tx)["gasUsed"]
    return {"eas_single_gas": float(statistics.median(singles)), "eas_multi_gas_per_record": multi_gas / multi}


def ours_gas(
    w3: Web3, governor: LocalAccount, dealer: LocalAccount, *, samples: int = 5, batch: int = 1000
) -> dict[str, float]:
    """Gas of our suite on the same kind of node: a single attestation (median of ``samples`` by a member that has
    attested before), the member's first one, one with a reference, and a Merkle batch per record."""
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
                [dealer.address], Roles.DEALER, Web3.keccak(text="dealer")
            )._encode_transaction_data(),
            registry.functions.registerKind(
                kind, Web3.keccak(text="schema"), Roles.DEALER, 10, 0
            )._encode_transaction_data(),
        ],
        description="benchmark: admit a dealer, register a kind",
    )

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


class Roles:
    """Role bits, as in ``contracts/src/libraries/Roles.sol``."""

    DEALER = 1 << 0
    INSURER = 1 << 1
    REPAIR_SHOP = 1 << 2
    BANK = 1 << 3
    DISPOSAL_AGENCY = 1 << 4
    DMV_ORACLE = 1 << 5
    TELEMATICS_ORACLE = 1 << 6
    PRICE_ORACLE = 1 << 7
    GOVERNOR = 1 << 8


def gas_report(*, backend: str = "anvil") -> dict[str, float]:
    """Both suites on one fresh local node; the figures ``consortium bench gas --json`` prints."""
    with LocalChain(backend=backend, port=free_port()) as node:  # type: ignore[arg-type]
        w3 = connect(node.url)
        governor, dealer, eas_user = (Account.from_key(node.accounts[i].private_key) for i in range(3))
        report = {**ours_gas(w3, governor, dealer), **eas_gas(w3, eas_user)}
    report["ratio_single"] = round(report["ours_single_gas"] / report["eas_single_gas"], 4)
    report["ratio_batch_vs_multi"] = round(report["ours_batch_gas_per_record"] / report["eas_multi_gas_per_record"], 6)
    return report
