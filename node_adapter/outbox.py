"""The durable transaction outbox: every chain write is a row before anything is sent.

A caller records a write with an idempotency key (:meth:`Outbox.submit`); submitting the same key again returns the
same row, so a retried request never becomes a second transaction. A :class:`node_adapter.txworker.TxWorker` then
moves each row through its states, persisting every step before acting on it:

``queued`` -> ``signed`` (nonce assigned, raw transaction stored) -> ``sent`` -> ``mined`` ->
``confirmed``, or ``reverted`` (a deterministic revert, with the decoded error; never retried), or ``failed``
(gave up, with the reason).

Because the signed raw transaction is stored before it is broadcast, a worker that crashes between send and receipt
re-broadcasts the very same transaction on restart (same hash), so nothing is sent twice; a transaction that was never
mined and whose nonce another transaction consumed goes back to ``queued`` and gets a new nonce.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from node_adapter.contract_errors import decode_revert
from node_adapter.exceptions import (
    ContractRevert,
    IdempotencyConflictError,
    InvalidWriteError,
    OutboxError,
    OutboxTimeoutError,
    TransactionFailedError,
)


class TxStatus(StrEnum):
    """Where a write stands."""

    QUEUED = "queued"
    SIGNED = "signed"
    SENT = "sent"
    MINED = "mined"
    CONFIRMED = "confirmed"
    REVERTED = "reverted"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        """Whether the write will not change any more."""
        return self in (TxStatus.CONFIRMED, TxStatus.REVERTED, TxStatus.FAILED)


IN_FLIGHT = (TxStatus.SIGNED, TxStatus.SENT, TxStatus.MINED)


def _now() -> datetime:
    return datetime.now(UTC)


class OutboxTx(SQLModel, table=True):
    """One chain write and everything known about it."""

    __tablename__ = "outbox_tx"
    __table_args__ = (
        Index("ix_outbox_tx_status_sender", "status", "sender"),
        Index("ix_outbox_tx_sender_nonce", "chain_id", "sender", "nonce"),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True, index=True)
    chain_id: int
    sender: str = Field(max_length=42)
    to: str | None = Field(default=None, max_length=42)
    data: str = Field(default="0x", sa_column=Column(Text, nullable=False))
    value: str = "0"
    gas_limit: int | None = None
    purpose: str = Field(default="", max_length=200)
    status: TxStatus = Field(default=TxStatus.QUEUED, max_length=16)
    nonce: int | None = None
    tx_hash: str | None = Field(default=None, max_length=66, index=True)
    raw_tx: str | None = Field(default=None, sa_column=Column(Text))
    fee_fields: str | None = Field(default=None, sa_column=Column(Text))
    """JSON of the fee fields of the current attempt (gasPrice, or maxFeePerGas and maxPriorityFeePerGas)."""
    attempts: int = 0
    block_number: int | None = None
    block_hash: str | None = Field(default=None, max_length=66)
    gas_used: int | None = None
    contract_address: str | None = Field(default=None, max_length=42)
    error_name: str | None = Field(default=None, max_length=200)
    error_args: str | None = Field(default=None, sa_column=Column(Text))
    error_message: str | None = Field(default=None, sa_column=Column(Text))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    """The latest transient problem (node unreachable, underpriced, ...), cleared by progress."""
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)
    sent_at: datetime | None = None
    """When the current attempt was last broadcast."""
    signed_at: datetime | None = None
    """When the current attempt was signed: replacement waits ``replace_after`` from here, however often resent."""

    def raise_for_status(self) -> OutboxTx:
        """Return self when confirmed; raise the decoded revert or the failure otherwise."""
        if self.status == TxStatus.REVERTED:
            raise self.revert()
        if self.status == TxStatus.FAILED:
            raise TransactionFailedError(f"write {self.idempotency_key!r} failed: {self.error_message}")
        return self

    def revert(self) -> ContractRevert:
        """The decoded revert of a reverted write."""
        args = json.loads(self.error_args) if self.error_args else {}
        return decode_revert(args.get("_data", "0x"))


class TxAttempt(SQLModel, table=True):
    """Every signed variant of a write (a replacement keeps the nonce and changes the fee): any may be the one mined."""

    __tablename__ = "outbox_attempt"
    __table_args__ = (UniqueConstraint("outbox_id", "tx_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outbox_tx.id", index=True)
    tx_hash: str = Field(max_length=66)
    nonce: int
    raw_tx: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=_now)


class NonceCursor(SQLModel, table=True):
    """The next nonce the outbox will assign for an account on a chain (locked while assigning)."""

    __tablename__ = "outbox_nonce"

    chain_id: int = Field(primary_key=True)
    account: str = Field(primary_key=True, max_length=42)
    next_nonce: int


class Outbox:
    """Submit writes and follow them; needs only the database (the portal uses this without a chain connection)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def submit(
        self,
        *,
        key: str,
        chain_id: int,
        sender: str,
        to: str | None,
        data: bytes | str,
        value: int = 0,
        gas_limit: int | None = None,
        purpose: str = "",
    ) -> OutboxTx:
        """Record a write; the same ``key`` with the same write returns the existing row (idempotent).

        Raises :class:`IdempotencyConflictError` when ``key`` was used for a different write.
        """
        if not key or len(key) > 200:
            raise InvalidWriteError("an idempotency key must be 1 to 200 characters")
        if value < 0:
            raise InvalidWriteError(f"value must not be negative, got {value}")
        data_hex = data if isinstance(data, str) else "0x" + data.hex()
        row = OutboxTx(
            idempotency_key=key,
            chain_id=chain_id,
            sender=sender,
            to=to,
            data=data_hex.lower(),
            value=str(value),
            gas_limit=gas_limit,
            purpose=purpose[:200],
        )
        with Session(self.engine, expire_on_commit=False) as session:
            existing = session.exec(select(OutboxTx).where(OutboxTx.idempotency_key == key)).first()
            if existing is None:
                session.add(row)
                try:
                    session.commit()
                    return row
                except IntegrityError:  # another submitter won the race with the same key
                    session.rollback()
                    existing = session.exec(select(OutboxTx).where(OutboxTx.idempotency_key == key)).one()
            same = (
                existing.chain_id,
                existing.sender.lower(),
                (existing.to or "").lower(),
                existing.data,
                existing.value,
            )
            if same != (chain_id, sender.lower(), (to or "").lower(), row.data, row.value):
                raise IdempotencyConflictError(
                    f"idempotency key {key!r} was already used for a different write (outbox id {existing.id})"
                )
            return existing

    def get(self, key: str) -> OutboxTx | None:
        """The write recorded under ``key``."""
        with Session(self.engine, expire_on_commit=False) as session:
            return session.exec(select(OutboxTx).where(OutboxTx.idempotency_key == key)).first()

    def wait(self, key: str, *, timeout: float = 60.0, poll: float = 0.05) -> OutboxTx:
        """Poll until the write is final; raises :class:`OutboxTimeoutError` (the write stays queued) on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            row = self.get(key)
            if row is None:
                raise OutboxError(f"no write recorded under idempotency key {key!r}")
            if row.status.final:
                return row
            if time.monotonic() >= deadline:
                raise OutboxTimeoutError(
                    f"write {key!r} is still {row.status} after {timeout:.0f} s"
                    + (f" (last problem: {row.last_error})" if row.last_error else "")
                )
            time.sleep(poll)

    def wait_all(self, keys: Sequence[str], *, timeout: float = 120.0, poll: float = 0.1) -> list[OutboxTx]:
        """Poll until every write in ``keys`` is final (in the order given)."""
        deadline = time.monotonic() + timeout
        pending = set(keys)
        final: dict[str, OutboxTx] = {}
        while pending:
            with Session(self.engine, expire_on_commit=False) as session:
                rows = session.exec(select(OutboxTx).where(OutboxTx.idempotency_key.in_(list(pending)))).all()  # type: ignore[attr-defined]
            for row in rows:
                if row.status.final:
                    final[row.idempotency_key] = row
                    pending.discard(row.idempotency_key)
            if pending and time.monotonic() >= deadline:
                raise OutboxTimeoutError(f"{len(pending)} of {len(keys)} writes are not final after {timeout:.0f} s")
            if pending:
                time.sleep(poll)
        return [final[k] for k in keys]

    def backlog(self) -> dict[str, int]:
        """How many writes are in each state."""
        with Session(self.engine) as session:
            rows = session.exec(select(OutboxTx.status, func.count()).group_by(OutboxTx.status)).all()
        return {str(status): int(count) for status, count in rows}


def error_fields(exc: ContractRevert) -> dict[str, Any]:
    """The columns that record a decoded revert on a row."""
    args = exc.to_json()["args"]
    args["_data"] = "0x" + exc.data.hex()
    return {"error_name": exc.error_name, "error_args": json.dumps(args), "error_message": str(exc)}
