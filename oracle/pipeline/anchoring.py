"""Anchoring: the records that go in batches (telematics readings, alerts, valuations, and every record whose single
write was not needed) put into Merkle batches, one kind at a time, one batch in flight per kind.

A batch is built for the id the registry will give it (``batchCount() + 1``); one that lands under another id (another
member anchored in between) is revoked (``BATCH_REVOKE_REASON``) and its records are batched again. ``proof`` gives a
batched record's batch id and Merkle proof, which ``verifyBatchRecord`` checks on chain.

The loop itself is node_adapter's (:mod:`node_adapter.anchoring`, shared with the portal's access receipts): this module
says only what is the oracle's: which records wait for a batch of each kind, their leaves, which signer anchors each
kind, and what a batch's ``uriDigest`` commits to (the canonical JSON of its records' digests, in order).
"""

from __future__ import annotations

from typing import Any

from eth_utils.crypto import keccak
from sqlmodel import Session, col, select

from node_adapter.anchoring import BatchAnchorer
from node_adapter.clients import RevokeReason
from node_adapter.encoding import canonical_json
from node_adapter.merkle import MerkleTree, batch_leaf
from oracle.pipeline.context import OracleContext, first
from oracle.store import Anchor, AnchorBatch, BatchStatus, SourceRecord

KINDS: dict[str, int] = {"telematics": 201, "dmv": 202, "market": 203, "loans": 204}
"""Attestation kind of each source's batched records (registered by governance; see ``oracle.tools.devsetup``)."""
KIND_ROLES: dict[int, str] = {201: "telematics", 202: "dmv", 203: "price-1", 204: "bank"}
"""Which signer anchors each kind's batches."""
BATCH_REVOKE_REASON = RevokeReason.ERROR
"""Reason code of a batch revoked because it was anchored under an unexpected id (its records are batched again)."""


class Anchoring(BatchAnchorer[AnchorBatch, SourceRecord]):
    """The ``anchor`` job (node_adapter's anchoring loop over the oracle's records) and the proofs of its batches."""

    key_prefix = "oracle:batch"
    revoke_key_prefix = "oracle:revoke-batch:"
    revoke_reason = BATCH_REVOKE_REASON
    label = "oracle records"

    def __init__(self, context: OracleContext) -> None:
        super().__init__(
            engine=context.engine, suite=context.suite, outbox=context.outbox, batch_size=context.settings.batch_size
        )
        self.signers = context.signers

    def anchor(self) -> int:
        """Follow pending batches and start new ones; the number of records put in new batches."""
        return self.run_once()

    # ------------------------------------------------------------------ the loop's hooks

    def kinds(self) -> list[int]:
        return list(KIND_ROLES)

    def kind_of(self, batch: AnchorBatch) -> int:
        return batch.kind

    def sender_of(self, kind: int) -> str:
        return self.signers[KIND_ROLES[kind]].address

    def cannot_anchor(self, kind: int) -> str | None:
        role = KIND_ROLES[kind]
        return None if role in self.signers else f"the oracle holds no {role} signer"

    def pending(self, session: Session, kind: int) -> AnchorBatch | None:
        batch: AnchorBatch | None = first(
            session, select(AnchorBatch).where(AnchorBatch.kind == kind, AnchorBatch.status == BatchStatus.PENDING)
        )
        return batch

    def waiting(self, session: Session, kind: int, limit: int) -> list[tuple[SourceRecord, tuple[bytes, bytes]]]:
        records = session.exec(
            select(SourceRecord)
            .where(SourceRecord.anchor == Anchor.BATCH, col(SourceRecord.batch_row_id).is_(None))
            .where(_records_of_kind(kind))
            .order_by(col(SourceRecord.id))
            .limit(limit)
        ).all()
        return [(record, _leaf_pair(record)) for record in records]

    def new_row(self, kind: int, *, expected_batch_id: int, root: str, count: int) -> AnchorBatch:
        return AnchorBatch(kind=kind, expected_batch_id=expected_batch_id, root=root, count=count, key="")

    def assign(self, session: Session, batch_row_id: int, records: list[SourceRecord]) -> None:
        for record in records:
            record.batch_row_id = batch_row_id
            session.add(record)

    def release(self, session: Session, batch_row_id: int) -> None:
        for record in session.exec(select(SourceRecord).where(SourceRecord.batch_row_id == batch_row_id)).all():
            record.batch_row_id = None
            session.add(record)

    def uri_digest(self, session: Session, batch: AnchorBatch) -> bytes:
        digests = session.exec(
            select(SourceRecord.digest).where(SourceRecord.batch_row_id == batch.id).order_by(col(SourceRecord.id))
        ).all()
        return keccak(canonical_json(list(digests)))

    def proof(self, record: SourceRecord) -> tuple[int, list[str]]:
        """A batched record's batch id and Merkle proof (raises if it is not in a confirmed batch)."""
        with Session(self.engine) as session:
            batch = session.get(AnchorBatch, record.batch_row_id)
            if batch is None or batch.status != BatchStatus.CONFIRMED or batch.chain_batch_id is None:
                raise LookupError(f"record {record.id} is not in a confirmed batch")
            members = session.exec(
                select(SourceRecord).where(SourceRecord.batch_row_id == batch.id).order_by(col(SourceRecord.id))
            ).all()
        tree = MerkleTree.of_records(batch.chain_batch_id, [_leaf_pair(r) for r in members])
        leaf = batch_leaf(batch.chain_batch_id, *_leaf_pair(record))
        return batch.chain_batch_id, ["0x" + p.hex() for p in tree.proof_for(leaf)]


def _records_of_kind(kind: int) -> Any:
    sources = [s for s, k in KINDS.items() if k == kind]
    condition: Any = col(SourceRecord.source).in_(sources)
    if kind == KINDS["telematics"]:
        condition = condition | col(SourceRecord.type).startswith("alert.")
    if kind == KINDS["market"]:
        condition = condition | (SourceRecord.type == "valuation")
    return condition


def _leaf_pair(record: SourceRecord) -> tuple[bytes, bytes]:
    subject = bytes.fromhex(record.subject[2:]) if record.subject else keccak(f"oracle:{record.type}".encode())
    return subject, bytes.fromhex(record.digest[2:])
