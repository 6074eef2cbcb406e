"""Proof bundles: built from the read model after the main flow, checked against the chain, tampered with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlmodel import Session
from web3 import Web3
from web3.contract import Contract

from node_adapter.artifacts import load_artifact
from node_adapter.bundle import BatchRecordRef, BundleReport, ProofBundle, build_bundle, parse_bundle, verify_bundle
from node_adapter.clients import Suite
from node_adapter.connection import ChainConnection
from node_adapter.dev.chainutil import send_and_wait
from node_adapter.dev.localchain import LocalChain, free_port
from node_adapter.exceptions import BundleChainMismatchError, BundleFormatError, ChainUnavailableError
from node_adapter.merkle import MerkleTree
from node_adapter.runtime import Runtime
from node_adapter.settings import NodeAdapterSettings
from tests.contracts.test_main_flow import INSPECTION, SUBJECT, FlowResult, run_main_flow

CONSORTIUM = [sys.executable, "-m", "consortium.cli"]


@dataclass
class Built:
    """The main flow on chain, a Merkle batch with a record about the subject, and the subject's bundle."""

    flow: FlowResult
    bundle: ProofBundle
    registry: Contract


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


@pytest.fixture
def built(chain: LocalChain, w3: Web3, tmp_path: Path) -> Built:
    flow = run_main_flow(chain, w3, tmp_path)
    dealer = Account.from_key(chain.accounts[3].private_key)
    registry = w3.eth.contract(address=flow.deployment.address("EvidenceRegistry"),
                               abi=load_artifact("EvidenceRegistry").abi)  # fmt: skip
    batch_id = registry.functions.batchCount().call() + 1
    records = [(SUBJECT, Web3.keccak(text="batch record about the subject"))] + [
        (Web3.keccak(text=f"subject {i}"), Web3.keccak(text=f"batch record {i}")) for i in range(4)
    ]
    tree = MerkleTree.of_records(batch_id, records)
    anchor = registry.functions.anchorBatch(INSPECTION, tree.root, len(records), Web3.keccak(text="batch file"))
    send_and_wait(w3, dealer, anchor.build_transaction({"from": dealer.address}))

    runtime = Runtime.open(
        NodeAdapterSettings(rpc_urls=[chain.url], chain_id=chain.chain_id, state_dir=tmp_path, network="flow")
    )
    runtime.indexer().sync()
    suite = Suite.from_deployment(runtime.connection, flow.deployment)
    record = BatchRecordRef(batch_id=batch_id, digest=_hex(records[0][1]), proof=[_hex(p) for p in tree.proof(0)])
    with Session(runtime.engine) as session:
        bundle = build_bundle(session=session, suite=suite, subject=SUBJECT, batch_records=[record])
    return Built(flow=flow, bundle=bundle, registry=registry)


def _tampered(bundle: ProofBundle, change: Callable[[dict[str, Any]], None]) -> ProofBundle:
    data = bundle.model_dump(mode="json")
    change(data)
    return ProofBundle.model_validate(data)


def _outcomes(report: BundleReport) -> dict[str, tuple[str, str | None]]:
    return {check.fact: (check.outcome, check.reason) for check in report.checks}


def test_a_bundle_built_after_the_main_flow_verifies_entirely(built: Built, w3: Web3) -> None:
    bundle, flow = built.bundle, built.flow
    assert [a.uid for a in bundle.attestations] == [_hex(flow.inspection_uid)]
    assert bundle.attestations[0].status == "valid"
    assert len(bundle.batch_records) == 1
    assert [(loan.loan_id, loan.lien_status, loan.last_value) for loan in bundle.loans] == [
        (flow.loan_id, "released", "910000")
    ]
    assert [(case.case_id, case.state, len(case.transitions)) for case in bundle.cases] == [
        (flow.case_id, "settled", 6)
    ]
    assert [r.report for r in bundle.reports] == ["valuation", "valuation_median"]
    assert parse_bundle(bundle.model_dump_json()) == bundle
    assert json.loads(bundle.model_dump_json())["cases"][0]["transitions"][0]["from"] == "none"

    report = verify_bundle(bundle, w3)
    assert report.verdict == "confirmed", [c for c in report.checks if c.outcome != "confirmed"]
    kinds = [check.kind for check in report.checks]
    assert {kind: kinds.count(kind) for kind in set(kinds)} == {
        "chain": 1, "contract": 3, "attestation": 1, "batch_record": 1, "loan": 1, "case": 1, "case_transition": 6,
        "report": 2,
    }  # fmt: skip
    # a ChainConnection (with failover) gives the same answer as a bare Web3
    assert verify_bundle(bundle, ChainConnection([w3.provider.endpoint_uri])).verdict == "confirmed"  # type: ignore[attr-defined]


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """A change of the bundle's JSON at a dotted path (``attestations.0.uid``)."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[int(last) if isinstance(target, list) else last] = value

    return change


def _drop_transition(data: dict[str, Any]) -> None:
    del data["cases"][0]["transitions"][2]


def test_a_tampered_bundle_fails_with_a_reason_naming_the_fact(built: Built, w3: Web3) -> None:
    bundle = built.bundle
    uid = bundle.attestations[0].uid
    block, made = bundle.attestations[0].block_number, bundle.generated_at_block
    batch = bundle.batch_records[0]
    forged = _hex(Web3.keccak(text="forged"))
    stranger = Account.create().address
    record, case, loan = f"attestation {uid}", f"case {built.flow.case_id}", f"loan {built.flow.loan_id}"
    no_proof, no_step = "the Merkle proof does not lead to the root", "has no CaseStateChanged"
    cases: list[tuple[Callable[[dict[str, Any]], None], str, str]] = [
        (_set("attestations.0.uid", forged), f"attestation {forged}", f"the registry has no record {forged}"),
        (_set("attestations.0.attester", stranger), record, f"{bundle.attestations[0].attester}, not {stranger}"),
        (_set("attestations.0.block_number", block - 1), record, f"is in block {block}, not {block - 1}"),
        (_set("attestations.0.status", "revoked"), record, f"status was valid at block {made}, not revoked"),
        (_set("batch_records.0.digest", forged), f"batch record {forged}", no_proof),
        (_set("batch_records.0.proof.0", forged), f"batch record {batch.digest}", no_proof),
        (_set("loans.0.lien_status", "active"), loan, f"lien_status was released at block {made}, not active"),
        (_set("loans.0.principal", "1"), loan, "records principal 600000, not 1"),
        (_set("cases.0.transitions.1.evidence_digest", forged), f"{case} transition triggered -> repo", no_step),
        (_set("cases.0.transitions.1.to", "cured"), f"{case} transition triggered -> cured", no_step),
        (_set("cases.0.transitions.1.block_number", 1), f"{case} transition triggered", "not 1"),
        (_drop_transition, case, "leaves out its transition repossession_ordered -> repossessed"),
        (_set("reports.1.evidence_digest", forged), "report valuation_median of loan", "has no ValuationAggregated"),
        (_set("reports.0.detail.value", 990_000), "report valuation of loan", "has no ValuationReported"),
    ]  # fmt: skip
    for change, fact, reason in cases:
        report = verify_bundle(_tampered(bundle, change), w3)
        assert report.verdict == "failed", (fact, reason)
        failed = [check for check in report.checks if check.outcome == "failed"]
        named = [check for check in failed if check.fact.startswith(fact)]
        assert len(named) == 1, (fact, failed)
        assert reason in (named[0].reason or ""), (reason, named[0])
        # a changed transition also leaves the real one out of its case; nothing else fails
        assert {check.fact for check in failed} - {named[0].fact} <= {f"case {built.flow.case_id}"}, failed


def test_a_record_revoked_after_the_bundle_was_made_shows_as_changed(built: Built, chain: LocalChain, w3: Web3) -> None:
    dealer = Account.from_key(chain.accounts[3].private_key)
    revoke = built.registry.functions.revoke(built.flow.inspection_uid, 1, b"\0" * 32)
    send_and_wait(w3, dealer, revoke.build_transaction({"from": dealer.address}))

    report = verify_bundle(built.bundle, w3)
    assert report.verdict == "changed"
    changed = [check for check in report.checks if check.outcome != "confirmed"]
    assert len(changed) == 1
    assert changed[0].fact == f"attestation {_hex(built.flow.inspection_uid)}"
    assert changed[0].outcome == "changed"
    assert changed[0].changes["status"].model_dump() == {"then": "valid", "now": "revoked"}
    assert f"changed since block {built.bundle.generated_at_block}" in (changed[0].reason or "")

    # claiming the record was revoked before it was is a forgery, not a change
    claim = _tampered(built.bundle, _set("attestations.0.status", "revoked"))
    assert _outcomes(verify_bundle(claim, w3))[changed[0].fact][0] == "failed"


def test_a_bundle_for_another_chain_is_refused(built: Built, w3: Web3) -> None:
    other = built.bundle.model_copy(update={"chain_id": 5})
    with pytest.raises(BundleChainMismatchError, match="the bundle is about chain id 5, but the node at"):
        verify_bundle(other, w3)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250"}
    return subprocess.run([*CONSORTIUM, *args], capture_output=True, text=True, timeout=120, env=env, check=False)


def test_the_cli_confirms_a_good_bundle_and_fails_a_tampered_one(
    built: Built, chain: LocalChain, tmp_path: Path
) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(built.bundle.model_dump_json(indent=2))
    bad.write_text(_tampered(built.bundle, _set("loans.0.lien_status", "active")).model_dump_json())

    result = _run("verify-bundle", str(good), "--rpc", chain.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict: confirmed (16 confirmed, 0 changed, 0 failed)" in result.stdout
    assert f"attestation {_hex(built.flow.inspection_uid)}" in result.stdout

    result = _run("verify-bundle", str(bad), "--rpc", chain.url, "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] == "failed"
    failed = [check for check in report["checks"] if check["outcome"] == "failed"]
    assert [check["fact"] for check in failed] == [f"loan {built.flow.loan_id}"]

    result = _run("verify-bundle", str(bad), "--rpc", chain.url)
    assert result.returncode == 1
    assert "verdict: failed" in result.stdout
    assert "lien_status was released" in " ".join(result.stdout.split())


# ------------------------------------------------------------------------------------- malformed files (no chain)

MINIMAL = {
    "version": "vehicle-evidence-bundle/1",
    "chain_id": 31337,
    "contracts": {"membership": "0x" + "11" * 20, "evidence_registry": "0x" + "22" * 20,
                  "collateral_manager": "0x" + "33" * 20},
    "subject": "0x" + "ab" * 32,
    "generated_at": "2025-06-01T12:00:00Z",
    "generated_at_block": 10,
    "attestations": [{"uid": "0x" + "01" * 32, "kind": 1, "attester": "0x" + "44" * 20, "attested_at": 1,
                      "block_number": 3, "tx_hash": "0x" + "02" * 32, "status": "valid"}],
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("attestations.0.uid", "0x1234"), "attestations[0].uid: String should match pattern"),
        (_set("attestations.0.status", "fine"), "attestations[0].status: Input should be 'valid'"),
        (_set("contracts.membership", "0xnot-an-address"), "contracts.membership: Value error, must be an address"),
        (_set("version", "vehicle-evidence-bundle/2"), "version: must be 'vehicle-evidence-bundle/1'"),
        (_set("loans", [{"loan_id": 1}]), "loans[0].bank_member_id: Field required"),
        (_set("extra", 1), "extra: Extra inputs are not permitted"),
    ],
)
def test_a_malformed_bundle_names_the_field(change: Callable[[dict[str, Any]], None], message: str) -> None:
    data = json.loads(json.dumps(MINIMAL))
    change(data)
    with pytest.raises(BundleFormatError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_bundle(json.dumps(data))


def test_the_cli_says_what_is_wrong_with_a_file_and_exits_2(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    cases = {
        "missing.json": (None, "cannot read"),
        "not-json.json": ("{nope", "not JSON"),
        "bad-uid.json": (json.dumps({**MINIMAL, "subject": "0x12"}), "subject: String should match pattern"),
        "good.json": (json.dumps(MINIMAL), "no chain node answers"),
    }
    for name, (text, message) in cases.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        result = _run("verify-bundle", str(tmp_path / name), "--rpc", url)
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        assert message in " ".join(result.stderr.split()), (name, result.stderr)


def test_an_unreachable_node_is_an_error_not_a_verdict() -> None:
    bundle = ProofBundle.model_validate(MINIMAL)
    with pytest.raises(ChainUnavailableError, match="no chain node answers"):
        verify_bundle(bundle, ChainConnection([f"http://127.0.0.1:{free_port()}"], timeout=2))
