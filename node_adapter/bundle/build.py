"""Building proof bundles from the SQL read model: :func:`build_bundle` (a vehicle) and :func:`build_receipt_bundle`.

A vehicle's bundle holds every record, loan, case and report the read model holds about its subject, each record's
status checked against the registry's ``isValid``, and the batch records the caller knows of
(:class:`BatchRecordRef`); a document's receipts bundle holds its access receipts (:class:`ReceiptRef`) and every
batch of receipts anchored up to the bundle's block with all their leaves. A read model that lags the chain, or a
proof that does not lead to its batch root, raises :class:`BundleError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select

from node_adapter.bundle.format import (
    VALID_STATUSES,
    AttestationFact,
    AttestationStatus,
    BatchRecordFact,
    BundleContracts,
    CaseFact,
    CaseTransitionFact,
    Hex32,
    LoanFact,
    ProofBundle,
    ReceiptBatchFact,
    ReceiptFact,
    ReportFact,
    attestation_status,
    leaf_pairs,
    proves,
    to_hex,
)
from node_adapter.clients.suite import Suite
from node_adapter.exceptions import BundleError
from node_adapter.indexer import IndexerCheckpoint
from node_adapter.merkle import MerkleTree
from node_adapter.readmodel import (
    AttestationView,
    BatchView,
    CaseTransitionView,
    CaseView,
    DisputeView,
    LoanView,
    ReportView,
)


class BatchRecordRef(BaseModel):
    """A record of a Merkle batch about the bundle's subject: its batch, digest and proof (the caller knows them)."""

    model_config = ConfigDict(frozen=True)

    batch_id: int
    digest: Hex32
    proof: list[Hex32]


def _about(suite: Suite, subject: str, block: int) -> dict[str, Any]:
    """What every bundle says first: the chain, its contracts, the subject, when and as of which block."""
    contracts = BundleContracts(
        membership=suite.membership.address,
        evidence_registry=suite.registry.address,
        collateral_manager=suite.collateral.address,
    )
    return {
        "chain_id": suite.registry.chain_id,
        "contracts": contracts,
        "subject": subject,
        "generated_at": datetime.now(UTC),
        "generated_at_block": block,
    }


def _head_of_read_model(session: Session, suite: Suite) -> int:
    """The last block both the chain and the read model have: the block the bundle describes."""
    head = suite.registry.connection.call(lambda w3: w3.eth.block_number)
    indexed = session.exec(
        select(IndexerCheckpoint.block_number).where(IndexerCheckpoint.chain_id == suite.registry.chain_id)
    ).all()
    return min(head, max(indexed)) if indexed else head


def _attestation_facts(session: Session, suite: Suite, subject: str, block_time: int) -> list[AttestationFact]:
    rows = session.exec(
        select(AttestationView)
        .where(AttestationView.subject == subject)
        .order_by(col(AttestationView.block_number), col(AttestationView.uid))
    ).all()
    statuses: dict[str, AttestationStatus] = {}

    def status_of(uid: str) -> AttestationStatus:
        if uid not in statuses:
            row = session.get(AttestationView, uid)
            if row is None:
                raise BundleError(f"record {uid} is referred to but not in the read model: index the chain first")
            open_dispute = session.exec(
                select(DisputeView.dispute_id).where(DisputeView.uid == uid, DisputeView.state == "open")
            ).first()
            statuses[uid] = attestation_status(
                invalidated=row.invalidated,
                revoked=row.revoked_at is not None,
                expired=row.expiry != 0 and row.expiry <= block_time,
                reference_valid=row.ref is None or status_of(row.ref) in VALID_STATUSES,
                disputed=open_dispute is not None,
            )
        return statuses[uid]

    facts = []
    for row in rows:
        status = status_of(row.uid)
        if (status in VALID_STATUSES) != suite.registry.is_valid(row.uid):
            raise BundleError(
                f"the read model says record {row.uid} is {status}, the registry's isValid does not agree: "
                "index the chain (consortium index) and build again"
            )
        same_names = row.model_dump(include=set(AttestationFact.model_fields))
        facts.append(AttestationFact.model_validate({**same_names, "attested_at": row.block_time, "status": status}))
    return facts


def _batch_facts(session: Session, subject: str, refs: Sequence[BatchRecordRef]) -> list[BatchRecordFact]:
    facts = []
    for ref in refs:
        batch = session.get(BatchView, ref.batch_id)
        if batch is None:
            raise BundleError(f"batch {ref.batch_id} is not in the read model: index the chain first")
        if not proves(ref.proof, batch.root, ref.batch_id, subject, ref.digest):
            raise BundleError(f"the proof of record {ref.digest} does not lead to the root of batch {ref.batch_id}")
        facts.append(
            BatchRecordFact(
                batch_id=ref.batch_id,
                kind=batch.kind,
                subject=subject,
                digest=ref.digest,
                proof=ref.proof,
                attester=batch.attester,
                block_number=batch.block_number,
                tx_hash=batch.tx_hash,
                status="revoked" if batch.revoked_at is not None else "valid",
            )
        )
    return facts


def build_bundle(
    *, session: Session, suite: Suite, subject: bytes | str, batch_records: Sequence[BatchRecordRef] = ()
) -> ProofBundle:
    """The bundle of every fact the read model holds about ``subject``, with the batch records given.

    Records, loans (with their cases and reports) come from the read model; each record's status is computed from it
    and checked against the registry's ``isValid`` (a disagreement means the read model lags: :class:`BundleError`).
    ``batch_records`` are the batch records about the subject the caller knows of (the oracle or the portal keeps
    which off-chain record is in which batch); each proof is checked against its batch's root.
    """
    subject_hex = to_hex(subject)
    block = _head_of_read_model(session, suite)
    block_time = int(suite.registry.connection.call(lambda w3: w3.eth.get_block(block)["timestamp"]))
    loans = session.exec(select(LoanView).where(LoanView.subject == subject_hex).order_by(col(LoanView.loan_id))).all()
    loan_ids = [loan.loan_id for loan in loans]
    cases = session.exec(
        select(CaseView).where(col(CaseView.loan_id).in_(loan_ids)).order_by(col(CaseView.case_id))
    ).all()
    reports = session.exec(
        select(ReportView).where(ReportView.subject == subject_hex).order_by(col(ReportView.id))
    ).all()

    def transitions(case_id: int) -> list[CaseTransitionFact]:
        rows = session.exec(
            select(CaseTransitionView).where(CaseTransitionView.case_id == case_id).order_by(col(CaseTransitionView.id))
        ).all()
        return [
            CaseTransitionFact.model_validate(t.model_dump(include=set(CaseTransitionFact.model_fields))) for t in rows
        ]

    return ProofBundle(
        **_about(suite, subject_hex, block),
        attestations=_attestation_facts(session, suite, subject_hex, block_time),
        batch_records=_batch_facts(session, subject_hex, batch_records),
        loans=[LoanFact.model_validate(loan.model_dump(include=set(LoanFact.model_fields))) for loan in loans],
        cases=[
            CaseFact(
                case_id=case.case_id, loan_id=case.loan_id, state=case.state, transitions=transitions(case.case_id)
            )
            for case in cases
        ],
        reports=[
            ReportFact(
                loan_id=r.loan_id,
                report=r.report,
                reporter_member_id=r.reporter_member_id,
                detail=json.loads(r.detail),
                evidence_digest=r.evidence_digest,
                block_number=r.block_number,
                tx_hash=r.tx_hash,
            )
            for r in reports
        ],
    )


class ReceiptRef(BaseModel):
    """An access receipt the caller logged and anchored: the salted receipt, its digest, its batch and proof."""

    model_config = ConfigDict(frozen=True)

    receipt: dict[str, Any]
    digest: Hex32
    batch_id: int
    proof: list[Hex32]


def build_receipt_bundle(
    *,
    session: Session,
    suite: Suite,
    subject: bytes | str,
    receipt_kind: int,
    receipts: Sequence[ReceiptRef],
    leaves: Mapping[int, Sequence[tuple[str, str]]],
) -> ProofBundle:
    """The receipts bundle of one document (``subject``: its digest): the receipts about it with their proofs, and
    every batch of ``receipt_kind`` the read model holds up to the bundle's block (not revoked), each with all its
    leaves from ``leaves`` (batch id -> ``(document digest, receipt digest)`` in order; the caller keeps them).

    :class:`BundleError` when a batch's leaves are unknown or do not make its root, or a proof does not lead to it.
    """
    subject_hex = to_hex(subject)
    block = _head_of_read_model(session, suite)
    batches = session.exec(
        select(BatchView)
        .where(BatchView.kind == receipt_kind, BatchView.block_number <= block, col(BatchView.revoked_at).is_(None))
        .order_by(col(BatchView.batch_id))
    ).all()
    batch_facts = []
    for batch in batches:
        batch_leaves = leaves.get(batch.batch_id)
        if batch_leaves is None:
            raise BundleError(f"the leaves of receipt batch {batch.batch_id} (by {batch.attester}) are not known here")
        if to_hex(MerkleTree.of_records(batch.batch_id, leaf_pairs(batch_leaves)).root) != batch.root.lower():
            raise BundleError(f"the leaves kept for receipt batch {batch.batch_id} do not make its root")
        same = batch.model_dump(include=set(ReceiptBatchFact.model_fields))
        batch_facts.append(ReceiptBatchFact.model_validate({**same, "leaves": batch_leaves}))
    receipt_facts = []
    for ref in receipts:
        anchored = session.get(BatchView, ref.batch_id)
        if anchored is None or anchored.block_number > block:
            continue  # anchored after the read model's block: a later bundle shows it
        if not proves(ref.proof, anchored.root, ref.batch_id, subject_hex, ref.digest):
            raise BundleError(f"the proof of receipt {ref.digest} does not lead to the root of batch {ref.batch_id}")
        same = anchored.model_dump(include={"kind", "attester", "block_number", "tx_hash"})
        status = "revoked" if anchored.revoked_at is not None else "valid"
        receipt_facts.append(ReceiptFact.model_validate({**ref.model_dump(), **same, "status": status}))
    return ProofBundle(
        **_about(suite, subject_hex, block),
        receipts=receipt_facts,
        receipt_batches=batch_facts,
        receipt_kind=receipt_kind,
    )
