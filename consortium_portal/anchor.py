"""Anchoring access receipts on chain in Merkle batches, and the receipts bundle that proves them offline.

A background job of the portal (``PortalContext.start_background``) gathers the receipts not yet in a batch, in the
order they were logged, builds the Merkle tree of their leaves ``(batch, document digest, receipt digest)``
(``node_adapter.merkle``, as the registry computes them) for the batch id the registry will give next, and sends
``anchorBatch(RECEIPT_KIND, root, count, uriDigest)`` through the outbox from the portal's account. ``uriDigest`` is
the keccak of the canonical JSON of the batch's leaf list. One batch is in flight at a time; a batch that lands
under another id than it was built for (another writer anchored first) is revoked and its receipts batched again,
as the oracle does. The registry lets only members holding one of the kind's roles anchor it: the portal's account
must be a governor's (``RECEIPT_KIND_ROLES``); until it is, receipts wait and ``receipt_status`` says why.

A receipts bundle (``node_adapter.bundle``) about one document holds its receipts with their Merkle proofs and every
batch of receipts with all its leaves, so ``consortium verify-bundle`` checks offline both that each receipt is on
chain and that no other receipt about the document was anchored by the bundle's block.
"""

from __future__ import annotations

import json
import logging
import threading

from eth_utils.crypto import keccak
from pydantic import BaseModel
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from consortium_portal.auth import Principal
from consortium_portal.errors import NotFoundError
from consortium_portal.models import (
    AccessReceipt,
    PortalDocument,
    PortalFile,
    ReceiptBatch,
    ReceiptInBatch,
    WriteEvidence,
)
from node_adapter.anchoring import BatchAnchorer
from node_adapter.bundle import ProofBundle, ReceiptRef, build_receipt_bundle
from node_adapter.clients import AnchorState, RevokeReason, Role, Suite
from node_adapter.encoding import canonical_json
from node_adapter.merkle import MerkleTree, batch_leaf
from node_adapter.outbox import Outbox

logger = logging.getLogger(__name__)

RECEIPT_KIND = 101
LEAF = "batchLeaf(batchId, document digest, keccak256(canonical JSON of the salted receipt))"
"""The attestation kind of access-receipt batches (the portal's records are 1-99, the oracle's batches 201-206)."""
RECEIPT_KIND_ROLES = Role.GOVERNOR
"""Who may anchor receipt batches: the portal's account must be a governor member's."""
RECEIPT_KIND_WEIGHT = 0
"""Anchoring receipts earns no credit points."""
RECEIPT_SCHEMA_DIGEST = "0x" + keccak(canonical_json({"format": "access-receipt/1", "leaf": LEAF})).hex()
"""The receipt kind's ``schemaDigest``: what a receipt is and how its leaf is made."""
MISNUMBERED_REASON = RevokeReason.ERROR


BatchState = AnchorState


class ReceiptStatus(BaseModel):
    """How far anchoring got."""

    receipts: int
    anchored: int
    waiting: int
    batches: int
    pending_batch: int | None
    problem: str | None


def leaves_of(session: Session, batch_row_id: int) -> list[tuple[str, str]]:
    """A batch's leaves, ``(document digest, receipt digest)``, in the order the receipts were logged."""
    rows = session.exec(
        select(AccessReceipt.document_digest, AccessReceipt.digest)
        .join(ReceiptInBatch, col(ReceiptInBatch.receipt_id) == col(AccessReceipt.id))
        .where(ReceiptInBatch.batch_row_id == batch_row_id)
        .order_by(col(AccessReceipt.id))
    ).all()
    return [(document, digest) for document, digest in rows]


def _leaf(document: str, digest: str) -> tuple[bytes, bytes]:
    return bytes.fromhex(document[2:]), bytes.fromhex(digest[2:])


def _tree(batch_id: int, leaves: list[tuple[str, str]]) -> MerkleTree:
    return MerkleTree.of_records(batch_id, [_leaf(document, digest) for document, digest in leaves])


class ReceiptAnchorer(BatchAnchorer[ReceiptBatch, int]):
    """Puts the receipts in Merkle batches on chain (see the module doc; the loop is node_adapter's); ``run_once`` is
    one pass."""

    key_prefix = "portal:receipts"
    revoke_key_prefix = "portal:receipts-revoke:"
    revoke_reason = MISNUMBERED_REASON
    label = "access receipts"

    def __init__(self, *, engine: Engine, suite: Suite, outbox: Outbox, sender: str, batch_size: int) -> None:
        super().__init__(engine=engine, suite=suite, outbox=outbox, batch_size=batch_size)
        self.sender = sender

    @property
    def problem(self) -> str | None:
        """Why receipts could not be anchored at the last pass (None: they could)."""
        return self.problems.get(RECEIPT_KIND)

    def cannot_anchor(self, kind: int = RECEIPT_KIND) -> str | None:
        """Why the portal's account cannot anchor receipt batches now (None: it can)."""
        view = self.suite.registry.get_kind(kind)
        if not view.kind.exists or not view.kind.active:
            return f"kind {kind} (access receipts) is not registered and active on chain"
        roles = self.suite.membership.authorize(self.sender).roles
        if not roles & view.kind.roles:
            return (
                f"the portal's account {self.sender} holds none of the roles that may anchor kind {kind} "
                f"({', '.join(view.kind.role_names)})"
            )
        return None

    # ------------------------------------------------------------------ the loop's hooks

    def kinds(self) -> tuple[int]:
        return (RECEIPT_KIND,)

    def kind_of(self, batch: ReceiptBatch) -> int:
        return RECEIPT_KIND

    def sender_of(self, kind: int) -> str:
        return self.sender

    def pending(self, session: Session, kind: int) -> ReceiptBatch | None:
        return session.exec(
            select(ReceiptBatch).where(ReceiptBatch.status == BatchState.PENDING).order_by(col(ReceiptBatch.id))
        ).first()

    def waiting(self, session: Session, kind: int, limit: int) -> list[tuple[int, tuple[bytes, bytes]]]:
        receipts = session.exec(
            select(AccessReceipt.id, AccessReceipt.document_digest, AccessReceipt.digest)
            .outerjoin(ReceiptInBatch, col(ReceiptInBatch.receipt_id) == col(AccessReceipt.id))
            .where(col(ReceiptInBatch.receipt_id).is_(None))
            .order_by(col(AccessReceipt.id))
            .limit(limit)
        ).all()
        return [(receipt_id, _leaf(document, digest)) for receipt_id, document, digest in receipts if receipt_id]

    def new_row(self, kind: int, *, expected_batch_id: int, root: str, count: int) -> ReceiptBatch:
        return ReceiptBatch(expected_batch_id=expected_batch_id, root=root, count=count, key="")

    def assign(self, session: Session, batch_row_id: int, records: list[int]) -> None:
        for receipt_id in records:
            session.add(ReceiptInBatch(receipt_id=receipt_id, batch_row_id=batch_row_id))

    def release(self, session: Session, batch_row_id: int) -> None:
        session.exec(delete(ReceiptInBatch).where(col(ReceiptInBatch.batch_row_id) == batch_row_id))

    def uri_digest(self, session: Session, batch: ReceiptBatch) -> bytes:
        assert batch.id is not None
        return keccak(canonical_json([list(leaf) for leaf in leaves_of(session, batch.id)]))


def run_in_background(anchorer: ReceiptAnchorer, stop: threading.Event, interval: float) -> threading.Thread:
    """Anchor receipts every ``interval`` seconds until ``stop`` is set (a failed pass is logged, and retried)."""

    def loop() -> None:
        while not stop.wait(interval):
            try:
                while anchorer.run_once():
                    pass
            except Exception:  # a chain or database hiccup must not end anchoring: log it, try next time
                logger.exception("anchoring access receipts failed; retrying")

    thread = threading.Thread(target=loop, name="portal-receipts", daemon=True)
    thread.start()
    return thread


def anchored_batches(engine: Engine, receipt_ids: list[int]) -> dict[int, int]:
    """The chain batch id of each of ``receipt_ids`` that is in a confirmed batch."""
    if not receipt_ids:
        return {}
    with Session(engine) as session:
        return _anchored_in(session, receipt_ids)


def _anchored_in(session: Session, receipt_ids: list[int]) -> dict[int, int]:
    rows = session.exec(
        select(ReceiptInBatch.receipt_id, ReceiptBatch.chain_batch_id)
        .join(ReceiptBatch, col(ReceiptBatch.id) == col(ReceiptInBatch.batch_row_id))
        .where(col(ReceiptInBatch.receipt_id).in_(receipt_ids), ReceiptBatch.status == BatchState.CONFIRMED)
    ).all()
    return {receipt_id: batch_id for receipt_id, batch_id in rows if batch_id is not None}


def receipt_status(engine: Engine, anchorer: ReceiptAnchorer | None = None) -> ReceiptStatus:
    """How many receipts there are, how many are anchored, and what holds the rest back."""
    with Session(engine) as session:
        total = len(session.exec(select(AccessReceipt.id)).all())
        confirmed = session.exec(
            select(ReceiptBatch.id, ReceiptBatch.count).where(ReceiptBatch.status == BatchState.CONFIRMED)
        ).all()
        pending = session.exec(
            select(ReceiptBatch.id).where(ReceiptBatch.status == BatchState.PENDING).order_by(col(ReceiptBatch.id))
        ).first()
    anchored = sum(count for _id, count in confirmed)
    return ReceiptStatus(
        receipts=total,
        anchored=anchored,
        waiting=total - anchored,
        batches=len(confirmed),
        pending_batch=pending,
        problem=anchorer.cannot_anchor() if anchorer is not None else None,
    )


def _owner(session: Session, digest: str) -> int | None:
    """The member a document the portal keeps belongs to (for a document no one read yet)."""
    document = session.exec(select(PortalDocument.member_id).where(PortalDocument.digest == digest)).first()
    if document is not None:
        return document
    kept = session.get(PortalFile, digest) or session.get(WriteEvidence, digest)
    return kept.member_id if kept is not None else None


def receipt_bundle(*, engine: Engine, suite: Suite, principal: Principal, document: str) -> ProofBundle:
    """The receipts bundle of one of the caller's member's documents: every anchored receipt of a read of it (allowed
    or refused) with its proof, and every batch of receipts with its leaves (see the module doc)."""
    digest = document.lower()
    with Session(engine) as session:
        receipts = session.exec(
            select(AccessReceipt).where(AccessReceipt.document_digest == digest).order_by(col(AccessReceipt.id))
        ).all()
        owners = {r.owner_member_id for r in receipts} or {_owner(session, digest)}
        if owners != {principal.member_id}:
            raise NotFoundError("this member keeps no document with this digest in the portal")
        batches = session.exec(
            select(ReceiptBatch)
            .where(ReceiptBatch.status == BatchState.CONFIRMED)
            .order_by(col(ReceiptBatch.chain_batch_id))
        ).all()
        leaves: dict[int, list[tuple[str, str]]] = {}
        for batch in batches:
            assert batch.id is not None
            assert batch.chain_batch_id is not None
            leaves[batch.chain_batch_id] = leaves_of(session, batch.id)
        located = _anchored_in(session, [r.id for r in receipts if r.id is not None])
        refs = []
        for row in receipts:
            batch_id = located.get(row.id or 0)
            if batch_id is None:
                continue  # not anchored yet
            tree = _tree(batch_id, leaves[batch_id])
            leaf = batch_leaf(batch_id, bytes.fromhex(digest[2:]), bytes.fromhex(row.digest[2:]))
            refs.append(
                ReceiptRef(
                    receipt=json.loads(row.receipt),
                    digest=row.digest,
                    batch_id=batch_id,
                    proof=["0x" + p.hex() for p in tree.proof_for(leaf)],
                )
            )
        return build_receipt_bundle(
            session=session, suite=suite, subject=digest, receipt_kind=RECEIPT_KIND, receipts=refs, leaves=leaves
        )
