"""Ingest: a source's feed, read page by page from its cursor, into the document store.

Each page is one database transaction: the records it accepts (salted documents and digests), the ones it quarantines
(with the reason), the chain actions they call for, the state the rules keep, and the new cursor. A crash mid-page
leaves none of it, and the page is read again.

Bad data: a malformed or out-of-range record, or one of an unknown type, is quarantined with its reason; a duplicate
(an id already stored) is counted and dropped (its first copy is the record); a record more than ``stale_after``
behind the newest one of its source is quarantined as stale; an out-of-order record (older than one already applied
for the same vehicle and type) is stored and anchored as evidence but marked late and not acted on.

What each source's records call for is decided in one ``_on_<source>`` method per source below (the telematics rules
themselves are in ``oracle.rules``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from node_adapter.clients import DmvEventKind
from node_adapter.db import utcnow
from oracle.models import (
    IndexUpdate,
    LienChange,
    LoanOpened,
    RecordRejected,
    Registration,
    Repayment,
    SourceEvent,
    parse_event,
)
from oracle.pipeline.context import CENTS, OracleContext, aware, first
from oracle.rules import Alert, apply_reading
from oracle.settings import SourceName
from oracle.store import (
    Anchor,
    FeedCursor,
    FeedHealth,
    LoanLink,
    Quarantined,
    RecordStatus,
    RegionIndex,
    SourceRecord,
    StreamMark,
    VehicleState,
)

logger = logging.getLogger(__name__)

HISTORICAL: frozenset[tuple[str, str]] = frozenset({("market", "comparable_sale")})
"""Records about the past by nature (a sale is reported after it happened): never stale."""


@dataclass
class _Page:
    """What one page's transaction has seen so far (records of the same page are not in the database yet)."""

    session: Session
    source: SourceName
    cursor: FeedCursor
    health: FeedHealth
    ids: set[str] = field(default_factory=set)
    vehicles: dict[str, VehicleState] = field(default_factory=dict)


class Ingestion:
    """The ``ingest:<source>`` jobs."""

    def __init__(self, context: OracleContext) -> None:
        self.context = context

    def ingest(self, source: SourceName) -> int:
        """Read ``source`` from its cursor (at most ``max_pages_per_run`` pages); the number of events read."""
        client = self.context.sources[source]
        total = 0
        for _ in range(self.context.settings.max_pages_per_run):
            with Session(self.context.engine) as session:
                cursor = session.get(FeedCursor, source) or FeedCursor(source=source)
                after = cursor.cursor
            page = client.page(after, self.context.settings.page_size)
            with Session(self.context.engine, expire_on_commit=False) as session:
                cursor = session.get(FeedCursor, source) or FeedCursor(source=source)
                if cursor.cursor != after:  # pragma: no cover (one process per database; see the facade's doc)
                    raise RuntimeError(f"the {source} cursor moved under this run: is another oracle running?")
                health = session.get(FeedHealth, f"ingest:{source}") or FeedHealth(feed=f"ingest:{source}")
                ctx = _Page(session, source, cursor, health)
                for raw in page.events:
                    self._ingest_one(ctx, raw)
                cursor.cursor = page.next
                cursor.updated_at = utcnow()
                session.add(cursor)
                session.add(health)
                session.commit()
            total += len(page.events)
            if not page.has_more:
                break
        return total

    def _ingest_one(self, ctx: _Page, raw: Any) -> None:
        try:
            event = parse_event(ctx.source, raw)
        except RecordRejected as rejected:
            self._quarantine(ctx, raw, rejected.reason, str(rejected))
            return
        if event.id in ctx.ids or first(
            ctx.session,
            select(SourceRecord.id).where(SourceRecord.source == ctx.source, SourceRecord.event_id == event.id),
        ):
            ctx.health.duplicates += 1
            return
        newest = max(aware(ctx.cursor.source_time) or event.occurred_at, event.occurred_at)
        ctx.cursor.source_time = newest
        behind = (newest - event.occurred_at).total_seconds()
        stale_after = self.context.settings.stale_after
        if behind > stale_after and (event.source, event.type) not in HISTORICAL:
            self._quarantine(
                ctx,
                raw,
                "stale",
                f"{behind:.0f} s older than the newest {ctx.source} record (limit {stale_after} s)",
            )
            return
        ctx.ids.add(event.id)
        late = self._is_late(ctx, event)
        record = self.context.store_record(
            ctx.session,
            source=ctx.source,
            event_id=event.id,
            seq=event.seq,
            vin=event.vin,
            type_=event.type,
            occurred_at=event.occurred_at,
            body={"payload": event.raw["payload"]},
            anchor=Anchor.BATCH,
            status=RecordStatus.LATE if late else RecordStatus.ACCEPTED,
        )
        ctx.health.records += 1
        if not late:
            getattr(self, f"_on_{ctx.source}")(ctx, event, record)

    def _quarantine(self, ctx: _Page, raw: Any, reason: str, message: str) -> None:
        seq = raw.get("seq") if isinstance(raw, dict) else None
        event_id = raw.get("id") if isinstance(raw, dict) else None
        ctx.session.add(
            Quarantined(
                source=ctx.source,
                seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
                event_id=str(event_id)[:120] if event_id is not None else None,
                reason=reason,
                message=message,
                raw=json.dumps(raw, default=str)[:100_000],
            )
        )
        ctx.health.quarantined += 1
        logger.warning("quarantined a %s record (%s): %s", ctx.source, reason, message)

    def _is_late(self, ctx: _Page, event: SourceEvent) -> bool:
        if event.vin is None:
            return False
        key = (ctx.source, event.vin, event.type)
        mark = ctx.session.get(StreamMark, key)
        if mark is not None and event.occurred_at < aware(mark.occurred_at):  # type: ignore[operator]
            return True
        if mark is None:
            mark = StreamMark(source=ctx.source, vin=event.vin, type=event.type, occurred_at=event.occurred_at)
        mark.occurred_at = event.occurred_at
        ctx.session.add(mark)
        return False

    def _vehicle(self, ctx: _Page, vin: str) -> VehicleState:
        state = ctx.vehicles.get(vin) or ctx.session.get(VehicleState, vin)
        if state is None:
            state = VehicleState(vin=vin, subject=self.context.subject(vin))
        ctx.vehicles[vin] = state
        ctx.session.add(state)
        return state

    # ------------------------------------------------------------------------------------------ per source

    def _on_dmv(self, ctx: _Page, event: SourceEvent, record: SourceRecord) -> None:
        assert event.vin is not None
        payload = event.payload
        if isinstance(payload, Registration):
            state = self._vehicle(ctx, event.vin)
            state.make, state.model, state.year, state.region = (
                payload.make,
                payload.model,
                payload.year,
                payload.region,
            )
        elif event.type == "lien_registered" and isinstance(payload, LienChange):
            self.context.queue_action(ctx.session, record, "confirm_lien", "dmv", loan_ref=payload.loan_ref)
        elif event.type == "lien_released":
            self.context.queue_action(ctx.session, record, "dmv_event", "dmv", event=int(DmvEventKind.LIEN_RELEASED))
        elif event.type == "seizure":
            self.context.queue_action(ctx.session, record, "dmv_event", "dmv", event=int(DmvEventKind.SEIZURE))
        elif event.type == "transfer_attempt":
            self.context.queue_action(ctx.session, record, "dmv_event", "dmv", event=int(DmvEventKind.TRANSFER_ATTEMPT))

    def _on_telematics(self, ctx: _Page, event: SourceEvent, record: SourceRecord) -> None:
        assert event.vin is not None
        state = self._vehicle(ctx, event.vin)
        alerts = apply_reading(
            state,
            event,
            gps_loss_limit=self.context.settings.gps_loss_limit,
            rollback_tolerance_km=self.context.settings.rollback_tolerance_km,
        )
        for alert in alerts:
            self._alert(ctx.session, event.vin, alert)

    def _alert(self, session: Session, vin: str, alert: Alert) -> None:
        name = alert.kind.name.lower()
        record = self.context.store_record(
            session,
            source="oracle",
            event_id=f"alert:{alert.evidence['record']}:{name}",
            seq=None,
            vin=vin,
            type_=f"alert.{name}",
            occurred_at=alert.occurred_at,
            body={
                "alert": name,
                "alert_code": int(alert.kind),
                "severity": alert.severity.name,
                "evidence": alert.evidence,
            },
            anchor=Anchor.BATCH,
        )
        self.context.queue_action(
            session, record, "alert", "telematics", alert=int(alert.kind), severity=int(alert.severity)
        )
        logger.info("alert %s (%s) on a vehicle", name, alert.severity.name)

    def _on_market(self, ctx: _Page, event: SourceEvent, record: SourceRecord) -> None:
        payload = event.payload
        if isinstance(payload, IndexUpdate):
            row = ctx.session.get(RegionIndex, payload.region) or RegionIndex(
                region=payload.region, index=payload.index, as_of=event.occurred_at
            )
            row.index, row.as_of = payload.index, event.occurred_at
            ctx.session.add(row)

    def _on_loans(self, ctx: _Page, event: SourceEvent, record: SourceRecord) -> None:
        assert event.vin is not None
        payload = event.payload
        if isinstance(payload, LoanOpened):
            bank_names = self.context.settings.bank_names
            if bank_names and payload.bank not in bank_names:
                return
            link = ctx.session.get(LoanLink, payload.loan_ref) or LoanLink(
                loan_ref=payload.loan_ref, vin=event.vin, bank=payload.bank
            )
            link.register_key = self.context.queue_action(
                ctx.session,
                record,
                "register_loan",
                "bank",
                loan_ref=payload.loan_ref,
                principal=payload.principal_cny * CENTS,
            ).key
            ctx.session.add(link)
        elif isinstance(payload, Repayment):
            if ctx.session.get(LoanLink, payload.loan_ref) is None:
                return  # another bank's loan: kept as evidence in a batch
            self.context.queue_action(
                ctx.session,
                record,
                "repayment",
                "bank",
                loan_ref=payload.loan_ref,
                days_overdue=payload.days_overdue,
                outstanding=payload.outstanding_cny * CENTS,
            )
