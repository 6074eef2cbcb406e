"""The oracle's pipeline: fetch -> validate -> canonical salted document -> digest -> document store -> chain.

:class:`Oracle` has one method per job, each safe to run again at any time and after a crash:

- ``ingest(source)`` reads the source's feed from its cursor. Each page is one database transaction: the records it
  accepts (salted documents and digests), the ones it quarantines (with the reason), the chain actions they call for,
  the state the rules keep, and the new cursor. A crash mid-page leaves none of it, and the page is read again.
- ``dispatch()`` turns waiting chain actions into outbox writes once their precondition holds on chain (a lien can be
  confirmed only once the bank's loan is there), and follows submitted ones to confirmed or reverted. The action's
  key is the outbox idempotency key, so an action is written to the chain once however often dispatch runs.
- ``anchor()`` puts the records that go in batches (telematics readings, and every record whose single write was not
  needed) into Merkle batches, one kind at a time, one batch in flight per kind.
- ``value()`` values every financed vehicle for each price reporter and queues a report when the estimate moved
  beyond ``deviation_bps`` or the reporter's heartbeat expired.

How each record is handled:

| record                                        | on chain                                      | signer      |
|-----------------------------------------------|-----------------------------------------------|-------------|
| loans ``loan_opened``                         | ``registerLoan`` (baseline: the estimate now) | bank        |
| loans payment received/missed, arrears        | ``reportRepayment``                           | bank        |
| DMV ``lien_registered``                       | ``confirmLien`` once the loan is on chain     | dmv         |
| DMV seizure, transfer attempt, lien released  | ``reportDmvEvent``                            | dmv         |
| telematics alert (rules.py)                   | ``reportTelematicsAlert``                     | telematics  |
| valuation                                     | ``reportValuation``                           | price-N     |
| everything else, and any of the above with no | Merkle batch of the source's kind             | the source's|
| active loan to report on                      |                                               | role        |

Bad data: a malformed or out-of-range record, or one of an unknown type, is quarantined with its reason; a duplicate
(an id already stored) is counted and dropped (its first copy is the record); a record more than ``stale_after``
behind the newest one of its source is quarantined as stale; an out-of-order record (older than one already applied
for the same vehicle and type) is stored and anchored as evidence but marked late and not acted on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from node_adapter.clients import STANDARD_TERMS, DmvEventKind, LienStatus, RevokeReason, Suite
from node_adapter.db import create_tables
from node_adapter.encoding import SaltedDocument, canonical_json, subject_id
from node_adapter.exceptions import ContractRevert
from node_adapter.merkle import MerkleTree, batch_leaf
from node_adapter.outbox import Outbox, OutboxTx, TxStatus
from node_adapter.settings import subject_key_for
from oracle.models import (
    IndexUpdate,
    LienChange,
    LoanOpened,
    RecordRejected,
    Registration,
    Repayment,
    SourceEvent,
    parse_event,
    parse_loan_status,
)
from oracle.residual import DepreciationEstimator, ResidualEstimator, VehicleFacts
from oracle.rules import Alert, apply_reading
from oracle.settings import OracleSettings, SourceName
from oracle.simulators.fleet import CAR_MODELS
from oracle.sources import SourceClient
from oracle.store import (
    ActionStatus,
    Anchor,
    AnchorBatch,
    BatchStatus,
    ChainAction,
    FeedCursor,
    FeedHealth,
    LoanLink,
    Quarantined,
    RecordStatus,
    RegionIndex,
    SourceRecord,
    StreamMark,
    ValuationMark,
    VehicleState,
    utcnow,
)

logger = logging.getLogger(__name__)

KINDS: dict[str, int] = {"telematics": 201, "dmv": 202, "market": 203, "loans": 204}
"""Attestation kind of each source's batched records (registered by governance; see ``oracle.devsetup``)."""
KIND_ROLES: dict[int, str] = {201: "telematics", 202: "dmv", 203: "price-1", 204: "bank"}
"""Which signer anchors each kind's batches."""

DEFAULT_TERMS = STANDARD_TERMS
"""The terms the bank's feed registers loans with."""

NEW_PRICES: dict[tuple[str, str], int] = {(c.make, c.model): c.new_price_cny for c in CAR_MODELS}
"""New prices by make and model: the catalogue of the simulated market (a deployment loads its provider's)."""

CENTS = 100
REPORT_GAS_LIMIT = 600_000
"""Gas limit of every report (the heaviest, a report that opens a case, takes about 160,000)."""
HISTORICAL: frozenset[tuple[str, str]] = frozenset({("market", "comparable_sale")})
"""Records about the past by nature (a sale is reported after it happened): never stale."""
BATCH_REVOKE_REASON = RevokeReason.ERROR
"""Reason code of a batch revoked because it was anchored under an unexpected id (its records are batched again)."""


def price_roles(count: int) -> list[str]:
    return [f"price-{n}" for n in range(1, count + 1)]


@dataclass
class _Page:
    """What one page's transaction has seen so far (records of the same page are not in the database yet)."""

    session: Session
    source: SourceName
    cursor: FeedCursor
    health: FeedHealth
    ids: set[str] = field(default_factory=set)
    vehicles: dict[str, VehicleState] = field(default_factory=dict)


class Oracle:
    """The jobs of one oracle process. Run one process per database (the jobs are not meant to race each other)."""

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
        """``subject_key``: the consortium key (``NodeAdapterSettings.subject_key``); by default the dev key, which
        only a dev chain accepts."""
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
        create_oracle_schema(engine)

    def close(self) -> None:
        for client in self.sources.values():
            client.close()

    def subject(self, vin: str) -> str:
        return "0x" + subject_id(vin, self.subject_key).hex()

    # ================================================================================================ ingest

    def ingest(self, source: SourceName) -> int:
        """Read ``source`` from its cursor (at most ``max_pages_per_run`` pages); the number of events read."""
        client = self.sources[source]
        total = 0
        for _ in range(self.settings.max_pages_per_run):
            with Session(self.engine) as session:
                cursor = session.get(FeedCursor, source) or FeedCursor(source=source)
                after = cursor.cursor
            page = client.page(after, self.settings.page_size)
            with Session(self.engine, expire_on_commit=False) as session:
                cursor = session.get(FeedCursor, source) or FeedCursor(source=source)
                if cursor.cursor != after:  # pragma: no cover (one process per database; see the class doc)
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
        if event.id in ctx.ids or _first(
            ctx.session,
            select(SourceRecord.id).where(SourceRecord.source == ctx.source, SourceRecord.event_id == event.id),
        ):
            ctx.health.duplicates += 1
            return
        newest = max(_aware(ctx.cursor.source_time) or event.occurred_at, event.occurred_at)
        ctx.cursor.source_time = newest
        behind = (newest - event.occurred_at).total_seconds()
        if behind > self.settings.stale_after and (event.source, event.type) not in HISTORICAL:
            self._quarantine(
                ctx,
                raw,
                "stale",
                f"{behind:.0f} s older than the newest {ctx.source} record (limit {self.settings.stale_after} s)",
            )
            return
        ctx.ids.add(event.id)
        late = self._is_late(ctx, event)
        record = self._store(
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
        if mark is not None and event.occurred_at < _aware(mark.occurred_at):  # type: ignore[operator]
            return True
        if mark is None:
            mark = StreamMark(source=ctx.source, vin=event.vin, type=event.type, occurred_at=event.occurred_at)
        mark.occurred_at = event.occurred_at
        ctx.session.add(mark)
        return False

    def _store(
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

    def _action(self, session: Session, record: SourceRecord, action: str, role: str, **params: Any) -> ChainAction:
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

    def _vehicle(self, ctx: _Page, vin: str) -> VehicleState:
        state = ctx.vehicles.get(vin) or ctx.session.get(VehicleState, vin)
        if state is None:
            state = VehicleState(vin=vin, subject=self.subject(vin))
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
            self._action(ctx.session, record, "confirm_lien", "dmv", loan_ref=payload.loan_ref)
        elif event.type == "lien_released":
            self._action(ctx.session, record, "dmv_event", "dmv", event=int(DmvEventKind.LIEN_RELEASED))
        elif event.type == "seizure":
            self._action(ctx.session, record, "dmv_event", "dmv", event=int(DmvEventKind.SEIZURE))
        elif event.type == "transfer_attempt":
            self._action(ctx.session, record, "dmv_event", "dmv", event=int(DmvEventKind.TRANSFER_ATTEMPT))

    def _on_telematics(self, ctx: _Page, event: SourceEvent, record: SourceRecord) -> None:
        assert event.vin is not None
        state = self._vehicle(ctx, event.vin)
        alerts = apply_reading(
            state,
            event,
            gps_loss_limit=self.settings.gps_loss_limit,
            rollback_tolerance_km=self.settings.rollback_tolerance_km,
        )
        for alert in alerts:
            self._alert(ctx.session, event.vin, alert)

    def _alert(self, session: Session, vin: str, alert: Alert) -> None:
        name = alert.kind.name.lower()
        record = self._store(
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
        self._action(session, record, "alert", "telematics", alert=int(alert.kind), severity=int(alert.severity))
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
            if self.settings.bank_names and payload.bank not in self.settings.bank_names:
                return
            link = ctx.session.get(LoanLink, payload.loan_ref) or LoanLink(
                loan_ref=payload.loan_ref, vin=event.vin, bank=payload.bank
            )
            link.register_key = self._action(
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
            self._action(
                ctx.session,
                record,
                "repayment",
                "bank",
                loan_ref=payload.loan_ref,
                days_overdue=payload.days_overdue,
                outstanding=payload.outstanding_cny * CENTS,
            )

    # ================================================================================================ valuations

    def value(self) -> int:
        """Queue a valuation report per price reporter for every financed vehicle whose estimate moved or whose
        heartbeat expired; the number queued.

        The heartbeat counts in the chain's time, the clock the contract judges a report's age by: the oracle's own
        clock may run apart from the chain's, and a chain that runs ahead would otherwise find every valuation stale
        (``CollateralStaleValuation``) while the oracle, by its own clock, saw no reason to report again.
        """
        now = self.clock()
        chain_now = self.chain_time()
        queued = 0
        roles = price_roles(self.settings.price_reporters)
        with Session(self.engine, expire_on_commit=False) as session:
            links = session.exec(select(LoanLink).where(col(LoanLink.chain_loan_id).is_not(None))).all()
            on = self._market_day(session)
            for link in links:
                state = session.get(VehicleState, link.vin)
                facts = self._facts(session, state, on)
                if state is None or facts is None:
                    continue
                estimate = self.estimator.estimate(facts)
                for role in roles:
                    mark = session.get(ValuationMark, (role, link.vin))
                    if mark is not None:
                        moved = abs(estimate - mark.value_cny) * 10_000 > self.settings.deviation_bps * mark.value_cny
                        expired = (chain_now - _aware(mark.reported_at)).total_seconds() >= self.settings.heartbeat  # type: ignore[operator]
                        if not moved and not expired:
                            continue
                    count = 1 if mark is None else mark.count + 1
                    record = self._store(
                        session,
                        source="oracle",
                        event_id=f"valuation:{role}:{link.vin}:{count}",
                        seq=None,
                        vin=link.vin,
                        type_="valuation",
                        occurred_at=now,
                        body={
                            "reporter": role,
                            "value_cny": round(estimate, 2),
                            "model_version": self.estimator.version,
                            "facts": facts.model_dump(mode="json"),
                        },
                        anchor=Anchor.BATCH,
                    )
                    self._action(session, record, "valuation", role, value=round(estimate * CENTS))
                    if mark is None:
                        mark = ValuationMark(role=role, vin=link.vin, value_cny=estimate, reported_at=chain_now)
                    mark.value_cny, mark.reported_at, mark.count = estimate, chain_now, count
                    session.add(mark)
                    queued += 1
            session.commit()
        return queued

    def estimate(self, session: Session, vin: str) -> tuple[float, VehicleFacts] | None:
        """A vehicle's residual-value estimate now and the facts it rests on (None while they are not known)."""
        facts = self._facts(session, session.get(VehicleState, vin), self._market_day(session))
        return None if facts is None else (self.estimator.estimate(facts), facts)

    def chain_time(self) -> datetime:
        """The time of the chain's latest block."""
        timestamp = self.suite.collateral.connection.call(lambda w3: int(w3.eth.get_block("latest")["timestamp"]))
        return datetime.fromtimestamp(timestamp, UTC)

    def _market_day(self, session: Session) -> date:
        """The date valuations are made for: the market source's clock (the wall clock before it has reported)."""
        cursor = session.get(FeedCursor, "market")
        moment = _aware(cursor.source_time) if cursor is not None else None
        return (moment or self.clock()).date()

    def _facts(self, session: Session, state: VehicleState | None, on: date) -> VehicleFacts | None:
        if state is None or state.make is None or state.model is None or state.year is None:
            return None
        new_price = NEW_PRICES.get((state.make, state.model))
        if new_price is None:
            return None
        index = session.get(RegionIndex, state.region or "")
        return VehicleFacts(
            new_price_cny=new_price,
            model_year=state.year,
            on=on,
            odometer_km=state.odometer_km or 0.0,
            regional_index=index.index if index is not None else 100.0,
            condition=state.condition,
        )

    # ================================================================================================ dispatch

    def dispatch(self, *, limit: int = 500) -> int:
        """Submit the waiting actions whose precondition holds, follow the submitted ones; the number that moved."""
        moved = self._follow_actions()
        blocked: set[tuple[str, str]] = set()
        with Session(self.engine, expire_on_commit=False) as session:
            waiting = session.exec(
                select(ChainAction)
                .where(ChainAction.status == ActionStatus.WAITING)
                .order_by(col(ChainAction.id))
                .limit(limit)
            ).all()
        for action in waiting:
            if (action.subject, action.role) in blocked:
                continue  # an earlier action of this signer on this vehicle is still waiting: keep the order
            if self.outbox.get(action.key) is not None:
                self._set_action(action, ActionStatus.SUBMITTED, None)
                moved += 1
                continue
            verdict, note = self._submit(action)
            if verdict == ActionStatus.WAITING:
                blocked.add((action.subject, action.role))
                if note != action.note:
                    self._set_action(action, ActionStatus.WAITING, note)
                continue
            self._set_action(action, verdict, note)
            moved += 1
        return moved

    def _submit(self, action: ChainAction) -> tuple[ActionStatus, str | None]:
        """Write ``action`` to the outbox if its precondition holds: (SUBMITTED | WAITING | SKIPPED, note)."""
        params = json.loads(action.params)
        collateral = self.suite.collateral
        sender = self.signers[action.role].address
        with Session(self.engine) as session:
            record = session.get(SourceRecord, action.record_id)
            assert record is not None
            digest = record.digest
        subject = action.subject
        loan_id = collateral.active_loan_of(subject)
        loan = collateral.get_loan(loan_id) if loan_id else None
        common = {"key": action.key, "sender": sender, "evidence_digest": digest}
        if action.action == "register_loan":
            if loan is not None:
                return ActionStatus.SKIPPED, f"the vehicle already carries loan {loan_id}"
            with Session(self.engine) as session:
                facts = self._facts(session, session.get(VehicleState, record.vin), self._market_day(session))
            if facts is None:
                return ActionStatus.WAITING, "the vehicle's make, model and year are not known yet (DMV feed)"
            value = round(self.estimator.estimate(facts) * CENTS)
            outstanding = self._outstanding(params["loan_ref"], params["principal"])
            collateral.register_loan(
                self.outbox,
                subject=subject,
                principal=params["principal"],
                outstanding=outstanding,
                baseline_value=value,
                terms=DEFAULT_TERMS,
                **common,
            )
            return ActionStatus.SUBMITTED, None
        if action.action == "confirm_lien":
            if loan is None:
                if self._registration_ended(params.get("loan_ref")):
                    return ActionStatus.SKIPPED, "the bank's loan was not registered on chain: no lien to confirm"
                return ActionStatus.WAITING, "no loan on chain for this vehicle yet"
            if loan.lien_status != LienStatus.PENDING:
                return ActionStatus.SKIPPED, f"loan {loan_id}'s lien is {loan.lien_status.name}"
            collateral.confirm_lien(self.outbox, loan_id=loan_id, **common)
            return ActionStatus.SUBMITTED, None
        if loan is None or loan.lien_status != LienStatus.ACTIVE:
            if action.action in ("repayment", "valuation") and self._loan_pending(params.get("loan_ref"), loan):
                return ActionStatus.WAITING, "the loan's lien is not active yet"
            return ActionStatus.SKIPPED, "no loan with an active lien on this vehicle: anchored in a batch instead"
        if action.action == "repayment":
            call: tuple[Any, ...] = ("reportRepayment", loan_id, params["days_overdue"], params["outstanding"], digest)
        elif action.action == "valuation":
            call = ("reportValuation", subject, params["value"], digest)
        elif action.action == "alert":
            call = ("reportTelematicsAlert", subject, params["alert"], params["severity"], digest)
        elif action.action == "dmv_event":
            call = ("reportDmvEvent", subject, params["event"], digest)
        else:  # pragma: no cover (every action the pipeline queues is handled above)
            raise ValueError(f"unknown action {action.action!r}")
        # What a report costs depends on the state it meets (a valuation completing a quorum runs the rules and may
        # open a case), which can change between the estimate and the block: give it room (unused gas is not paid).
        collateral.submit(
            self.outbox, key=action.key, sender=sender, data=collateral.calldata(*call), gas_limit=REPORT_GAS_LIMIT
        )
        return ActionStatus.SUBMITTED, None

    def _outstanding(self, loan_ref: str, principal: int) -> int:
        """The loan's balance now, from the bank's core system (a loan opened years ago owes less than it lent)."""
        loans = self.sources.get("loans")
        if loans is None:
            return principal
        status = parse_loan_status(loans.get(f"/v1/loans/{loan_ref}"))
        return min(principal, status.outstanding_cny * CENTS)

    def _registration_ended(self, loan_ref: str | None) -> bool:
        """Whether this oracle's bank feed tried to register the loan and will not (refused, or skipped)."""
        if loan_ref is None:
            return False
        with Session(self.engine) as session:
            link = session.get(LoanLink, loan_ref)
            if link is None or link.register_key is None:
                return False
            status = session.exec(select(ChainAction.status).where(ChainAction.key == link.register_key)).first()
        return status in (ActionStatus.FAILED, ActionStatus.SKIPPED)

    def _loan_pending(self, loan_ref: str | None, loan: Any) -> bool:
        """Whether a report should wait: the loan is on its way to an active lien (registered or being registered)."""
        if loan is not None:
            return bool(loan.lien_status == LienStatus.PENDING)
        if loan_ref is None:
            return False
        with Session(self.engine) as session:
            link = session.get(LoanLink, loan_ref)
            if link is None or link.chain_loan_id is not None:
                return False
            register = session.exec(select(ChainAction.status).where(ChainAction.key == link.register_key)).first()
        return register in (ActionStatus.WAITING, ActionStatus.SUBMITTED)

    def _follow_actions(self) -> int:
        moved = 0
        with Session(self.engine, expire_on_commit=False) as session:
            submitted = session.exec(select(ChainAction).where(ChainAction.status == ActionStatus.SUBMITTED)).all()
        for action in submitted:
            row = self.outbox.get(action.key)
            if row is None or not row.status.final:
                continue
            if row.status == TxStatus.CONFIRMED:
                if action.action == "register_loan":
                    self._link_loan(action, row)
                self._set_action(action, ActionStatus.DONE, None)
            else:
                error = row.error_name or row.error_message or str(row.status)
                self._set_action(action, ActionStatus.FAILED, f"{row.status}: {error}")
                logger.warning("chain action %s %s: %s", action.key, row.status, error)
            moved += 1
        return moved

    def _link_loan(self, action: ChainAction, row: OutboxTx) -> None:
        loan_id = self.suite.collateral.loan_id_of(row)
        params = json.loads(action.params)
        with Session(self.engine) as session:
            link = session.get(LoanLink, params["loan_ref"])
            if link is not None:
                link.chain_loan_id = loan_id
                session.add(link)
                session.commit()

    def _set_action(self, action: ChainAction, status: ActionStatus, note: str | None) -> None:
        with Session(self.engine) as session:
            row = session.get(ChainAction, action.id)
            assert row is not None
            row.status, row.note, row.updated_at = status, note, utcnow()
            session.add(row)
            if status in (ActionStatus.SKIPPED, ActionStatus.FAILED) and row.record_id is not None:
                record = session.get(SourceRecord, row.record_id)
                if record is not None and record.anchor == Anchor.SINGLE:
                    record.anchor = Anchor.BATCH  # its digest did not reach the chain by itself: batch it
                    session.add(record)
            session.commit()
        action.status, action.note = status, note

    # ================================================================================================ anchoring

    def anchor(self) -> int:
        """Follow pending batches and start new ones; the number of records put in new batches."""
        in_flight = [kind for kind in KIND_ROLES if self._follow_batch(kind)]
        if in_flight:
            return 0  # one batch in flight at a time: its id must be the next one when it lands
        for kind, role in KIND_ROLES.items():
            if role in self.signers:
                batched = self._new_batch(kind, role)
                if batched:
                    return batched
        return 0

    def _records_of_kind(self, kind: int) -> Any:
        sources = [s for s, k in KINDS.items() if k == kind]
        condition: Any = col(SourceRecord.source).in_(sources)
        if kind == KINDS["telematics"]:
            condition = condition | col(SourceRecord.type).startswith("alert.")
        if kind == KINDS["market"]:
            condition = condition | (SourceRecord.type == "valuation")
        return condition

    def _new_batch(self, kind: int, role: str) -> int:
        with Session(self.engine, expire_on_commit=False) as session:
            records = session.exec(
                select(SourceRecord)
                .where(SourceRecord.anchor == Anchor.BATCH, col(SourceRecord.batch_row_id).is_(None))
                .where(self._records_of_kind(kind))
                .order_by(col(SourceRecord.id))
                .limit(self.settings.batch_size)
            ).all()
            if not records:
                return 0
            expected = self.suite.registry.batch_count() + 1
            tree = MerkleTree.of_records(expected, [_leaf_pair(r) for r in records])
            batch = AnchorBatch(
                kind=kind, expected_batch_id=expected, root="0x" + tree.root.hex(), count=len(records), key=""
            )
            session.add(batch)
            session.flush()
            batch.key = f"oracle:batch:{batch.id}:{expected}"
            for record in records:
                record.batch_row_id = batch.id
                session.add(record)
            session.add(batch)
            session.commit()
        self._submit_batch(batch, role)
        return len(records)

    def _submit_batch(self, batch: AnchorBatch, role: str) -> None:
        with Session(self.engine) as session:
            digests = session.exec(
                select(SourceRecord.digest).where(SourceRecord.batch_row_id == batch.id).order_by(col(SourceRecord.id))
            ).all()
        uri = keccak(canonical_json(list(digests)))
        self.suite.registry.anchor_batch(
            self.outbox,
            key=batch.key,
            sender=self.signers[role].address,
            kind=batch.kind,
            root=batch.root,
            count=batch.count,
            uri_digest=uri,
        )

    def _follow_batch(self, kind: int) -> bool:
        """Move the kind's pending batch on; whether one is still in flight."""
        with Session(self.engine, expire_on_commit=False) as session:
            batch = _first(
                session, select(AnchorBatch).where(AnchorBatch.kind == kind, AnchorBatch.status == BatchStatus.PENDING)
            )
        if batch is None:
            return False
        row = self.outbox.get(batch.key)
        if row is None:  # the process stopped between building the batch and writing it: write it now
            self._submit_batch(batch, KIND_ROLES[kind])
            return True
        outcome = self.suite.registry.settle_anchor(
            self.outbox,
            row,
            expected_batch_id=batch.expected_batch_id,
            revoke_key_prefix="oracle:revoke-batch:",
            reason=BATCH_REVOKE_REASON,
        )
        if outcome is None:
            return True
        self._close_batch(batch, outcome.state, outcome.batch_id, outcome.note)
        return False

    def _close_batch(self, batch: AnchorBatch, status: BatchStatus, batch_id: int | None, note: str | None) -> None:
        with Session(self.engine) as session:
            row = session.get(AnchorBatch, batch.id)
            assert row is not None
            row.status, row.chain_batch_id, row.note = status, batch_id, note
            session.add(row)
            if status != BatchStatus.CONFIRMED:  # its records go in a later batch
                for record in session.exec(select(SourceRecord).where(SourceRecord.batch_row_id == batch.id)).all():
                    record.batch_row_id = None
                    session.add(record)
                logger.warning("batch %s of kind %s %s: %s", batch.id, batch.kind, status, note)
            session.commit()

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

    # ================================================================================================ status

    def status(self) -> dict[str, Any]:
        """See :func:`oracle_status`."""
        return oracle_status(self.engine, self.settings)

    @contextmanager
    def job(self, name: str) -> Iterator[bool]:
        """Run a job's body with health bookkeeping: yields False (skip) while the job is backing off.

        A failure is recorded (message, count in a row, next attempt after an exponential pause up to
        ``max_backoff``) and swallowed, so one broken source never stops the others.
        """
        now = utcnow()
        with Session(self.engine) as session:
            health = session.get(FeedHealth, name) or FeedHealth(feed=name)
            pause = _aware(health.next_attempt_at)
        if pause is not None and pause > now:
            yield False
            return
        try:
            yield True
        except Exception as exc:
            self._record(name, exc)
        else:
            self._record(name, None)

    def _record(self, name: str, error: Exception | None) -> None:
        now = utcnow()
        with Session(self.engine) as session:
            health = session.get(FeedHealth, name) or FeedHealth(feed=name)
            health.last_attempt = now
            if error is None:
                health.last_success, health.failures, health.last_error, health.next_attempt_at = now, 0, None, None
            else:
                health.failures += 1
                pause = min(self.settings.max_backoff, self.settings.interval * 2 ** (health.failures - 1))
                health.next_attempt_at = now + timedelta(seconds=pause)
                health.last_error = _describe(error)
                logger.warning(
                    "job %s failed (%d in a row; next try in %.0f s): %s",
                    name,
                    health.failures,
                    pause,
                    health.last_error,
                )
            session.add(health)
            session.commit()


def oracle_status(engine: Engine, settings: OracleSettings) -> dict[str, Any]:
    """Each job's health (last success, lag, failures), the backlog of actions, records waiting for a batch and
    outbox writes, the batches, and the quarantine by reason: from the database alone (no source, no chain)."""
    now = utcnow()
    with Session(engine) as session:
        feeds = {}
        for row in session.exec(select(FeedHealth)).all():
            last = _aware(row.last_success)
            feeds[row.feed] = {
                "healthy": row.failures < settings.unhealthy_after,
                "last_success": last.isoformat() if last else None,
                "lag_s": round((now - last).total_seconds(), 1) if last else None,
                "failures": row.failures,
                "last_error": row.last_error,
                "records": row.records,
                "duplicates": row.duplicates,
                "quarantined": row.quarantined,
            }
        for cursor in session.exec(select(FeedCursor)).all():
            feed = feeds.setdefault(f"ingest:{cursor.source}", {})
            source_time = _aware(cursor.source_time)
            feed["cursor"] = cursor.cursor
            feed["source_time"] = source_time.isoformat() if source_time else None
        actions = dict(session.exec(select(ChainAction.status, func.count()).group_by(col(ChainAction.status))).all())
        unbatched = session.exec(
            select(func.count())
            .select_from(SourceRecord)
            .where(SourceRecord.anchor == Anchor.BATCH, col(SourceRecord.batch_row_id).is_(None))
        ).one()
        quarantine = dict(
            session.exec(select(Quarantined.reason, func.count()).group_by(col(Quarantined.reason))).all()
        )
        batches = dict(session.exec(select(AnchorBatch.status, func.count()).group_by(col(AnchorBatch.status))).all())
    return {
        "feeds": feeds,
        "backlog": {
            "actions": {str(k): int(v) for k, v in actions.items()},
            "unbatched_records": int(unbatched),
            "outbox": Outbox(engine).backlog(),
        },
        "batches": {str(k): int(v) for k, v in batches.items()},
        "quarantined": {str(k): int(v) for k, v in quarantine.items()},
    }


def _leaf_pair(record: SourceRecord) -> tuple[bytes, bytes]:
    subject = bytes.fromhex(record.subject[2:]) if record.subject else keccak(f"oracle:{record.type}".encode())
    return subject, bytes.fromhex(record.digest[2:])


def _describe(error: Exception) -> str:
    if isinstance(error, ContractRevert):
        return f"contract error {error.error_name}"
    return f"{type(error).__name__}: {error}"[:500]


def _aware(moment: datetime | None) -> datetime | None:
    """Times are stored in UTC; SQLite hands them back without a zone."""
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _first(session: Session, statement: Any) -> Any:
    return session.exec(statement).first()


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
