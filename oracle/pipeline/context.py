"""What the parts of the pipeline share: settings, database, outbox, chain, signers, sources, clock and estimator, and
the two writes more than one part makes (a record into the document store, a chain action queued on it).

The facade (:class:`oracle.pipeline.facade.Oracle`) builds one :class:`OracleContext` and hands it to each part, so a
change made through the facade (a test's clock, another estimator) is seen by all of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from sqlmodel import Session

from node_adapter.clients import Suite
from node_adapter.db import utcnow
from node_adapter.encoding import SaltedDocument, canonical_json, subject_id
from node_adapter.outbox import Outbox
from node_adapter.settings import subject_key_for
from oracle.residual import DepreciationEstimator, ResidualEstimator
from oracle.settings import OracleSettings, SourceName
from oracle.sources import SourceClient
from oracle.store import Anchor, ChainAction, RecordStatus, SourceRecord

CENTS = 100


class OracleContext:
    """The state of one oracle process that every job reads (see the facade for the arguments)."""

    def __init__(
        self,
        settings: OracleSettings,
        engine: Engine,
        suite: Suite,
        signers: dict[str, LocalAccount],
        *,
        subject_key: bytes | None = None,
        estimator: ResidualEstimator | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.outbox = Outbox(engine)
        self.suite = suite
        self.signers = signers
        self.estimator: ResidualEstimator = estimator or DepreciationEstimator()
        self.clock = clock
        self.actions_queued = 0
        """Chain actions queued by this process (a change tells the scheduler to dispatch now)."""
        self.subject_key = subject_key or subject_key_for(suite.collateral.chain_id, None)
        self.sources: dict[SourceName, SourceClient] = {
            name: SourceClient(
                name,
                settings.source_url(name),
                timeout=settings.request_timeout,
                retries=settings.retries,
                backoff=settings.retry_backoff,
            )
            for name in settings.sources
        }

    def subject(self, vin: str) -> str:
        return "0x" + subject_id(vin, self.subject_key).hex()

    def store_record(
        self,
        session: Session,
        *,
        source: str,
        event_id: str,
        seq: int | None,
        vin: str | None,
        type_: str,
        occurred_at: datetime,
        body: dict[str, Any],
        anchor: Anchor,
        status: RecordStatus = RecordStatus.ACCEPTED,
    ) -> SourceRecord:
        """Store one record as its canonical salted document and digest (flushed: it has its id)."""
        document = SaltedDocument.create(
            {
                "source": source,
                "id": event_id,
                "type": type_,
                "vin": vin,
                "occurred_at": occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                **body,
            }
        )
        record = SourceRecord(
            source=source,
            event_id=event_id,
            seq=seq,
            vin=vin,
            subject=self.subject(vin) if vin else None,
            type=type_,
            occurred_at=occurred_at,
            status=status,
            anchor=anchor,
            document=canonical_json(document.salted_document()).decode(),
            digest="0x" + document.digest.hex(),
        )
        session.add(record)
        session.flush()
        return record

    def queue_action(
        self, session: Session, record: SourceRecord, action: str, role: str, **params: Any
    ) -> ChainAction:
        """Queue a single write with ``record``'s digest as its evidence; the record is anchored by it."""
        record.anchor = Anchor.SINGLE
        session.add(record)
        row = ChainAction(
            key=f"oracle:{action}:{record.source}:{record.event_id}",
            action=action,
            role=role,
            record_id=record.id,
            subject=record.subject or "",
            params=json.dumps(params),
        )
        session.add(row)
        self.actions_queued += 1
        return row


def aware(moment: datetime | None) -> datetime | None:
    """Times are stored in UTC; SQLite hands them back without a zone."""
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def first(session: Session, statement: Any) -> Any:
    return session.exec(statement).first()
