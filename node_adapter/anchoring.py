"""The one Merkle-batch anchoring loop: build a batch off chain, anchor its root through the outbox, settle it.

The portal anchors its access receipts this way and the oracle its telematics readings and other batched records; both
subclass :class:`BatchAnchorer` and say only what is theirs: which records wait, how a record makes its leaf, which
account sends, what the batch's ``uriDigest`` commits to.

One pass (:meth:`BatchAnchorer.run_once`):

1. **follow** the batch in flight of every kind: queue its write again if the process stopped between building and
   queueing it; once the write is final, settle it (``RegistryClient.settle_anchor``): confirmed under the id it was
   built for, or failed, or *misnumbered* (another writer anchored first, so its leaves, which commit to the expected
   id, prove nothing: the registry revokes it). A batch that did not confirm gives its records back for a later batch.
2. while a batch is in flight, start none: the registry numbers batches in order, and a batch's leaves commit to the
   id it expects, so only one of an anchorer's batches may wait for its number at a time.
3. otherwise **build** the next batch of the first kind that has records waiting and may be anchored now: the oldest
   ``batch_size`` records, the Merkle tree of their leaves ``(batch id, subject, digest)`` for the batch id the
   registry will give next (``node_adapter.merkle``, as the registry computes them), one row recording the batch and
   its records, committed before the write is queued under the idempotency key ``<key_prefix>:<row id>:<expected id>``
   (so a restart queues the same write, never a second batch).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar, Generic, TypeVar

from sqlalchemy import Text
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel

from node_adapter.clients.suite import Suite
from node_adapter.clients.types import AnchorState
from node_adapter.db import utcnow
from node_adapter.merkle import MerkleTree
from node_adapter.outbox import Outbox

logger = logging.getLogger(__name__)


class BatchRow(SQLModel):
    """The columns of every anchored batch's row (each anchorer's table adds its own and names itself)."""

    id: int | None = Field(default=None, primary_key=True)
    expected_batch_id: int
    """The batch id the registry was expected to give: the leaves commit to it."""
    chain_batch_id: int | None = None
    """The id the registry gave (known once the write confirmed)."""
    root: str = Field(max_length=66)
    count: int
    key: str = Field(max_length=200, unique=True)
    """The anchoring write's idempotency key in the outbox."""
    status: AnchorState = Field(default=AnchorState.PENDING, max_length=16)
    note: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)


Batch = TypeVar("Batch", bound=BatchRow)
Record = TypeVar("Record")
Leaf = tuple[bytes, bytes]
"""A record's leaf material: ``(subject, digest)``, 32 bytes each."""


class BatchAnchorer(ABC, Generic[Batch, Record]):
    """The loop of the module doc; a subclass says what is its own (the abstract methods) and names its keys."""

    key_prefix: ClassVar[str]
    """Idempotency keys of anchoring writes: ``<key_prefix>:<row id>:<expected batch id>``."""
    revoke_key_prefix: ClassVar[str]
    """Idempotency keys of the revocation of a misnumbered batch: ``<revoke_key_prefix><batch id>``."""
    revoke_reason: ClassVar[int]
    """The reason code a misnumbered batch is revoked with."""
    label: ClassVar[str] = "records"
    """What a log line calls the records this anchorer batches ("access receipts")."""

    def __init__(self, *, engine: Engine, suite: Suite, outbox: Outbox, batch_size: int) -> None:
        self.engine = engine
        self.suite = suite
        self.outbox = outbox
        self.batch_size = batch_size
        self.problems: dict[int, str | None] = {}
        """Why each kind could not be anchored at the last pass (None: it could)."""

    # ------------------------------------------------------------------ what a subclass says

    @abstractmethod
    def kinds(self) -> Sequence[int]:
        """The attestation kinds this anchorer batches, in the order a new batch is tried."""

    @abstractmethod
    def kind_of(self, batch: Batch) -> int:
        """The kind ``batch`` is anchored under."""

    @abstractmethod
    def sender_of(self, kind: int) -> str:
        """The account that anchors batches of ``kind``."""

    @abstractmethod
    def pending(self, session: Session, kind: int) -> Batch | None:
        """The batch of ``kind`` whose anchoring is in flight (the oldest, if several)."""

    @abstractmethod
    def waiting(self, session: Session, kind: int, limit: int) -> list[tuple[Record, Leaf]]:
        """Up to ``limit`` records of ``kind`` in no batch, oldest first, each with its leaf material."""

    @abstractmethod
    def new_row(self, kind: int, *, expected_batch_id: int, root: str, count: int) -> Batch:
        """A new (unsaved) row for a batch of ``kind``."""

    @abstractmethod
    def assign(self, session: Session, batch_row_id: int, records: list[Record]) -> None:
        """Record that ``records`` are in the batch of row ``batch_row_id``."""

    @abstractmethod
    def release(self, session: Session, batch_row_id: int) -> None:
        """Take the records out of the batch of row ``batch_row_id`` (it did not confirm): a later batch takes them."""

    @abstractmethod
    def uri_digest(self, session: Session, batch: Batch) -> bytes:
        """The batch's ``uriDigest``: the digest of what lists its leaves, so the list can be checked later."""

    def cannot_anchor(self, kind: int) -> str | None:
        """Why no batch of ``kind`` may be started now (None: it may)."""
        return None

    # ------------------------------------------------------------------ the loop

    def run_once(self) -> int:
        """One pass (see the module doc): the number of records put in a new batch."""
        in_flight = [kind for kind in self.kinds() if self._follow(kind)]  # every kind is followed
        if in_flight:
            return 0
        for kind in self.kinds():
            problem = self.cannot_anchor(kind)
            if problem is not None and problem != self.problems.get(kind):
                logger.warning("%s of kind %s wait: %s", self.label, kind, problem)
            self.problems[kind] = problem
            if problem is None and (batched := self._new_batch(kind)):
                return batched
        return 0

    def _new_batch(self, kind: int) -> int:
        with Session(self.engine, expire_on_commit=False) as session:
            waiting = self.waiting(session, kind, self.batch_size)
            if not waiting:
                return 0
            expected = self.suite.registry.batch_count() + 1
            tree = MerkleTree.of_records(expected, [leaf for _record, leaf in waiting])
            batch = self.new_row(kind, expected_batch_id=expected, root="0x" + tree.root.hex(), count=len(waiting))
            session.add(batch)
            session.flush()
            assert batch.id is not None
            batch.key = f"{self.key_prefix}:{batch.id}:{expected}"
            session.add(batch)
            self.assign(session, batch.id, [record for record, _leaf in waiting])
            session.commit()
        self._submit(batch)
        return len(waiting)

    def _submit(self, batch: Batch) -> None:
        kind = self.kind_of(batch)
        with Session(self.engine) as session:
            uri_digest = self.uri_digest(session, batch)
        self.suite.registry.anchor_batch(
            self.outbox,
            key=batch.key,
            sender=self.sender_of(kind),
            kind=kind,
            root=batch.root,
            count=batch.count,
            uri_digest=uri_digest,
        )

    def _follow(self, kind: int) -> bool:
        """Move the kind's batch in flight on; whether one still is."""
        with Session(self.engine, expire_on_commit=False) as session:
            batch = self.pending(session, kind)
        if batch is None:
            return False
        row = self.outbox.get(batch.key)
        if row is None:  # stopped between building the batch and queueing its write: queue it now
            self._submit(batch)
            return True
        outcome = self.suite.registry.settle_anchor(
            self.outbox,
            row,
            expected_batch_id=batch.expected_batch_id,
            revoke_key_prefix=self.revoke_key_prefix,
            reason=self.revoke_reason,
        )
        if outcome is None:
            return True
        self._close(batch, outcome.state, outcome.batch_id, outcome.note)
        return False

    def _close(self, batch: Batch, state: AnchorState, batch_id: int | None, note: str | None) -> None:
        assert batch.id is not None
        with Session(self.engine) as session:
            row = session.get(type(batch), batch.id)
            assert row is not None
            row.status, row.chain_batch_id, row.note = state, batch_id, note
            session.add(row)
            if state != AnchorState.CONFIRMED:  # its records go in a later batch
                self.release(session, batch.id)
                logger.warning(
                    "batch %s of kind %s (%s) %s: %s", batch.id, self.kind_of(batch), self.label, state, note
                )
            session.commit()
