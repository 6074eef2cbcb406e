"""The oracle's tables: cursors, the off-chain document store, quarantine, chain actions, batches and feed state.

Everything the oracle knows is here, in the same database as node_adapter's outbox, so one transaction can read a
page of events, store their documents, queue the chain actions they call for and move the source's cursor: a crash
at any point leaves either all of it or none of it, and the next run reads the page again. A new table goes here and
into :func:`create_oracle_schema`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from node_adapter.anchoring import BatchRow
from node_adapter.clients import AnchorState
from node_adapter.db import create_tables, utcnow


class FeedCursor(SQLModel, table=True):
    """Where the oracle is in a source's feed: the provider's cursor after the last page it committed."""

    __tablename__ = "oracle_cursor"

    source: str = Field(primary_key=True, max_length=20)
    cursor: str = Field(default="", max_length=200)
    source_time: datetime | None = None
    """The newest record time the source has reported (the source's clock as the oracle sees it)."""
    updated_at: datetime = Field(default_factory=utcnow)


class RecordStatus(StrEnum):
    ACCEPTED = "accepted"
    LATE = "late"
    """Accepted as evidence, but older than a record already applied for the same vehicle and type: not acted on."""


class Anchor(StrEnum):
    SINGLE = "single"
    """Goes on chain by itself (a contract report or a single attestation)."""
    BATCH = "batch"
    """Goes on chain in a Merkle batch."""


class SourceRecord(SQLModel, table=True):
    """The document store: one accepted record, as the canonical salted document whose digest goes on chain."""

    __tablename__ = "oracle_record"
    __table_args__ = (
        UniqueConstraint("source", "event_id"),
        Index("ix_oracle_record_unbatched", "anchor", "batch_row_id"),
        Index("ix_oracle_record_vin_type", "vin", "type"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=20)
    """A source name, or ``oracle`` for what the oracle derives (alerts, valuations)."""
    event_id: str = Field(max_length=120)
    seq: int | None = None
    vin: str | None = Field(default=None, max_length=17)
    subject: str | None = Field(default=None, max_length=66)
    type: str = Field(max_length=40)
    occurred_at: datetime
    status: RecordStatus = Field(default=RecordStatus.ACCEPTED, max_length=16)
    anchor: Anchor = Field(max_length=16)
    document: str = Field(sa_column=Column(Text, nullable=False))
    """The salted document (canonical JSON); only members allowed to see it get it."""
    digest: str = Field(max_length=66, unique=True)
    batch_row_id: int | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Quarantined(SQLModel, table=True):
    """A record the oracle refused, with the reason; kept so nothing is dropped silently."""

    __tablename__ = "oracle_quarantine"
    __table_args__ = (UniqueConstraint("source", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=20)
    seq: int | None = None
    event_id: str | None = Field(default=None, max_length=120)
    reason: str = Field(max_length=40)
    message: str = Field(sa_column=Column(Text, nullable=False))
    raw: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class ActionStatus(StrEnum):
    WAITING = "waiting"
    """Its precondition does not hold yet (e.g. the loan is not on chain yet); checked again on every dispatch."""
    SUBMITTED = "submitted"
    DONE = "done"
    SKIPPED = "skipped"
    """Nothing to do on chain (e.g. no active loan on the vehicle); the record itself is still anchored."""
    FAILED = "failed"


class ChainAction(SQLModel, table=True):
    """A single chain write a record calls for, from queued to confirmed; its key is the outbox idempotency key."""

    __tablename__ = "oracle_action"
    __table_args__ = (Index("ix_oracle_action_status", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    action: str = Field(max_length=40)
    role: str = Field(max_length=40)
    """Whose account signs it (``dmv``, ``telematics``, ``bank``, ``price-1``, ...)."""
    record_id: int | None = Field(default=None, index=True)
    subject: str = Field(max_length=66)
    params: str = Field(sa_column=Column(Text, nullable=False))
    status: ActionStatus = Field(default=ActionStatus.WAITING, max_length=16)
    note: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


BatchStatus = AnchorState


class AnchorBatch(BatchRow, table=True):
    """A Merkle batch of records: built for the batch id the registry is expected to give it (the columns every
    anchored batch has come from :class:`node_adapter.anchoring.BatchRow`)."""

    __tablename__ = "oracle_batch"

    kind: int


class VehicleState(SQLModel, table=True):
    """What the oracle knows of a vehicle, built from its records: for the anomaly rules and the valuations."""

    __tablename__ = "oracle_vehicle"

    vin: str = Field(primary_key=True, max_length=17)
    subject: str = Field(max_length=66)
    make: str | None = Field(default=None, max_length=60)
    model: str | None = Field(default=None, max_length=60)
    year: int | None = None
    region: str | None = Field(default=None, max_length=10)
    condition: str = Field(default="good", max_length=20)
    odometer_km: float | None = None
    last_position_at: datetime | None = None
    last_report_at: datetime | None = None
    outside: bool = False
    gps_lost: bool = False


class StreamMark(SQLModel, table=True):
    """The newest record time applied per vehicle and event type: what makes a later-arriving older record late."""

    __tablename__ = "oracle_stream"

    source: str = Field(primary_key=True, max_length=20)
    vin: str = Field(primary_key=True, max_length=17)
    type: str = Field(primary_key=True, max_length=40)
    occurred_at: datetime


class RegionIndex(SQLModel, table=True):
    __tablename__ = "oracle_region_index"

    region: str = Field(primary_key=True, max_length=10)
    index: float
    as_of: datetime


class LoanLink(SQLModel, table=True):
    """A loan of the bank's core system and the loan it became on chain."""

    __tablename__ = "oracle_loan"

    loan_ref: str = Field(primary_key=True, max_length=60)
    vin: str = Field(max_length=17, index=True)
    bank: str = Field(max_length=60)
    register_key: str | None = Field(default=None, max_length=200)
    """The chain action registering it."""
    chain_loan_id: int | None = None


class ValuationMark(SQLModel, table=True):
    """A price reporter's last valuation of a vehicle: the next one is sent on deviation or heartbeat."""

    __tablename__ = "oracle_valuation"

    role: str = Field(primary_key=True, max_length=40)
    vin: str = Field(primary_key=True, max_length=17)
    value_cny: float
    reported_at: datetime
    """The chain's time when the report was queued (the heartbeat counts in chain time)."""
    count: int = 1


class FeedHealth(SQLModel, table=True):
    """How a job is doing: its last success, its failures in a row and when it may run again."""

    __tablename__ = "oracle_feed"

    feed: str = Field(primary_key=True, max_length=40)
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    failures: int = 0
    next_attempt_at: datetime | None = None
    records: int = 0
    duplicates: int = 0
    quarantined: int = 0


def create_oracle_schema(engine: Engine) -> None:
    """Create the oracle's tables (idempotent)."""
    create_tables(
        engine,
        FeedCursor,
        SourceRecord,
        Quarantined,
        ChainAction,
        AnchorBatch,
        VehicleState,
        StreamMark,
        RegionIndex,
        LoanLink,
        ValuationMark,
        FeedHealth,
    )
